package stage1_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/testns"
)

// hostTreeDirs are the host directories, all inside the test's namespace,
// whose contents a run must leave as they were: the decoy /dev and the
// tmpfs that hostLikeFly mounts on /sys/fs/cgroup.
var hostTreeDirs = []string{"/dev", "/sys/fs/cgroup"}

// listTree returns the paths of every file and directory below dir.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return paths
}

// compareTrees reports every path that was added to or removed from the
// host trees since before.
func compareTrees(t *testing.T, before map[string][]string) {
	t.Helper()
	for _, dir := range hostTreeDirs {
		after := listTree(t, dir)
		for _, path := range after {
			if !slices.Contains(before[dir], path) {
				t.Errorf("new file on the host: %s", path)
			}
		}
		for _, path := range before[dir] {
			if !slices.Contains(after, path) {
				t.Errorf("host file is gone: %s", path)
			}
		}
	}
}

// hostTreeCase is a pod whose mount target or DNS file resolves into the
// stage1's binds of the host's /dev, /proc or /sys.
type hostTreeCase struct {
	name      string
	configure func(c *podConfig, scratch string)
	// prepare changes the unpacked pod, as a hostile image would ship it.
	prepare func(t *testing.T, p *pod)
	flags   []string
	// wantError is the reason on stderr of a run that must fail with 254;
	// "" means the run must succeed.
	wantError string
}

func TestHostTreesNoCreate(t *testing.T) {
	volumeAt := func(target string) func(c *podConfig, scratch string) {
		return func(c *podConfig, scratch string) {
			c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", target)}
			c.Pod.Volumes = []types.Volume{hostVolume("data", filepath.Join(scratch, "volume"), nil, nil)}
		}
	}
	fileVolumeAt := func(target string) func(c *podConfig, scratch string) {
		return func(c *podConfig, scratch string) {
			c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", target)}
			c.Pod.Volumes = []types.Volume{hostVolume("data", filepath.Join(scratch, "file"), nil, nil)}
		}
	}
	symlink := func(dir, target string) func(t *testing.T, p *pod) {
		return func(t *testing.T, p *pod) {
			replaceWithSymlink(t, p.rootfs+dir, target)
		}
	}
	cases := []hostTreeCase{
		{
			name:      "etc symlink into sys",
			prepare:   symlink("/etc", "/sys/fs/cgroup"),
			flags:     []string{"--dns-conf-mode=resolv=host,hosts=default"},
			wantError: `run: can't create "/etc/resolv.conf" for the bind of "/etc/resolv.conf": it resolves to "/sys/fs/cgroup/resolv.conf", which lies in the host's /sys bound into the pod; change the image symlink`,
		},
		{
			name:      "tmp symlink into dev",
			prepare:   symlink("/tmp", "/dev/newdir"),
			wantError: `run: can't create "/tmp" for the tmpfs on /tmp: it resolves to "/dev/newdir", which lies in the host's /dev bound into the pod`,
		},
		{
			name:      "proc symlink into dev",
			prepare:   symlink("/proc", "/dev/newproc"),
			wantError: `run: can't create "/proc" for the bind of the host's /proc: it resolves to "/dev/newproc", which lies in the host's /dev bound into the pod`,
		},
		{
			name:      "volume dir in dev",
			configure: volumeAt("/dev/newvol/sub"),
			wantError: `run: can't create "/dev/newvol/sub" for volume "data": it lies in the host's /dev bound into the pod; choose a target that exists on the host or lies outside /dev, /proc and /sys`,
		},
		{
			name:      "volume file in dev",
			configure: fileVolumeAt("/dev/newfile"),
			wantError: `run: can't create "/dev/newfile" for volume "data": it lies in the host's /dev bound into the pod`,
		},
		{
			// /dev/shm is a submount that the recursive bind of /dev copied.
			name:      "volume in dev shm",
			configure: volumeAt("/dev/shm/sub"),
			wantError: `run: can't create "/dev/shm/sub" for volume "data": it lies in the host's /dev bound into the pod`,
		},
		{
			name:      "volume in sys",
			configure: volumeAt("/sys/fs/cgroup/newcgroup"),
			wantError: `run: can't create "/sys/fs/cgroup/newcgroup" for volume "data": it lies in the host's /sys bound into the pod`,
		},
		{
			name:      "volume through symlink",
			configure: volumeAt("/data/sub"),
			prepare: func(t *testing.T, p *pod) {
				if err := os.Symlink("/dev/shm/../newdata", p.rootfs+"/data"); err != nil {
					t.Fatal(err)
				}
			},
			wantError: `run: can't create "/data/sub" for volume "data": it resolves to "/dev/newdata/sub", which lies in the host's /dev bound into the pod; choose a target that exists on the host or lies outside /dev, /proc and /sys, or change the image symlink`,
		},
		{
			// The DNS files are written before the system binds, into the
			// image's own /dev, which the bind of /dev then covers.
			name: "dns files through etc symlink",
			prepare: func(t *testing.T, p *pod) {
				mustWrite(t, poddir.Stage0ResolvConfPath(p.dir), "nameserver 192.0.2.10\n")
				replaceWithSymlink(t, p.rootfs+"/etc", "/dev")
			},
			flags: []string{"--dns-conf-mode=resolv=stage0,hosts=default"},
		},
		{
			name:    "default hosts through etc symlink",
			prepare: symlink("/etc", "/dev/newetc"),
			flags:   []string{"--dns-conf-mode=resolv=default,hosts=default"},
		},
	}
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	hostLikeFly(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(scratch, string(rune('a'+i)))
			mustMkdir(t, filepath.Join(dir, "volume"))
			mustWrite(t, filepath.Join(dir, "file"), "x")
			p := newPod(t, dir, "inspect", func(c *podConfig) {
				if tc.configure != nil {
					tc.configure(c, dir)
				}
			})
			if tc.prepare != nil {
				tc.prepare(t, p)
			}
			before := map[string][]string{}
			for _, hostDir := range hostTreeDirs {
				before[hostDir] = listTree(t, hostDir)
			}

			res := p.run(t, tc.flags...)
			compareTrees(t, before)
			if tc.wantError == "" {
				if res.code != 0 {
					t.Errorf("exit status = %d, want 0; stderr %q", res.code, res.stderr)
				}
				return
			}
			if res.code != 254 {
				t.Errorf("exit status = %d, want 254; stdout %q stderr %q", res.code, res.stdout, res.stderr)
			}
			if lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n"); len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1: %q", len(lines), res.stderr)
			}
			if !strings.HasPrefix(res.stderr, tc.wantError) {
				t.Errorf("stderr = %q, want it to start with %q", res.stderr, tc.wantError)
			}
		})
	}
}
