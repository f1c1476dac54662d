package stage1_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/testns"
)

// TestRunFailures checks that each manifest or mount that fly cannot honour
// ends the run with status 254 and one line on stderr, "run: " and the
// reason.
func TestRunFailures(t *testing.T) {
	type failureCase struct {
		name      string
		configure func(c *podConfig, scratch string)
		// setup changes the pod directory after it is written.
		setup     func(t *testing.T, p *pod)
		opts      runOptions
		wantError string
	}
	volumeDir := func(scratch string) string { return filepath.Join(scratch, "volume") }
	mountVolume := func(c *podConfig, source, path string) {
		c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", path)}
		c.Pod.Volumes = []types.Volume{hostVolume("data", source, nil, nil)}
	}
	cases := []failureCase{
		{
			name: "two apps",
			configure: func(c *podConfig, _ string) {
				other := c.Pod.Apps[0]
				other.Name = "other"
				c.Pod.Apps = append(c.Pod.Apps, other)
			},
			setup: func(t *testing.T, p *pod) {
				copyFile(t, poddir.AppImageManifestPath(p.dir, appName), poddir.AppImageManifestPath(p.dir, "other"), 0o644)
			},
			wantError: "fly only supports 1 application per Pod for now",
		},
		{
			name:      "empty exec",
			configure: func(c *podConfig, _ string) { c.app().Exec = types.Exec{} },
			wantError: `image "example.com/inspect" has an empty "exec" (try --exec=BINARY)`,
		},
		{
			name:      "exec not found",
			configure: func(c *podConfig, _ string) { c.app().Exec = types.Exec{"missing-binary"} },
			wantError: `can't find the absolute executable for "missing-binary"`,
		},
		{
			name:      "missing lock fd",
			opts:      runOptions{noLockFd: true},
			wantError: "can't get rkt lock fd",
		},
		{
			name:      "malformed uuid",
			opts:      runOptions{uuid: "not-a-uuid"},
			wantError: "UUID is missing or malformed",
		},
		{
			name: "conflicting mount path",
			configure: func(c *podConfig, scratch string) {
				c.Image.App.MountPoints = []types.MountPoint{{Name: "data", Path: "/data"}}
				mountVolume(c, volumeDir(scratch), "/other")
			},
			wantError: `conflicting path information from mount and mountpoint "data"`,
		},
		{
			name: "duplicate mount",
			configure: func(c *podConfig, scratch string) {
				mountVolume(c, volumeDir(scratch), "/a")
				c.Pod.Apps[0].Mounts = append(c.Pod.Apps[0].Mounts, mountOf("data", "/b"))
			},
			wantError: `duplicate mount given: "data"`,
		},
		{
			name:      "missing volume source",
			configure: func(c *podConfig, scratch string) { mountVolume(c, volumeDir(scratch)+"/missing", "/data") },
			wantError: `/volume/missing" does not exist: create it on the host or correct --volume data,source=`,
		},
		{
			name:      "directory source on file target",
			configure: func(c *podConfig, scratch string) { mountVolume(c, volumeDir(scratch), "/etc/passwd") },
			wantError: `/volume" is a directory while "/etc/passwd" in the app is not (volume "data"); mount volume "data" on a directory target or change its source`,
		},
		{
			name: "file source on directory target",
			configure: func(c *podConfig, scratch string) {
				mountVolume(c, filepath.Join(scratch, "file"), "/etc")
			},
			wantError: `/file" is not a directory while "/etc" in the app is (volume "data"); mount volume "data" on a file target or change its source`,
		},
		{
			name: "unknown user",
			configure: func(c *podConfig, _ string) {
				c.app().User = "ghost"
			},
			wantError: "failed to lookup process credentials",
		},
		{
			name: "resolv copy without etc",
			setup: func(t *testing.T, p *pod) {
				mustWrite(t, poddir.Stage0ResolvConfPath(p.dir), "nameserver 192.0.2.10\n")
				if err := os.RemoveAll(p.rootfs + "/etc"); err != nil {
					t.Fatal(err)
				}
			},
			opts:      runOptions{flags: []string{"--dns-conf-mode=resolv=stage0,hosts=default"}},
			wantError: "can't copy /etc/resolv.conf",
		},
		{
			name: "resolv copy through etc symlink into sys",
			setup: func(t *testing.T, p *pod) {
				mustWrite(t, poddir.Stage0ResolvConfPath(p.dir), "nameserver 192.0.2.10\n")
				replaceWithSymlink(t, p.rootfs+"/etc", "/sys/fs/cgroup")
			},
			opts:      runOptions{flags: []string{"--dns-conf-mode=resolv=stage0,hosts=default"}},
			wantError: `can't copy /etc/resolv.conf: it resolves to "/sys/fs/cgroup/resolv.conf", which lies in /sys, where the pod gets the host's /sys; change the image symlink or choose --dns=host or --dns=none`,
		},
		{
			name: "two mounts at one path",
			configure: func(c *podConfig, scratch string) {
				mountVolume(c, volumeDir(scratch), "/data")
				c.Pod.Volumes = append(c.Pod.Volumes, hostVolume("other", volumeDir(scratch), nil, nil))
				c.Pod.Apps[0].Mounts = append(c.Pod.Apps[0].Mounts, mountOf("other", "/data/"))
			},
			wantError: `volumes "data" and "other" are both mounted at "/data": mount only one volume there`,
		},
		{
			// rkt's stage0 and encoding/json would read such a manifest
			// differently; the one-line error names the member.
			name: "repeated member name",
			setup: func(t *testing.T, p *pod) {
				path := poddir.PodManifestPath(p.dir)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				repeated := strings.Replace(string(data), `"acKind":"PodManifest"`, `"acKind":"PodManifest","ACKind":"PodManifest"`, 1)
				if repeated == string(data) {
					t.Fatalf("no \"acKind\" member in %s", data)
				}
				mustWrite(t, path, repeated)
			},
			wantError: `member name "ACKind" at "/ACKind" repeats an earlier member name of its object, ignoring case: give each name once`,
		},
		{
			name: "newline in an environment value",
			configure: func(c *podConfig, _ string) {
				c.app().Environment = types.Environment{{Name: "A", Value: "one\ntwo"}}
			},
			wantError: `app "` + appName + `": environment variable "A": value contains a newline or NUL: fly keeps the app's environment for rkt enter as NAME=value lines, so remove the variable from the manifest`,
		},
		{
			// The kernel would take 4294967296 as gid 0, root.
			name:      "supplementary gid above the id range",
			configure: func(c *podConfig, _ string) { c.app().SupplementaryGIDs = []int{1 << 32} },
			wantError: "supplementary gid: 4294967296 is not a valid id (0 to 4294967294)",
		},
		{
			name: "empty volume uid above the id range",
			configure: func(c *podConfig, _ string) {
				uid, gid, mode := 1<<32+1000, 0, "0755"
				c.Pod.Volumes = []types.Volume{{Name: "data", Kind: "empty", Mode: &mode, UID: &uid, GID: &gid}}
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", "/data")}
			},
			wantError: `volume "data": uid: 4294968296 is not a valid id (0 to 4294967294)`,
		},
		{
			name: "empty volume negative gid",
			configure: func(c *podConfig, _ string) {
				uid, gid, mode := 0, -1, "0755"
				c.Pod.Volumes = []types.Volume{{Name: "data", Kind: "empty", Mode: &mode, UID: &uid, GID: &gid}}
				c.Pod.Apps[0].Mounts = []schema.Mount{mountOf("data", "/data")}
			},
			wantError: `volume "data": gid: -1 is not a valid id (0 to 4294967294)`,
		},
	}
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(scratch, string(rune('a'+i)))
			mustMkdir(t, volumeDir(dir))
			mustWrite(t, filepath.Join(dir, "file"), "x")
			p := newPod(t, dir, "inspect", func(c *podConfig) {
				if tc.configure != nil {
					tc.configure(c, dir)
				}
			})
			if tc.setup != nil {
				tc.setup(t, p)
			}
			res := p.runWith(t, tc.opts)
			if res.code != 254 {
				t.Errorf("exit status = %d, want 254; stdout %q stderr %q", res.code, res.stdout, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing: the app must not start", res.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1: %q", len(lines), res.stderr)
			}
			if !strings.HasPrefix(res.stderr, "run: ") {
				t.Errorf("stderr %q does not start with \"run: \"", res.stderr)
			}
			if !strings.Contains(res.stderr, tc.wantError) {
				t.Errorf("stderr %q does not contain %q", res.stderr, tc.wantError)
			}
		})
	}
}
