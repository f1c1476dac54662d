// Command example is the program of example.aci, the image that the README
// runs with `make run-example`. It greets, then prints the user ID, the host
// name and whether it runs chrooted, that is with a root directory other than
// the one of the process that started rkt.
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

// chrootState compares "/" with the root directory of the parent process,
// which started rkt on the host, seen through /proc/PPID/root. In a chroot
// the two are different directories. fly shares the host's PID namespace,
// so the parent's /proc entry is visible.
func chrootState() string {
	var own, parent syscall.Stat_t
	if err := syscall.Stat("/", &own); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	parentRoot := fmt.Sprintf("/proc/%d/root/", os.Getppid())
	if err := syscall.Stat(parentRoot, &parent); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if own.Dev == parent.Dev && own.Ino == parent.Ino {
		return "no, / is the host's root directory"
	}
	return "yes, / is the image's rootfs"
}
