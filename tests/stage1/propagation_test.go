package stage1_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/internal/testns"
)

// stayCase is a pod whose stage1 mounts land inside a copy of a host mount
// in the rootfs. None of them may show up on the host.
type stayCase struct {
	// configure sets up the host side under dir and changes the pod.
	configure func(t *testing.T, dir string) func(c *podConfig)
	// prepare changes the unpacked rootfs, as a hostile image would ship it.
	prepare func(t *testing.T, p *pod)
	flags   []string
	// wantHostMounts are the mount points of the app's own mounts that must
	// reach the host, because the stage1 made no mount into their tree.
	wantHostMounts []string
	// wantHostMountsIn returns more such mount points, below the host
	// directories that configure made, so it is called after configure.
	wantHostMountsIn func() []string
	// check checks the pod and the run's output.
	check func(t *testing.T, p *pod, res result)
}

// hostLikeFly gives the decoy /dev a tmpfs on /dev/shm and /sys a tmpfs on
// /sys/fs/cgroup, and makes both trees rshared, as fly does before it binds
// them into the rootfs.
func hostLikeFly(t *testing.T) {
	t.Helper()
	mountTmpfs(t, "/dev/shm")
	mountTmpfs(t, "/sys/fs/cgroup")
	for _, dir := range []string{"/dev", "/sys"} {
		if err := unix.Mount("", dir, "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
			t.Fatalf("make %s rshared: %v", dir, err)
		}
	}
}

// mountsOutside returns the mounts whose mount point is not below dir.
func mountsOutside(t *testing.T, dir string) []mountinfo.Mount {
	t.Helper()
	var outside []mountinfo.Mount
	for _, m := range hostMounts(t) {
		if !mountinfo.IsUnder(m.MountPoint, dir) {
			outside = append(outside, m)
		}
	}
	return outside
}

// mountText is a mount without its propagation fields, which fly changes
// on the host on purpose (make rshared).
func mountText(m mountinfo.Mount) string {
	return fmt.Sprintf("id %d parent %d %s at %q root %q source %q options %s", m.ID, m.Parent, m.FSType, m.MountPoint, m.Root, m.Source, m.Options)
}

// compareHostMounts reports every difference between the host mounts
// before and after the run, except new mounts at the paths in allowed.
func compareHostMounts(t *testing.T, before, after []mountinfo.Mount, allowed []string) {
	t.Helper()
	afterByID := make(map[int]mountinfo.Mount, len(after))
	for _, m := range after {
		afterByID[m.ID] = m
	}
	for _, old := range before {
		now, ok := afterByID[old.ID]
		switch {
		case !ok:
			t.Errorf("host mount is gone: %s", mountText(old))
		case mountText(now) != mountText(old):
			t.Errorf("host mount changed:\n  before %s\n  after  %s", mountText(old), mountText(now))
		}
		delete(afterByID, old.ID)
	}
	found := map[string]bool{}
	for _, m := range after {
		if _, added := afterByID[m.ID]; !added {
			continue
		}
		if contains(allowed, m.MountPoint) {
			found[m.MountPoint] = true
			continue
		}
		t.Errorf("new mount on the host: %s", mountText(m))
	}
	for _, point := range allowed {
		if !found[point] {
			t.Errorf("the app's mount at %s is missing on the host", point)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// mountsAt returns the mounts stacked at path, bottom first.
func mountsAt(mounts []mountinfo.Mount, path string) []mountinfo.Mount {
	var stack []mountinfo.Mount
	for _, m := range mounts {
		if m.MountPoint == path {
			stack = append(stack, m)
		}
	}
	return stack
}

// runStaysInPod runs tc's pod in an isolated namespace and checks that the
// mount table outside the pod directory is the same as before the run.
func runStaysInPod(t *testing.T, tc stayCase) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	hostLikeFly(t)
	configure := tc.configure(t, scratch)
	p := newPod(t, scratch, "inspect", configure)
	if tc.prepare != nil {
		tc.prepare(t, p)
	}
	before := mountsOutside(t, p.dir)

	res := p.run(t, tc.flags...)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	for _, m := range res.report(t).Mounts {
		if m.Error != "" {
			t.Errorf("app mount %s: %s", m.Path, m.Error)
		}
	}
	want := tc.wantHostMounts
	if tc.wantHostMountsIn != nil {
		want = append(want, tc.wantHostMountsIn()...)
	}
	compareHostMounts(t, before, mountsOutside(t, p.dir), want)
	if tc.check != nil {
		tc.check(t, p, res)
	}
}

func TestStaysInPodVolumeAtDev(t *testing.T) {
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			return func(c *podConfig) {
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("dev", "/dev")}
				c.Pod.Volumes = []types.Volume{hostVolume("dev", "/dev", nil, nil)}
			}
		},
		check: func(t *testing.T, p *pod, res result) {
			// The system bind and the volume on top of it.
			if n := len(mountsAt(hostMounts(t), p.rootfs+"/dev")); n != 2 {
				t.Errorf("%d mounts at rootfs/dev, want 2", n)
			}
			if !mountinfo.IsMountPoint(hostMounts(t), "/dev/shm") {
				t.Errorf("host /dev/shm is no longer a mount point")
			}
		},
	})
}

func TestStaysInPodVolumeAtDevShm(t *testing.T) {
	var source string
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			source = filepath.Join(dir, "shm")
			mustMkdir(t, source)
			return func(c *podConfig) {
				c.app().Exec = types.Exec{"/inspect", "-write", "/dev/shm/f=volume", "-mount-tmpfs", "/dev/app-mount"}
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("shm", "/dev/shm")}
				c.Pod.Volumes = []types.Volume{hostVolume("shm", source, nil, nil)}
			}
		},
		flags: []string{"--debug"},
		// rootfs/dev itself stays a peer of the host's /dev.
		wantHostMounts: []string{"/dev/app-mount"},
		check: func(t *testing.T, p *pod, res result) {
			const logged = `make rootfs mount "/dev/shm"`
			if !strings.Contains(res.stderr, logged) {
				t.Errorf("debug output lacks %q:\n%s", logged, res.stderr)
			}
			if got := readFile(t, source+"/f"); got != "volume" {
				t.Errorf("volume source f = %q, want the app's write", got)
			}
			if _, err := os.Stat("/dev/shm/f"); err == nil {
				t.Errorf("the app's write reached the host's /dev/shm")
			}
		},
	})
}

func TestStaysInPodRecursiveVolumeAtCgroup(t *testing.T) {
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			source := filepath.Join(dir, "cgroup")
			mountTmpfs(t, source+"/sub")
			return func(c *podConfig) {
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("cgroup", "/sys/fs/cgroup")}
				c.Pod.Volumes = []types.Volume{hostVolume("cgroup", source, nil, boolPtr(true))}
			}
		},
		check: func(t *testing.T, p *pod, res result) {
			if !mountinfo.IsMountPoint(hostMounts(t), p.rootfs+"/sys/fs/cgroup/sub") {
				t.Errorf("the volume's submount is missing at rootfs/sys/fs/cgroup/sub")
			}
		},
	})
}

func TestStaysInPodTmpSymlinkToDevShm(t *testing.T) {
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			return func(c *podConfig) {
				c.app().Exec = types.Exec{"/inspect", "-write", "/tmp/f=pod"}
			}
		},
		prepare: func(t *testing.T, p *pod) {
			replaceWithSymlink(t, p.rootfs+"/tmp", "/dev/shm")
		},
		check: func(t *testing.T, p *pod, res result) {
			if w := res.report(t).Writes[0]; w.Error != "" {
				t.Errorf("write /tmp/f: %s", w.Error)
			}
			if _, err := os.Stat("/dev/shm/f"); err == nil {
				t.Errorf("the app's /tmp is the host's /dev/shm")
			}
			stack := mountsAt(hostMounts(t), p.rootfs+"/dev/shm")
			if len(stack) != 2 || stack[1].FSType != "tmpfs" {
				t.Errorf("mounts at rootfs/dev/shm = %v, want the host's copy and fly's tmpfs", stack)
			}
		},
	})
}

func TestStaysInPodEtcSymlinkIntoSys(t *testing.T) {
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			fakeHostEtc(t)
			// The stage1 creates no target in the host's /sys, so the
			// target must exist there already.
			mustWrite(t, "/sys/fs/cgroup/resolv.conf", "cgroup file\n")
			return func(c *podConfig) {
				c.app().Exec = types.Exec{"/inspect", "-read", "/etc/resolv.conf"}
			}
		},
		prepare: func(t *testing.T, p *pod) {
			replaceWithSymlink(t, p.rootfs+"/etc", "/sys/fs/cgroup")
		},
		flags: []string{"--dns-conf-mode=resolv=host,hosts=default"},
		check: func(t *testing.T, p *pod, res result) {
			if r := res.report(t).Reads[0]; r.Content != hostResolvConf {
				t.Errorf("app read /etc/resolv.conf = %q (error %q), want the host's", r.Content, r.Error)
			}
			if mountinfo.IsMountPoint(hostMounts(t), "/sys/fs/cgroup/resolv.conf") {
				t.Errorf("the resolv.conf bind is on the host's /sys/fs/cgroup")
			}
			if got := readFile(t, "/sys/fs/cgroup/resolv.conf"); got != "cgroup file\n" {
				t.Errorf("host /sys/fs/cgroup/resolv.conf = %q, want it unchanged", got)
			}
		},
	})
}

func TestStaysInPodProcSymlinkToDev(t *testing.T) {
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			return func(c *podConfig) {}
		},
		prepare: func(t *testing.T, p *pod) {
			replaceWithSymlink(t, p.rootfs+"/proc", "dev")
		},
		check: func(t *testing.T, p *pod, res result) {
			stack := mountsAt(hostMounts(t), p.rootfs+"/dev")
			if len(stack) != 2 || stack[1].FSType != "proc" {
				t.Errorf("mounts at rootfs/dev = %v, want the /dev bind and the /proc bind", stack)
			}
		},
	})
}

// TestPropagationNestedVolumeReachesHost is a kubelet's setup: a shared,
// recursive /var/lib/kubelet volume with a volume nested at
// /var/lib/kubelet/plugins. The outer copy stays shared, so the nested
// bind and the tmpfs that the app mounts later in the outer volume (a pod
// secret) both appear on the host below the outer source.
func TestPropagationNestedVolumeReachesHost(t *testing.T) {
	var outer, plugins string
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			outer = filepath.Join(dir, "var-lib-kubelet")
			mountTmpfs(t, outer)
			makePrivate(t, outer)
			plugins = filepath.Join(dir, "plugins")
			mustMkdir(t, plugins)
			return func(c *podConfig) {
				c.app().Exec = types.Exec{"/inspect", "-mount-tmpfs", "/var/lib/kubelet/pods/p1/secret", "-write", "/var/lib/kubelet/pods/p1/secret/token=s", "-write", "/var/lib/kubelet/plugins/f=plugin"}
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("kubelet", "/var/lib/kubelet"), mountOf("plugins", "/var/lib/kubelet/plugins")}
				c.Pod.Volumes = []types.Volume{hostVolume("kubelet", outer, nil, boolPtr(true)), hostVolume("plugins", plugins, nil, nil)}
			}
		},
		flags: []string{"--debug"},
		wantHostMountsIn: func() []string {
			return []string{filepath.Join(outer, "plugins"), filepath.Join(outer, "pods/p1/secret")}
		},
		check: func(t *testing.T, p *pod, res result) {
			for _, w := range res.report(t).Writes {
				if w.Error != "" {
					t.Errorf("write %s: %s", w.Path, w.Error)
				}
			}
			if got := readFile(t, outer+"/pods/p1/secret/token"); got != "s" {
				t.Errorf("host outer/pods/p1/secret/token = %q, want the app's write in its tmpfs", got)
			}
			if got := readFile(t, outer+"/plugins/f"); got != "plugin" {
				t.Errorf("host outer/plugins/f = %q, want the nested volume's file", got)
			}
			const logged = `leave rootfs mount "/var/lib/kubelet"`
			if !strings.Contains(res.stderr, logged) {
				t.Errorf("debug output lacks %q:\n%s", logged, res.stderr)
			}
			if strings.Contains(res.stderr, `make rootfs mount "/var/lib/kubelet" a slave`) {
				t.Errorf("the outer volume's copy became a slave:\n%s", res.stderr)
			}
		},
	})
}

func TestStaysInPodVolumeThroughSymlink(t *testing.T) {
	runRedirectedCase(t, "/link", []schema.Mount{mountOf("data", "/data"), mountOf("inner", "/link/inner")}, nil,
		`an image symlink redirected the target of volume "inner" to "/data/inner"`)
}

func TestStaysInPodDNSBindInVolume(t *testing.T) {
	runRedirectedCase(t, "/etc", []schema.Mount{mountOf("data", "/data")}, []string{"--dns-conf-mode=resolv=host,hosts=default"},
		`the bind of "/etc/resolv.conf" is the stage1's own mount`)
}

// runRedirectedCase runs a pod whose image links link to /data, where a
// shared user volume is mounted. The mount that lands there through the
// link must make the volume's copy a slave, so the debug output contains
// slaveReason. Neither that mount nor the app's later mount in /data may
// appear on the host.
func runRedirectedCase(t *testing.T, link string, mounts []schema.Mount, flags []string, slaveReason string) {
	var outer string
	runStaysInPod(t, stayCase{
		configure: func(t *testing.T, dir string) func(c *podConfig) {
			fakeHostEtc(t)
			outer = filepath.Join(dir, "outer")
			mountTmpfs(t, outer)
			makePrivate(t, outer)
			// The targets exist, so the run creates nothing in the source.
			mustWrite(t, outer+"/resolv.conf", "outer\n")
			mustMkdir(t, outer+"/inner")
			inner := filepath.Join(dir, "inner")
			mustMkdir(t, inner)
			return func(c *podConfig) {
				c.app().Exec = types.Exec{"/inspect", "-mount-tmpfs", "/data/app-mount"}
				c.Pod.Apps[0].Mounts = mounts
				c.Pod.Volumes = []types.Volume{hostVolume("data", outer, nil, nil), hostVolume("inner", inner, nil, nil)}
			}
		},
		prepare: func(t *testing.T, p *pod) {
			replaceWithSymlink(t, p.rootfs+link, "/data")
		},
		flags: append([]string{"--debug"}, flags...),
		check: func(t *testing.T, p *pod, res result) {
			if !strings.Contains(res.stderr, slaveReason) {
				t.Errorf("debug output lacks %q:\n%s", slaveReason, res.stderr)
			}
			if got := readFile(t, outer+"/resolv.conf"); got != "outer\n" {
				t.Errorf("host outer/resolv.conf = %q, want it unchanged", got)
			}
		},
	})
}

// replaceWithSymlink replaces the directory dir of an unpacked rootfs, and
// the image's files in it, with a symlink to target.
func replaceWithSymlink(t *testing.T, dir, target string) {
	t.Helper()
	testns.AssertNoMountsUnder(t, dir)
	if t.Failed() {
		t.FailNow()
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, dir); err != nil {
		t.Fatal(err)
	}
}
