// Package stage1_test is the stage1 conformance suite. It acts as rkt's
// stage0 does: it lays out a pod directory from real ACIs (the built
// stage1-fly.aci, or the image named by STAGE1_ACI, and the test images
// busybox.aci and inspect.aci), takes the pod lock, runs the entrypoints,
// and checks the results on the host. Every test runs as root in its own
// mount namespace (internal/testns).
//
// NOTE: STAGE1_ACI=rkt's own stage1-fly.aci has not been run here. Tests of
// behavior that departs from rkt's fly on purpose (empty and implicit
// volumes, named users in enter, accepted --private-users, --mutable and
// --ipc, the host root check in enter) are expected to fail against it.
package stage1_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/internal/testbuild"
)

// envStage1ACI names a stage1 image to test in place of the built
// stage1-fly.aci, such as rkt's original one.
const envStage1ACI = "STAGE1_ACI"

const testUUID = "6c2f4d4a-7d36-4a1b-9b45-5d3b0a5e7c11"

// appName is the name of the pod's one app.
const appName = "app"

// stage1ACI returns the stage1 image under test. The built one must be
// newer than the Go sources of stage1-fly and common, so that the suite
// never passes against a stale build.
func stage1ACI(t *testing.T) string {
	t.Helper()
	if aci := os.Getenv(envStage1ACI); aci != "" {
		return aci
	}
	aci := testbuild.Stage1ACI(t)
	info, err := os.Stat(aci)
	if err != nil {
		t.Fatal(err)
	}
	root := testbuild.RepoRoot(t)
	for _, dir := range []string{"stage1-fly", "common"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			source, err := d.Info()
			if err != nil {
				return err
			}
			if source.ModTime().After(info.ModTime()) {
				return fmt.Errorf("%s is older than %s: run make stage1", aci, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return aci
}

// pod is a pod directory laid out as stage0 lays it out for a stage1 with
// one app named appName.
type pod struct {
	dir    string // $P
	stage1 string // $S1, the stage1 rootfs
	rootfs string // the app rootfs
}

// podConfig is what a test may change before the pod directory is
// written: the app's image manifest, as copied into the pod, and the pod
// manifest. Pod.Apps[0].App starts as a copy of Image.App, as stage0 makes
// it.
type podConfig struct {
	Image *schema.ImageManifest
	Pod   *schema.PodManifest
}

// app returns the runtime app section of the pod's first app.
func (c *podConfig) app() *types.App { return c.Pod.Apps[0].App }

// newPod unpacks the stage1 image and the test image named image (such as
// "inspect") into a pod directory below scratch, lets configure change the
// manifests, and writes them.
func newPod(t *testing.T, scratch, image string, configure func(c *podConfig)) *pod {
	t.Helper()
	p := &pod{dir: filepath.Join(scratch, "pods", "run", testUUID)}
	p.stage1 = filepath.Join(p.dir, "stage1", "rootfs")
	appDir := filepath.Join(p.stage1, "opt", "stage2", appName)
	p.rootfs = filepath.Join(appDir, "rootfs")
	mustMkdir(t, appDir)

	unpackACI(t, stage1ACI(t), filepath.Join(p.dir, "stage1"))
	imagePath := testbuild.Image(t, image)
	unpackACI(t, imagePath, appDir)

	config := &podConfig{Image: readImageManifest(t, filepath.Join(appDir, "manifest"))}
	config.Pod = defaultPodManifest(t, config.Image, imageID(t, imagePath))
	if configure != nil {
		configure(config)
	}
	writeJSON(t, filepath.Join(appDir, "manifest"), config.Image)
	writeJSON(t, filepath.Join(p.dir, "pod"), config.Pod)
	return p
}

// defaultPodManifest returns the pod manifest that rkt prepare writes for
// one image with no overrides.
func defaultPodManifest(t *testing.T, image *schema.ImageManifest, id string) *schema.PodManifest {
	t.Helper()
	hash, err := types.NewHash(id)
	if err != nil {
		t.Fatal(err)
	}
	var app *types.App
	if image.App != nil {
		// A deep copy, so that changes to one manifest do not reach the
		// other.
		data, err := json.Marshal(image.App)
		if err != nil {
			t.Fatal(err)
		}
		app = &types.App{}
		if err := json.Unmarshal(data, app); err != nil {
			t.Fatal(err)
		}
	}
	name := image.Name
	manifest := schema.BlankPodManifest()
	manifest.Apps = schema.AppList{{
		Name:  types.ACName(appName),
		Image: schema.RuntimeImage{Name: &name, ID: *hash, Labels: image.Labels},
		App:   app,
	}}
	manifest.Annotations.Set("coreos.com/rkt/stage1/mutable", "false")
	return manifest
}

// imageID returns an image ID for the ACI at path. rkt's ID hashes the
// uncompressed tar, but fly never reads the ID, so the hash of the file serves.
func imageID(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(data)
	return "sha512-" + hex.EncodeToString(sum[:])
}

func readImageManifest(t *testing.T, path string) *schema.ImageManifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var manifest schema.ImageManifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return &manifest
}

func writeJSON(t *testing.T, path string, value any) {
	t.Helper()
	data, err := json.Marshal(value)
	if err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
	mustWrite(t, path, string(data))
}

// unpackACI extracts the gzip-compressed ACI at aci into dir: the manifest
// and the rootfs, with the modes, owners, symlinks and hard links of the
// archive. Entries are created through an os.Root, so that no name or
// symlink in the archive reaches outside dir.
func unpackACI(t *testing.T, aci, dir string) {
	t.Helper()
	if err := extractACI(aci, dir); err != nil {
		t.Fatalf("unpack %s: %v", aci, err)
	}
}

func extractACI(aci, dir string) error {
	f, err := os.Open(aci)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	// Directory modes are set last, so that a read-only directory can
	// still receive its entries.
	dirModes := map[string]fs.FileMode{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(hdr.Name)
		if name != "manifest" && name != "rootfs" && !strings.HasPrefix(name, "rootfs/") {
			continue
		}
		mode := hdr.FileInfo().Mode()
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
			dirModes[name] = mode
		case tar.TypeSymlink:
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return err
			}
		case tar.TypeLink:
			if err := root.Link(filepath.Clean(hdr.Linkname), name); err != nil {
				return err
			}
			continue
		case tar.TypeReg:
			out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if closeErr := out.Close(); err == nil {
				err = closeErr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q has tar type %q, which the test images do not use", hdr.Name, hdr.Typeflag)
		}
		if err := root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			// After the chown, which clears the setuid and setgid bits.
			if err := root.Chmod(name, mode); err != nil {
				return err
			}
		}
	}
	for name, mode := range dirModes {
		if err := root.Chmod(name, mode); err != nil {
			return err
		}
	}
	return nil
}

// result is how an entrypoint ended.
type result struct {
	stdout, stderr string
	code           int
}

// report decodes the JSON report that inspect printed as the last line of
// stdout. Lines before it are the run entrypoint's warnings.
func (r result) report(t *testing.T) report {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	var rep report
	if err := json.Unmarshal([]byte(last), &rep); err != nil {
		t.Fatalf("parse inspect report %q: %v; stderr %q", r.stdout, err, r.stderr)
	}
	return rep
}

// report is the part of inspect's JSON report that the tests check.
type report struct {
	UID        int               `json:"uid"`
	EUID       int               `json:"euid"`
	GID        int               `json:"gid"`
	EGID       int               `json:"egid"`
	Groups     []int             `json:"groups"`
	Env        []string          `json:"env"`
	Cwd        string            `json:"cwd"`
	Args       []string          `json:"args"`
	PID        int               `json:"pid"`
	Namespaces map[string]string `json:"namespaces"`
	Mountinfo  []string          `json:"mountinfo"`
	Mounts     []actionResult    `json:"mounts"`
	Writes     []actionResult    `json:"writes"`
	Reads      []actionResult    `json:"reads"`
	Errors     map[string]string `json:"errors"`
}

// actionResult is the outcome of one -mount-tmpfs, -write or -read.
type actionResult struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Error   string `json:"error"`
	Errno   string `json:"errno"`
}

// runOptions are the ways a test departs from the invocation of rkt run.
type runOptions struct {
	// flags go after --net and --local-config, before the UUID.
	flags []string
	// noLockFd leaves RKT_LOCK_FD out of the environment.
	noLockFd bool
	// uuid replaces testUUID as the last word.
	uuid string
}

// run runs $S1/run with the default flags and waits for it.
func (p *pod) run(t *testing.T, flags ...string) result {
	t.Helper()
	return p.runWith(t, runOptions{flags: flags})
}

// runWith runs $S1/run as stage0 does and waits for it: the working
// directory is the pod directory, the pod lock is held LOCK_EX on a
// directory fd passed as fd 3 and named in RKT_LOCK_FD.
func (p *pod) runWith(t *testing.T, opts runOptions) result {
	t.Helper()
	cmd, podLock := p.command(t, opts)
	defer podLock.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	return resultOf(t, err, stdout.String(), stderr.String())
}

func resultOf(t *testing.T, err error, stdout, stderr string) result {
	t.Helper()
	res := result{stdout: stdout, stderr: stderr}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("start entrypoint: %v", err)
	}
	return res
}

// command returns the run command and the pod lock, held LOCK_EX. The
// child's fd 3 shares the lock's open file description, and so the lock.
func (p *pod) command(t *testing.T, opts runOptions) (*exec.Cmd, *lock.Lock) {
	t.Helper()
	podLock, err := lock.OpenDir(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := podLock.Exclusive(); err != nil {
		t.Fatal(err)
	}
	dup, err := unix.FcntlInt(uintptr(podLock.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	lockFile := os.NewFile(uintptr(dup), p.dir)
	t.Cleanup(func() { lockFile.Close() })

	uuid := testUUID
	if opts.uuid != "" {
		uuid = opts.uuid
	}
	argv := append([]string{"--net=default", "--local-config=/etc/rkt"}, opts.flags...)
	argv = append(argv, uuid)
	cmd := exec.Command(filepath.Join(p.stage1, "run"), argv...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "RKT_SELINUX_CONTEXT=", "RKT_SELINUX_MOUNT_CONTEXT="}
	if !opts.noLockFd {
		cmd.Env = append(cmd.Env, "RKT_LOCK_FD=3")
	}
	cmd.ExtraFiles = []*os.File{lockFile}
	return cmd, podLock
}

// startedPod is a run entrypoint that runs in the background.
type startedPod struct {
	cmd *exec.Cmd
	// firstLine is the first line of the app's stdout.
	firstLine string
	done      chan error
}

// start starts $S1/run in the background, releases the test's copies of
// the pod lock, so that only the app holds it, and waits until the app
// printed its first line: from then on the app runs in its rootfs.
func (p *pod) start(t *testing.T, flags ...string) *startedPod {
	t.Helper()
	cmd, podLock := p.command(t, runOptions{flags: flags})
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	podLock.Close()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	started := &startedPod{cmd: cmd, done: make(chan error, 1)}
	select {
	case started.firstLine = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatalf("app printed nothing within 10s; stderr %q", stderr.String())
	}
	if started.firstLine == "" {
		t.Fatalf("app ended before its first line; stderr %q", stderr.String())
	}
	go func() { started.done <- cmd.Wait() }()
	return started
}

// wait returns how the started pod ended, failing after timeout.
func (s *startedPod) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(timeout):
		t.Fatalf("app still running after %v", timeout)
		return nil
	}
}

// entrypoint runs the stage1 entrypoint name with args, in the pod
// directory, with stdin /dev/null.
func (p *pod) entrypoint(t *testing.T, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(p.stage1, name), args...)
	cmd.Dir = p.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	return resultOf(t, err, stdout.String(), stderr.String())
}

// hostMounts reads the mount table of the test's mount namespace, which is
// the host's for the pod: fly makes every mount there.
func hostMounts(t *testing.T) []mountinfo.Mount {
	t.Helper()
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	return mounts
}

// mountAt returns the topmost mount at path.
func mountAt(mounts []mountinfo.Mount, path string) (mountinfo.Mount, bool) {
	var found mountinfo.Mount
	ok := false
	for _, m := range mounts {
		if m.MountPoint == path {
			found, ok = m, true
		}
	}
	return found, ok
}

// mountTmpfs mounts a tmpfs on dir, creating it, in the test's namespace.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	mustMkdir(t, dir)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
}

func hostVolume(name, source string, readOnly, recursive *bool) types.Volume {
	return types.Volume{Name: types.ACName(name), Kind: "host", Source: source, ReadOnly: readOnly, Recursive: recursive}
}

func mountOf(volume, path string) schema.Mount {
	return schema.Mount{Volume: types.ACName(volume), Path: path}
}

func boolPtr(v bool) *bool { return &v }

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

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
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
