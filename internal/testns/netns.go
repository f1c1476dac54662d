package testns

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Environment variables of IsolateNet's child: the host names to map to
// 127.0.0.1 and the parent's network namespace.
const (
	envNetHosts  = "RKTFLY_TESTNS_NET_HOSTS"
	envParentNet = "RKTFLY_TESTNS_PARENT_NET"
	hostsName    = "hosts" // the hosts file bind-mounted over /etc/hosts
)

// IsolateNet is Isolate with a new network namespace as well: the child has
// only a loopback interface, brought up, and an /etc/hosts that maps
// localhost and each of hosts to 127.0.0.1. A test server listening on
// 127.0.0.1:443 then serves https://<host>/ for those names, and no request
// of the test can reach another machine, since no other interface or route
// exists in the namespace. The hosts file is bind-mounted inside the child's
// mount namespace only.
//
// Subtests of an isolated test call IsolateNet or Isolate, and get a scratch
// directory in the same namespaces.
func IsolateNet(t *testing.T, hosts ...string) (scratch string, inside bool) {
	t.Helper()
	RequireRoot(t)
	for _, h := range hosts {
		if h == "" || strings.ContainsAny(h, " \t\n,#") {
			t.Fatalf("IsolateNet: invalid host name %q", h)
		}
	}

	if marked := os.Getenv(envTestName); marked != t.Name() {
		if marked == "" {
			runNetChild(t, hosts)
			return "", false
		}
		return isolate(t)
	}
	scratch = setupChild(t)
	setupNet(t)
	return scratch, true
}

// runNetChild re-executes the test binary for t alone in new mount and
// network namespaces and checks the host after it exits.
func runNetChild(t *testing.T, hosts []string) {
	t.Helper()
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, scratchName), 0o755); err != nil {
		t.Fatal(err)
	}
	parentMnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	parentNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	args := []string{"-test.run=" + RunPattern(t.Name()), "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(),
		envTestName+"="+t.Name(),
		envBaseDir+"="+base,
		envParentMnt+"="+parentMnt,
		envParentNet+"="+parentNet,
		envNetHosts+"="+strings.Join(hosts, ","),
	)
	output := &lineLogger{t: t}
	cmd.Stdout = output
	cmd.Stderr = output
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET}

	runErr := cmd.Run()
	output.flush()
	if runErr != nil {
		t.Errorf("isolated run of %s: %v", t.Name(), runErr)
	} else if _, err := os.Stat(filepath.Join(base, ranMarkerName)); err != nil {
		t.Errorf("isolated run of %s did not reach the test (pattern %q): %v",
			t.Name(), RunPattern(t.Name()), err)
	}

	checkHostDevNull(t)
	AssertNoMountsUnder(t, base)
}

// setupNet checks that the child has its own network namespace, brings up
// loopback and bind-mounts the test's hosts file over /etc/hosts.
func setupNet(t *testing.T) {
	t.Helper()
	netns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if parent := os.Getenv(envParentNet); parent == "" || netns == parent {
		t.Fatalf("isolated child shares the parent's network namespace %s", netns)
	}
	if err := loopbackUp(); err != nil {
		t.Fatal(err)
	}
	// Nothing but loopback may be reachable from the test.
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, iface := range ifaces {
		if iface.Name != "lo" {
			t.Fatalf("network namespace has interface %q besides lo", iface.Name)
		}
	}

	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost\n")
	if hosts := os.Getenv(envNetHosts); hosts != "" {
		for _, h := range strings.Split(hosts, ",") {
			fmt.Fprintf(&b, "127.0.0.1\t%s\n", h)
		}
	}
	path := filepath.Join(os.Getenv(envBaseDir), hostsName)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// / is rslave in this namespace (setupChild), so the bind mount stays here.
	if err := unix.Mount(path, "/etc/hosts", "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mount %s over /etc/hosts: %v", path, err)
	}
}

// loopbackUp sets IFF_UP on "lo", which a new network namespace starts with down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: set flags: %w", err)
	}
	return nil
}
