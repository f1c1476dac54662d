package testns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Environment variables that mark the child process and pass it its test
// name, its work directory and the parent's mount namespace.
const (
	envTestName   = "RKTFLY_TESTNS_TEST"
	envBaseDir    = "RKTFLY_TESTNS_DIR"
	envParentMnt  = "RKTFLY_TESTNS_PARENT_MNT"
	scratchName   = "scratch" // the directory that Isolate returns
	decoyName     = "decoy"   // mount point of the decoy /dev before it is moved
	ranMarkerName = "ran"     // written by the child once it is set up
	decoyMarker   = ".testns-decoy"
)

// decoyDevices are the device nodes that the decoy /dev copies from the host.
var decoyDevices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// RequireRoot skips the test unless it runs as root. Under CI (the CI
// variable set to anything but "" or "false") it fails instead, so that CI
// cannot skip privileged tests silently.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		t.Fatalf("test needs root, and CI=%q forbids skipping it", ci)
	}
	t.Skip("test needs root")
}

// Isolate runs the calling test in a private mount namespace with a decoy
// /dev, and in a private network namespace whose only interface is
// loopback, so that nothing the test runs can reach another machine. It
// returns (scratch, true) in the child process, where the test body runs,
// and ("", false) in the parent, which only supervises the child. It calls
// RequireRoot first.
func Isolate(t *testing.T) (scratch string, inside bool) {
	t.Helper()
	return IsolateNet(t)
}

// isolate is Isolate for a test that IsolateNet has not set up: a subtest
// of an isolated test, or a test reached by a too-wide -test.run pattern.
func isolate(t *testing.T) (scratch string, inside bool) {
	t.Helper()

	marked := os.Getenv(envTestName)
	switch {
	case strings.HasPrefix(t.Name(), marked+"/"):
		// A subtest of the isolated test: the namespace and the decoy /dev
		// are already in place. Its scratch lies under the isolated test's
		// scratch, so the parent process removes it from outside.
		dir, err := os.MkdirTemp(filepath.Join(os.Getenv(envBaseDir), scratchName), "subtest-")
		if err != nil {
			t.Fatal(err)
		}
		return dir, true
	default:
		t.Fatalf("isolated child for %q reached Isolate in test %q, so the -test.run pattern matched too much", marked, t.Name())
		return "", false
	}
}

// RunPattern returns a -test.run pattern that matches exactly the test or
// subtest with the given t.Name(). Each level is quoted and anchored.
func RunPattern(name string) string {
	levels := strings.Split(name, "/")
	for i, level := range levels {
		levels[i] = "^" + regexp.QuoteMeta(level) + "$"
	}
	return strings.Join(levels, "/")
}

func checkHostDevNull(t *testing.T) {
	t.Helper()
	info, err := os.Stat("/dev/null")
	if err != nil {
		t.Errorf("host /dev/null after the isolated run: %v", err)
		return
	}
	if info.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("host /dev/null after the isolated run is %v, want a character device", info.Mode())
	}
}

// setupChild prepares the namespace of the child process and returns the
// scratch directory.
func setupChild(t *testing.T) string {
	t.Helper()
	base := os.Getenv(envBaseDir)
	if base == "" {
		t.Fatalf("%s is not set in the isolated child", envBaseDir)
	}

	// Touch /dev only if this process is in another mount namespace than the
	// parent, because the decoy is mounted over the namespace's /dev.
	mnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if mnt == os.Getenv(envParentMnt) {
		t.Fatalf("isolated child shares the parent's mount namespace %s", mnt)
	}

	// Go's fork code already made / rprivate. MS_SLAVE on a private mount
	// keeps it private, and it states the contract if that code ever changes:
	// nothing mounted here propagates to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		t.Fatalf("make / rslave: %v", err)
	}

	// Registered first so that it runs last, after the test's own cleanups.
	t.Cleanup(func() { checkDecoy(t) })

	mountDecoyDev(t, filepath.Join(base, decoyName))
	mountFreshSysfs(t)

	if err := os.WriteFile(filepath.Join(base, ranMarkerName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(base, scratchName)
}

// mountDecoyDev builds a tmpfs with copies of the host's device nodes at
// mountPoint and moves it over /dev.
func mountDecoyDev(t *testing.T, mountPoint string) {
	t.Helper()
	if err := os.Mkdir(mountPoint, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("testns-dev", mountPoint, "tmpfs", unix.MS_NOSUID, "mode=0755,size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", mountPoint, err)
	}

	for _, name := range decoyDevices {
		copyDeviceNode(t, "/dev/"+name, filepath.Join(mountPoint, name))
	}
	for _, name := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(mountPoint, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"fd":     "/proc/self/fd",
		"stdin":  "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(mountPoint, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mountPoint, decoyMarker), []byte("decoy /dev of internal/testns\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := unix.Mount(mountPoint, "/dev", "", unix.MS_MOVE, ""); err != nil {
		t.Fatalf("move decoy %s over /dev: %v", mountPoint, err)
	}
}

// mountFreshSysfs replaces /sys and its submounts, such as the cgroup
// hierarchies, with a sysfs that has nothing mounted below it.
func mountFreshSysfs(t *testing.T) {
	t.Helper()
	// The kernel rejects mounting a sysfs of this network namespace on the
	// /sys where the same superblock is already mounted (EBUSY), so detach the
	// old one first. The unmount stays in this namespace, because / does not
	// propagate to the host.
	err := unix.Unmount("/sys", unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) {
		t.Fatalf("detach /sys: %v", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mount sysfs on /sys: %v", err)
	}
}

func copyDeviceNode(t *testing.T, source, target string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(source, &st); err != nil {
		t.Fatalf("stat %s: %v", source, err)
	}
	if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
		t.Fatalf("mknod %s: %v", target, err)
	}
	// mknod applies the umask, so set the permission bits explicitly.
	if err := unix.Chmod(target, st.Mode&0o7777); err != nil {
		t.Fatalf("chmod %s: %v", target, err)
	}
}

// checkDecoy reports an error if the test damaged the decoy /dev, which means
// that it would have damaged the host's /dev outside the harness.
func checkDecoy(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("/dev", decoyMarker)); err != nil {
		t.Errorf("decoy /dev lost its marker file, so the test deleted or covered /dev: %v", err)
	}
	for _, name := range decoyDevices {
		info, err := os.Stat("/dev/" + name)
		if err != nil {
			t.Errorf("decoy /dev lost %s: %v", name, err)
			continue
		}
		if info.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("decoy /dev/%s is %v, want a character device", name, info.Mode())
		}
	}
}

// MountPoints returns the mount points in /proc/self/mountinfo, in file
// order, with octal escapes such as \040 decoded.
func MountPoints(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	points, err := parseMountPoints(data)
	if err != nil {
		t.Fatal(err)
	}
	return points
}

// AssertNoMountsUnder reports an error for each mount point at or below dir.
func AssertNoMountsUnder(t testing.TB, dir string) {
	t.Helper()
	dir = filepath.Clean(dir)
	for _, point := range MountPoints(t) {
		if point == dir || strings.HasPrefix(point, dir+"/") {
			t.Errorf("%s is still mounted", point)
		}
	}
}

// parseMountPoints returns field 5 of each mountinfo line, unescaped.
func parseMountPoints(data []byte) ([]string, error) {
	var points []string
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 5 {
			return nil, fmt.Errorf("parse mountinfo line %q: fewer than 5 fields", scanner.Text())
		}
		point, err := unescapeOctal(fields[4])
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo line %q: %w", scanner.Text(), err)
		}
		points = append(points, point)
	}
	return points, scanner.Err()
}

// unescapeOctal decodes the \ooo escapes that the kernel writes for space,
// tab, newline and backslash in mountinfo paths.
func unescapeOctal(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("truncated escape in %q", s)
		}
		var value byte
		for _, c := range []byte(s[i+1 : i+4]) {
			if c < '0' || c > '7' {
				return "", fmt.Errorf("invalid escape in %q", s)
			}
			value = value*8 + (c - '0')
		}
		b.WriteByte(value)
		i += 3
	}
	return b.String(), nil
}

// lineLogger passes the child's output to t.Log line by line. The output is
// then shown with the parent test, at once with -v and otherwise on failure.
// The child's own "=== RUN" and "--- PASS" lines are not read as the parent's.
type lineLogger struct {
	t       *testing.T
	pending []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.pending = append(l.pending, p...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.t.Log("child: " + string(l.pending[:i]))
		l.pending = l.pending[i+1:]
	}
}

func (l *lineLogger) flush() {
	if len(l.pending) > 0 {
		l.t.Log("child: " + string(l.pending))
		l.pending = nil
	}
}
