// Command probe is the app of the stage1 conformance tests. It runs its
// arguments as a list of steps and prints what it finds:
//
//	info                print JSON: uid, gid, groups, env, cwd, args, net namespace
//	write PATH TEXT     write TEXT to PATH; on failure print "error: ..." and exit 3
//	read PATH           print the contents of PATH
//	sleep               sleep until killed
//	exit N              exit with status N
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

type info struct {
	UID    int      `json:"uid"`
	GID    int      `json:"gid"`
	Groups []int    `json:"groups"`
	Env    []string `json:"env"`
	Cwd    string   `json:"cwd"`
	Args   []string `json:"args"`
	NetNS  string   `json:"netns"`
}

func main() {
	args := os.Args[1:]
	for len(args) > 0 {
		step := args[0]
		args = args[1:]
		switch step {
		case "info":
			groups, _ := os.Getgroups()
			cwd, _ := os.Getwd()
			netns, _ := os.Readlink("/proc/self/ns/net")
			out, _ := json.Marshal(info{UID: os.Getuid(), GID: os.Getgid(), Groups: groups, Env: os.Environ(), Cwd: cwd, Args: os.Args, NetNS: netns})
			fmt.Println(string(out))
		case "write":
			if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
				fmt.Println("error:", err)
				os.Exit(3)
			}
			args = args[2:]
		case "read":
			data, err := os.ReadFile(args[0])
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(3)
			}
			fmt.Print(string(data))
			args = args[1:]
		case "sleep":
			time.Sleep(time.Hour)
		case "exit":
			code, _ := strconv.Atoi(args[0])
			os.Exit(code)
		default:
			fmt.Println("error: unknown step", step)
			os.Exit(4)
		}
	}
}
