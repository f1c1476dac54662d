// Command example is the program of example.aci, the image that the README
// runs with `make run-example`. It greets, then prints the user ID, the host
// name and whether it runs chrooted, that is with a root directory other than
// the one of PID 1.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	fmt.Println("Hello from example.com/example, running in a rkt fly pod.")
	fmt.Printf("uid: %d, gid: %d\n", os.Getuid(), os.Getgid())

	hostname, err := os.Hostname()
	if err != nil {
		hostname = "unknown (" + err.Error() + ")"
	}
	fmt.Printf("hostname: %s\n", hostname)
	fmt.Printf("chrooted: %s\n", chrootState())
}

// chrootState compares "/" with the root directory of PID 1, seen through
// /proc/1/root. In a chroot the two are different directories.
func chrootState() string {
	var own, init syscall.Stat_t
	if err := syscall.Stat("/", &own); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if err := syscall.Stat("/proc/1/root/", &init); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if own.Dev == init.Dev && own.Ino == init.Ino {
		return "no, / is the host's root directory"
	}
	return "yes, / is the image's rootfs"
}
