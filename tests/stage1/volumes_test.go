package stage1_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/testns"
)

func TestVolumeHostWritesReachHost(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "volume")
	mustMkdir(t, source)
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-write", "/data/out=hello"}
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", "/data")}
		c.Pod.Volumes = []types.Volume{hostVolume("data", source, nil, nil)}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	if w := res.report(t).Writes[0]; w.Error != "" {
		t.Errorf("write through the volume: %s", w.Error)
	}
	if got := readFile(t, source+"/out"); got != "hello" {
		t.Errorf("host file = %q, want hello", got)
	}
	m, ok := mountAt(hostMounts(t), p.rootfs+"/data")
	if !ok {
		t.Fatal("rootfs/data is not a mount point")
	}
	if !strings.HasPrefix(m.Options, "rw") {
		t.Errorf("rootfs/data options %q, want rw", m.Options)
	}
}

func TestVolumeReadOnly(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "volume")
	mustMkdir(t, source)
	// A submount inside the source: a recursive read-only volume must make
	// it read-only too.
	mountTmpfs(t, source+"/sub")
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-write", "/data/out=x", "-write", "/data/sub/out=x"}
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", "/data")}
		c.Pod.Volumes = []types.Volume{hostVolume("data", source, boolPtr(true), boolPtr(true))}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	for _, w := range res.report(t).Writes {
		if w.Errno != "EROFS" {
			t.Errorf("write %s: error %q, want EROFS", w.Path, w.Error)
		}
	}
	mounts := hostMounts(t)
	for _, dir := range []string{"/data", "/data/sub"} {
		m, ok := mountAt(mounts, p.rootfs+dir)
		if !ok {
			t.Errorf("rootfs%s is not a mount point", dir)
			continue
		}
		if !strings.HasPrefix(m.Options, "ro") {
			t.Errorf("rootfs%s options %q, want ro", dir, m.Options)
		}
	}
	// The host's own mounts stay writable.
	if err := os.WriteFile(source+"/sub/host", []byte("x"), 0o644); err != nil {
		t.Errorf("host write below the source: %v", err)
	}
}

func TestVolumeReadOnlyThroughSymlink(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	// var/run -> ../run, as on most distributions, and the source is given
	// through the link while mountinfo lists run/x and run/x/sub.
	realSource := filepath.Join(scratch, "run", "x")
	mountTmpfs(t, realSource)
	makePrivate(t, realSource)
	mountTmpfs(t, realSource+"/sub")
	mustMkdir(t, filepath.Join(scratch, "var"))
	if err := os.Symlink("../run", filepath.Join(scratch, "var", "run")); err != nil {
		t.Fatal(err)
	}
	source := filepath.Join(scratch, "var", "run", "x")

	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-write", "/data/out=x", "-write", "/data/sub/out=x"}
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", "/data")}
		c.Pod.Volumes = []types.Volume{hostVolume("data", source, boolPtr(true), boolPtr(true))}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	for _, w := range res.report(t).Writes {
		if w.Errno != "EROFS" {
			t.Errorf("write %s: error %q, want EROFS", w.Path, w.Error)
		}
	}
	mounts := hostMounts(t)
	for _, dir := range []string{"/data", "/data/sub"} {
		m, ok := mountAt(mounts, p.rootfs+dir)
		if !ok {
			t.Errorf("rootfs%s is not a mount point", dir)
			continue
		}
		if !strings.HasPrefix(m.Options, "ro") {
			t.Errorf("rootfs%s options %q, want ro", dir, m.Options)
		}
	}
	m, ok := mountAt(mounts, realSource)
	if !ok {
		t.Fatalf("%s is not a mount point", realSource)
	}
	if !strings.Contains(strings.Join(m.Optional, " "), "shared:") {
		t.Errorf("source mount %s has optional fields %q, want it made shared", realSource, m.Optional)
	}
}

func TestVolumeReadOnlyDefault(t *testing.T) {
	cases := []struct {
		name            string
		mountPointRO    bool
		volumeRO        *bool
		wantWriteFailed bool
	}{
		{name: "unset takes read-only mount point", mountPointRO: true, wantWriteFailed: true},
		{name: "unset takes writable mount point", mountPointRO: false, wantWriteFailed: false},
		{name: "volume false overrides mount point", mountPointRO: true, volumeRO: boolPtr(false), wantWriteFailed: false},
		{name: "volume true overrides mount point", mountPointRO: false, volumeRO: boolPtr(true), wantWriteFailed: true},
	}
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(scratch, string(rune('a'+i)))
			source := filepath.Join(dir, "volume")
			mustMkdir(t, source)
			p := newPod(t, dir, "inspect", func(c *podConfig) {
				c.Image.App.MountPoints = []types.MountPoint{{Name: "data", Path: "/data", ReadOnly: tc.mountPointRO}}
				c.app().Exec = types.Exec{"/inspect", "-write", "/data/out=x"}
				c.Pod.Volumes = []types.Volume{hostVolume("data", source, tc.volumeRO, nil)}
			})
			res := p.run(t)
			if res.code != 0 {
				t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
			}
			w := res.report(t).Writes[0]
			if tc.wantWriteFailed && w.Errno != "EROFS" {
				t.Errorf("write error %q, want EROFS", w.Error)
			}
			if !tc.wantWriteFailed && w.Error != "" {
				t.Errorf("write error %q, want success", w.Error)
			}
		})
	}
}

// TestVolumePropagation checks where a mount that the app makes inside a
// volume shows up on the host. fly makes a volume source that is itself a
// host mount point rshared before it binds it, so the app's mount
// propagates back to the source. A source that is only a directory keeps
// the propagation of the host mount that contains it, which fly leaves
// alone: private means the app's mount stays in the pod, shared means it
// shows up on the host too.
func TestVolumePropagation(t *testing.T) {
	cases := []struct {
		name string
		// setup prepares the host and returns the volume source.
		setup    func(t *testing.T, dir string) string
		wantBack bool
	}{
		{
			name: "source is a mount point",
			setup: func(t *testing.T, dir string) string {
				source := filepath.Join(dir, "source")
				mountTmpfs(t, source)
				makePrivate(t, source)
				return source
			},
			wantBack: true,
		},
		{
			name: "source inside a private mount",
			setup: func(t *testing.T, dir string) string {
				parent := filepath.Join(dir, "parent")
				mountTmpfs(t, parent)
				makePrivate(t, parent)
				mustMkdir(t, parent+"/source")
				return parent + "/source"
			},
			wantBack: false,
		},
		{
			name: "source inside a shared mount",
			setup: func(t *testing.T, dir string) string {
				parent := filepath.Join(dir, "parent")
				mountTmpfs(t, parent)
				if err := unix.Mount("", parent, "", unix.MS_SHARED, ""); err != nil {
					t.Fatalf("make %s shared: %v", parent, err)
				}
				mustMkdir(t, parent+"/source")
				return parent + "/source"
			},
			wantBack: true,
		},
	}
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(scratch, string(rune('a'+i)))
			source := tc.setup(t, dir)
			p := newPod(t, dir, "inspect", func(c *podConfig) {
				c.app().Exec = types.Exec{"/inspect", "-mount-tmpfs", "/data/inner", "-write", "/data/inner/f=x"}
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", "/data")}
				c.Pod.Volumes = []types.Volume{hostVolume("data", source, nil, nil)}
			})
			res := p.run(t)
			if res.code != 0 {
				t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
			}
			rep := res.report(t)
			if rep.Mounts[0].Error != "" || rep.Writes[0].Error != "" {
				t.Fatalf("app mount %q, write %q: want both to succeed", rep.Mounts[0].Error, rep.Writes[0].Error)
			}
			mounts := hostMounts(t)
			if !mountinfo.IsMountPoint(mounts, p.rootfs+"/data/inner") {
				t.Errorf("the app's mount is missing at rootfs/data/inner")
			}
			back := mountinfo.IsMountPoint(mounts, source+"/inner")
			if back != tc.wantBack {
				t.Errorf("app's mount at source/inner on the host = %v, want %v", back, tc.wantBack)
			}
			_, err := os.Stat(source + "/inner/f")
			if tc.wantBack && err != nil {
				t.Errorf("file written in the app's mount, seen from the host: %v", err)
			}
			if !tc.wantBack && err == nil {
				t.Errorf("file written in the app's mount is visible at the host source")
			}
		})
	}
}

func makePrivate(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make %s private: %v", dir, err)
	}
}

func TestVolumeDevMountPropagatesToHost(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	// /dev in the test's namespace is a decoy tmpfs, so the mount lands
	// there, never on the real host /dev.
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-mount-tmpfs", "/dev/stage1-test"}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	if m := res.report(t).Mounts[0]; m.Error != "" {
		t.Fatalf("app mount: %s", m.Error)
	}
	if !mountinfo.IsMountPoint(hostMounts(t), "/dev/stage1-test") {
		t.Errorf("the app's mount below /dev is missing on the host")
	}
}

func TestVolumeEmpty(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	mode := "1770"
	uid, gid := 1000, 2000
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-write", "/scratch/out=empty"}
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("scratch", "/scratch")}
		c.Pod.Volumes = []types.Volume{{Name: "scratch", Kind: "empty", Mode: &mode, UID: &uid, GID: &gid}}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	if w := res.report(t).Writes[0]; w.Error != "" {
		t.Errorf("write to the empty volume: %s", w.Error)
	}
	shared := poddir.SharedVolumePath(p.dir, "scratch")
	checkDir(t, shared, 0o770|os.ModeSticky, 1000, 2000)
	checkDir(t, filepath.Dir(shared), 0o755, 0, 0)
	if got := readFile(t, shared+"/out"); got != "empty" {
		t.Errorf("file in sharedVolumes = %q, want empty", got)
	}
}

func TestVolumeImplicitEmpty(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	// A mount point with no volume gets an empty one, as in rkt's other
	// stage1s. rkt's fly failed with "missing volume for mountpoint".
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.Image.App.MountPoints = []types.MountPoint{{Name: "cache", Path: "/var/cache/app"}}
		c.app().Exec = types.Exec{"/inspect", "-write", "/var/cache/app/out=implicit"}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	if w := res.report(t).Writes[0]; w.Error != "" {
		t.Errorf("write to the implicit volume: %s", w.Error)
	}
	shared := poddir.SharedVolumePath(p.dir, "cache")
	checkDir(t, shared, 0o755, 0, 0)
	if got := readFile(t, shared+"/out"); got != "implicit" {
		t.Errorf("file in sharedVolumes = %q, want implicit", got)
	}
	if !mountinfo.IsMountPoint(hostMounts(t), p.rootfs+"/var/cache/app") {
		t.Errorf("rootfs/var/cache/app is not a mount point")
	}
}

func checkDir(t *testing.T, dir string, mode os.FileMode, uid, gid uint32) {
	t.Helper()
	info, err := os.Stat(dir)
	if err != nil {
		t.Error(err)
		return
	}
	if !info.IsDir() {
		t.Errorf("%s is %v, want a directory", dir, info.Mode())
	}
	if got := info.Mode() & (os.ModePerm | os.ModeSticky | os.ModeSetuid | os.ModeSetgid); got != mode {
		t.Errorf("%s mode = %v, want %v", dir, got, mode)
	}
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != uid || st.Gid != gid {
		t.Errorf("%s owner = %d:%d, want %d:%d", dir, st.Uid, st.Gid, uid, gid)
	}
}

func TestVolumeNestedTargets(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	outer := filepath.Join(scratch, "outer")
	inner := filepath.Join(scratch, "inner")
	mustMkdir(t, outer)
	mustMkdir(t, inner)
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-write", "/data/a=outer", "-write", "/data/deep/er/b=inner"}
		// The deeper target comes first in the manifest: it must still be
		// mounted after the shallower one, or the outer volume hides it.
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("inner", "/data/deep/er"), mountOf("outer", "/data")}
		c.Pod.Volumes = []types.Volume{hostVolume("outer", outer, nil, nil), hostVolume("inner", inner, nil, nil)}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	for _, w := range res.report(t).Writes {
		if w.Error != "" {
			t.Errorf("write %s: %s", w.Path, w.Error)
		}
	}
	if got := readFile(t, outer+"/a"); got != "outer" {
		t.Errorf("outer/a = %q, want outer", got)
	}
	if got := readFile(t, inner+"/b"); got != "inner" {
		t.Errorf("inner/b = %q, want inner", got)
	}
	// The inner target was created in the outer volume, on the host.
	if info, err := os.Stat(outer + "/deep/er"); err != nil || !info.IsDir() {
		t.Errorf("outer/deep/er: %v, want the inner target directory", err)
	}
}

func TestVolumeFileAndSocketSources(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	file := filepath.Join(scratch, "config.txt")
	mustWrite(t, file, "from the host\n")
	socketPath := filepath.Join(scratch, "api.sock")
	listener, err := net.Listen("unix", socketPath)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			conn.Write([]byte("pong"))
			conn.Close()
		}
	}()

	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-read", "/etc/app/config.txt"}
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("config", "/etc/app/config.txt"), mountOf("api", "/run/api.sock")}
		c.Pod.Volumes = []types.Volume{hostVolume("config", file, boolPtr(true), nil), hostVolume("api", socketPath, nil, nil)}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	if r := res.report(t).Reads[0]; r.Error != "" || r.Content != "from the host\n" {
		t.Errorf("app read %q (error %q), want the host file", r.Content, r.Error)
	}

	mounts := hostMounts(t)
	for _, target := range []string{"/etc/app/config.txt", "/run/api.sock"} {
		if !mountinfo.IsMountPoint(mounts, p.rootfs+target) {
			t.Errorf("rootfs%s is not a mount point", target)
		}
	}
	// The path is longer than sun_path allows: connect through an O_PATH
	// fd of the bound socket instead.
	socketFd, err := unix.Open(p.rootfs+"/run/api.sock", unix.O_PATH, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", fmt.Sprintf("/proc/self/fd/%d", socketFd))
	unix.Close(socketFd)
	if err != nil {
		t.Fatalf("connect through the bound socket: %v", err)
	}
	reply := make([]byte, 4)
	if _, err := conn.Read(reply); err != nil || string(reply) != "pong" {
		t.Errorf("reply through the bound socket = %q, %v", reply, err)
	}
	conn.Close()

	// Below the mounts, the targets fly created are empty regular files.
	for _, target := range []string{"/etc/app/config.txt", "/run/api.sock"} {
		if err := unix.Unmount(p.rootfs+target, 0); err != nil {
			t.Fatalf("unmount rootfs%s: %v", target, err)
		}
		info, err := os.Lstat(p.rootfs + target)
		if err != nil {
			t.Errorf("target rootfs%s: %v", target, err)
			continue
		}
		if !info.Mode().IsRegular() || info.Size() != 0 {
			t.Errorf("target rootfs%s is %v size %d, want an empty regular file", target, info.Mode(), info.Size())
		}
	}
}

func TestVolumeSymlinkTargetStaysInRoot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "volume")
	mustMkdir(t, source)
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", "/data/x")}
		c.Pod.Volumes = []types.Volume{hostVolume("data", source, nil, nil)}
	})
	// /data -> ../../../escape would reach the stage2 directory next to the
	// rootfs through a host lookup, but inside the root it is /escape.
	if err := os.Symlink("../../../escape", p.rootfs+"/data"); err != nil {
		t.Fatal(err)
	}
	if res := p.run(t); res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	if !mountinfo.IsMountPoint(hostMounts(t), p.rootfs+"/escape/x") {
		t.Errorf("volume not mounted at rootfs/escape/x")
	}
	for _, outside := range []string{filepath.Join(p.rootfs, "..", "..", "..", "escape"), filepath.Join(p.stage1, "opt", "escape")} {
		if _, err := os.Lstat(outside); err == nil {
			t.Errorf("%s was created outside the rootfs", outside)
		}
	}
}

// TestVolumeMountServesMountPointAtPath is etcd-wrapper's setup: the image
// declares the mount point "data" at /var/lib/etcd, and the pod mounts the
// volume "data-dir" there. The mount serves the mount point, so no
// implicit empty volume is added, and the mount point's readOnly applies
// because the volume leaves readOnly unset.
func TestVolumeMountServesMountPointAtPath(t *testing.T) {
	cases := []struct {
		name            string
		mountPointRO    bool
		wantWriteFailed bool
	}{
		{name: "writable mount point", mountPointRO: false},
		{name: "read-only mount point", mountPointRO: true, wantWriteFailed: true},
	}
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(scratch, string(rune('a'+i)))
			source := filepath.Join(dir, "etcd-data")
			mustMkdir(t, source)
			p := newPod(t, dir, "inspect", func(c *podConfig) {
				c.Image.App.MountPoints = []types.MountPoint{{Name: "data", Path: "/var/lib/etcd", ReadOnly: tc.mountPointRO}}
				c.app().Exec = types.Exec{"/inspect", "-write", "/var/lib/etcd/member=x"}
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data-dir", "/var/lib/etcd/")}
				c.Pod.Volumes = []types.Volume{hostVolume("data-dir", source, nil, nil)}
			})
			res := p.run(t)
			if res.code != 0 {
				t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
			}
			w := res.report(t).Writes[0]
			if tc.wantWriteFailed && w.Errno != "EROFS" {
				t.Errorf("write error %q, want EROFS", w.Error)
			}
			if !tc.wantWriteFailed {
				if w.Error != "" {
					t.Errorf("write error %q, want success", w.Error)
				}
				if got := readFile(t, source+"/member"); got != "x" {
					t.Errorf("host etcd-data/member = %q, want the app's write", got)
				}
			}
			if _, err := os.Stat(poddir.SharedVolumePath(p.dir, "data")); err == nil {
				t.Errorf("an implicit empty volume was created for the mount point")
			}
			if n := len(mountsAt(hostMounts(t), p.rootfs+"/var/lib/etcd")); n != 1 {
				t.Errorf("%d mounts at rootfs/var/lib/etcd, want 1", n)
			}
		})
	}
}
