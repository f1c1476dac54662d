// Command inspect is the program of the test image inspect.aci. It reports
// what the process sees from inside a pod (credentials, environment,
// namespaces, mounts) as one JSON object on stdout, so that tests can check
// the result of rkt run field by field.
//
// Flags act in this order before the report is printed: -mount-tmpfs,
// -write, -read. A failed action is recorded in the report instead of ending
// the program, so that tests can check for a read-only file system or a
// missing permission. After the report, the program sleeps for -sleep and
// exits with -exit.
//
// Usage:
//
//	inspect [-mount-tmpfs PATH]... [-write PATH=CONTENT]... [-read PATH]... [-sleep DURATION] [-exit N] [ARGS...]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Report is the JSON object that inspect prints. Field names are stable:
// tests decode them.
type Report struct {
	UID        int               `json:"uid"`
	EUID       int               `json:"euid"`
	GID        int               `json:"gid"`
	EGID       int               `json:"egid"`
	Groups     []int             `json:"groups"`
	Env        []string          `json:"env"`
	Cwd        string            `json:"cwd"`
	Args       []string          `json:"args"`
	Hostname   string            `json:"hostname"`
	PID        int               `json:"pid"`
	PPID       int               `json:"ppid"`
	PGID       int               `json:"pgid"`
	Namespaces map[string]string `json:"namespaces"`
	Mountinfo  []string          `json:"mountinfo"`
	Mounts     []ActionResult    `json:"mounts,omitempty"`
	Writes     []ActionResult    `json:"writes,omitempty"`
	Reads      []ActionResult    `json:"reads,omitempty"`
	// Errors lists failures of the report itself, such as an unreadable
	// /proc/self/mountinfo, keyed by the field that is missing.
	Errors map[string]string `json:"errors,omitempty"`
}

// ActionResult is the outcome of one -mount-tmpfs, -write or -read flag.
type ActionResult struct {
	Path    string `json:"path"`
	Content string `json:"content,omitempty"`
	// Error is empty on success, else the error text. Errno is the errno
	// name ("EROFS", "EACCES", ...) when the failure came from a system call.
	Error string `json:"error,omitempty"`
	Errno string `json:"errno,omitempty"`
}

// listFlag collects the values of a repeated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(value string) error {
	*l = append(*l, value)
	return nil
}

// namespaceNames are the links of /proc/self/ns that the report includes.
var namespaceNames = []string{"net", "mnt", "pid", "ipc", "uts"}

func main() {
	var mounts, writes, reads listFlag
	flag.Var(&mounts, "mount-tmpfs", "mount a tmpfs on `PATH`, creating the directory (repeatable)")
	flag.Var(&writes, "write", "write CONTENT to the file PATH, given as `PATH=CONTENT` (repeatable)")
	flag.Var(&reads, "read", "include the content of the file `PATH` (repeatable)")
	sleep := flag.Duration("sleep", 0, "sleep this long after printing the report")
	exitCode := flag.Int("exit", 0, "exit with this status")
	flag.Parse()

	report := Report{Errors: map[string]string{}}
	for _, path := range mounts {
		report.Mounts = append(report.Mounts, mountTmpfs(path))
	}
	for _, spec := range writes {
		report.Writes = append(report.Writes, writeFile(spec))
	}
	for _, path := range reads {
		report.Reads = append(report.Reads, readFile(path))
	}
	fillProcess(&report)

	out, err := json.Marshal(report)
	if err != nil {
		fmt.Fprintf(os.Stderr, "inspect: encode report: %v\n", err)
		os.Exit(1)
	}
	out = append(out, '\n')
	if _, err := os.Stdout.Write(out); err != nil {
		fmt.Fprintf(os.Stderr, "inspect: write report: %v\n", err)
		os.Exit(1)
	}
	time.Sleep(*sleep)
	os.Exit(*exitCode)
}

// fillProcess records the credentials, environment, identity, namespaces and
// mounts of the process.
func fillProcess(r *Report) {
	r.UID = os.Getuid()
	r.EUID = os.Geteuid()
	r.GID = os.Getgid()
	r.EGID = os.Getegid()
	r.Env = os.Environ()
	r.Args = os.Args
	r.PID = os.Getpid()
	r.PPID = os.Getppid()
	r.Groups = []int{}
	r.Namespaces = map[string]string{}

	groups, err := os.Getgroups()
	if err != nil {
		r.Errors["groups"] = err.Error()
	} else if groups != nil {
		r.Groups = groups
	}
	if r.Cwd, err = os.Getwd(); err != nil {
		r.Errors["cwd"] = err.Error()
	}
	if r.Hostname, err = os.Hostname(); err != nil {
		r.Errors["hostname"] = err.Error()
	}
	if r.PGID, err = syscall.Getpgid(0); err != nil {
		r.Errors["pgid"] = err.Error()
	}
	for _, name := range namespaceNames {
		link, err := os.Readlink("/proc/self/ns/" + name)
		if err != nil {
			r.Errors["namespaces."+name] = err.Error()
			continue
		}
		r.Namespaces[name] = link
	}
	lines, err := readLines("/proc/self/mountinfo")
	if err != nil {
		r.Errors["mountinfo"] = err.Error()
	}
	r.Mountinfo = lines
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines := []string{}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	return lines, scanner.Err()
}

func mountTmpfs(path string) ActionResult {
	result := ActionResult{Path: path}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return withError(result, err)
	}
	if err := syscall.Mount("tmpfs", path, "tmpfs", 0, "mode=0755"); err != nil {
		return withError(result, &os.PathError{Op: "mount tmpfs", Path: path, Err: err})
	}
	return result
}

func writeFile(spec string) ActionResult {
	path, content, ok := strings.Cut(spec, "=")
	result := ActionResult{Path: path, Content: content}
	if !ok {
		result.Error = fmt.Sprintf("-write %q: expected PATH=CONTENT", spec)
		return result
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return withError(result, err)
	}
	return result
}

func readFile(path string) ActionResult {
	result := ActionResult{Path: path}
	data, err := os.ReadFile(path)
	if err != nil {
		return withError(result, err)
	}
	result.Content = string(data)
	return result
}

// withError records err, and its errno name when a system call failed.
func withError(result ActionResult, err error) ActionResult {
	result.Error = err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		result.Errno = errnoName(errno)
	}
	return result
}

// errnoName returns the symbolic name of the errno values tests check for,
// else the number.
func errnoName(errno syscall.Errno) string {
	names := map[syscall.Errno]string{
		syscall.EROFS:   "EROFS",
		syscall.EACCES:  "EACCES",
		syscall.EPERM:   "EPERM",
		syscall.ENOENT:  "ENOENT",
		syscall.EEXIST:  "EEXIST",
		syscall.EBUSY:   "EBUSY",
		syscall.EINVAL:  "EINVAL",
		syscall.ENOTDIR: "ENOTDIR",
		syscall.EISDIR:  "EISDIR",
	}
	if name, ok := names[errno]; ok {
		return name
	}
	return fmt.Sprintf("errno %d", int(errno))
}
