package stage1_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/lock"
)

// envBin passes the entrypoints and the probe, built once by TestMain, to
// the isolated child processes that testns starts.
const envBin = "RKTFLY_STAGE1_TEST_BIN"

const testUUID = "6c2f4d4a-7d36-4a1b-9b45-5d3b0a5e7c11"

func TestMain(m *testing.M) {
	if os.Getenv(envBin) == "" {
		dir, err := os.MkdirTemp("", "stage1-test-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := buildBinaries(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		os.Setenv(envBin, dir)
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// buildBinaries builds the probe app and, unless STAGE1_ACI names a stage1
// image to test, the four fly entrypoints, all static.
func buildBinaries(dir string) error {
	packages := []string{"./tests/stage1/testdata/probe"}
	if os.Getenv("STAGE1_ACI") == "" {
		packages = append(packages, "./stage1-fly/run", "./stage1-fly/enter", "./stage1-fly/gc", "./stage1-fly/stop")
	}
	args := append([]string{"build", "-o", dir + "/"}, packages...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// pod is a pod directory laid out as stage0 lays it out.
type pod struct {
	dir    string
	stage1 string
	rootfs string
}

// newPod makes a pod directory below scratch with a stage1 rootfs, one app
// named "app" whose rootfs holds the probe at /probe, and the manifests.
// podManifest and imageManifest are JSON.
func newPod(t *testing.T, scratch, podManifest, imageManifest string) *pod {
	t.Helper()
	p := &pod{dir: filepath.Join(scratch, "pods", "run", testUUID)}
	p.stage1 = filepath.Join(p.dir, "stage1", "rootfs")
	p.rootfs = filepath.Join(p.stage1, "opt", "stage2", "app", "rootfs")
	for _, dir := range []string{p.stage1 + "/rkt/status", p.rootfs + "/etc", p.rootfs + "/bin"} {
		mustMkdir(t, dir)
	}
	installStage1(t, p.stage1)
	copyFile(t, filepath.Join(os.Getenv(envBin), "probe"), p.rootfs+"/probe", 0o755)
	mustWrite(t, p.rootfs+"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
	mustWrite(t, p.rootfs+"/etc/group", "root:x:0:\nusers:x:100:user\n")
	mustWrite(t, filepath.Join(p.dir, "pod"), podManifest)
	mustWrite(t, filepath.Join(p.stage1, "opt", "stage2", "app", "manifest"), imageManifest)
	return p
}

// installStage1 puts the entrypoints in the stage1 rootfs: unpacked from
// STAGE1_ACI when it is set, else the ones TestMain built.
func installStage1(t *testing.T, stage1 string) {
	t.Helper()
	if aci := os.Getenv("STAGE1_ACI"); aci != "" {
		unpackRootfs(t, aci, stage1)
		return
	}
	for _, name := range []string{"run", "enter", "gc", "stop"} {
		copyFile(t, filepath.Join(os.Getenv(envBin), name), filepath.Join(stage1, name), 0o755)
	}
}

// unpackRootfs extracts the rootfs/ entries of a gzip-compressed ACI into
// dir (regular files, directories and symlinks).
func unpackRootfs(t *testing.T, aci, dir string) {
	t.Helper()
	f, err := os.Open(aci)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("read %s: %v", aci, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("read %s: %v", aci, err)
		}
		name, ok := strings.CutPrefix(filepath.Clean(hdr.Name), "rootfs/")
		if !ok || strings.HasPrefix(name, "..") {
			continue
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			mustMkdir(t, target)
		case tar.TypeSymlink:
			os.Remove(target)
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			mustMkdir(t, filepath.Dir(target))
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, data, os.FileMode(hdr.Mode).Perm()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// result is how the run entrypoint ended.
type result struct {
	stdout, stderr string
	code           int
}

// run starts $S1/run as stage0 does: cwd is the pod
// directory, the pod lock is held LOCK_EX on an fd passed as fd 3 and named
// in RKT_LOCK_FD. extraEnv is appended; setLockFd false leaves RKT_LOCK_FD out.
func (p *pod) run(t *testing.T, setLockFd bool, args ...string) result {
	t.Helper()
	cmd, podLock := p.command(t, setLockFd, args...)
	defer podLock.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("start run: %v", err)
	}
	return res
}

func (p *pod) command(t *testing.T, setLockFd bool, args ...string) (*exec.Cmd, *lock.Lock) {
	t.Helper()
	podLock, err := lock.OpenDir(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := podLock.Exclusive(); err != nil {
		t.Fatal(err)
	}
	// The child gets a duplicate that shares the open file description,
	// and so the lock; the os.File owns the duplicate, not the Lock's fd.
	dup, err := unix.FcntlInt(uintptr(podLock.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	lockFile := os.NewFile(uintptr(dup), p.dir)
	t.Cleanup(func() { lockFile.Close() })
	argv := append([]string{"--net=default", "--local-config=/etc/rkt"}, args...)
	argv = append(argv, testUUID)
	cmd := exec.Command(filepath.Join(p.stage1, "run"), argv...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "RKT_SELINUX_CONTEXT=", "RKT_SELINUX_MOUNT_CONTEXT="}
	if setLockFd {
		cmd.Env = append(cmd.Env, "RKT_LOCK_FD=3")
	}
	cmd.ExtraFiles = []*os.File{lockFile}
	return cmd, podLock
}

// podManifest returns a pod manifest JSON with one app named "app" whose
// exec is args, plus the extra JSON of the app section, its mounts and the
// pod volumes.
func podManifest(exec []string, appExtra, mounts, volumes string) string {
	execJSON, _ := json.Marshal(exec)
	if mounts == "" {
		mounts = "[]"
	}
	if volumes == "" {
		volumes = "null"
	}
	if appExtra != "" {
		appExtra = "," + appExtra
	}
	return fmt.Sprintf(`{"acVersion":"1.30.0","acKind":"PodManifest",
 "apps":[{"name":"app","image":{"name":"example.com/probe","id":"sha512-%064d"},
  "app":{"exec":%s,"user":"0","group":"0"%s},"mounts":%s}],
 "volumes":%s,"isolators":null,
 "annotations":[{"name":"coreos.com/rkt/stage1/mutable","value":"false"}],"ports":null}`,
		0, execJSON, appExtra, mounts, volumes)
}

// imageManifest returns an image manifest JSON with the app section extra.
func imageManifest(appExtra string) string {
	if appExtra != "" {
		appExtra = "," + appExtra
	}
	return fmt.Sprintf(`{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/probe",
 "app":{"exec":["/probe"],"user":"0","group":"0"%s}}`, appExtra)
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	mustMkdir(t, filepath.Dir(dst))
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}
