package lifecycle

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/internal/aciwriter"
	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
)

// hostSubmounts are the mounts below /dev and /sys that the isolated test
// adds to its decoy /dev and fresh /sys, standing in for the host's.
var hostSubmounts = []string{"/dev/shm", "/dev/pts", "/sys/fs/cgroup", "/sys/fs/cgroup/memory"}

// mountHostSubmounts mounts a tmpfs at each of hostSubmounts and returns
// their mount IDs by mount point. fly makes /dev and /sys rshared itself.
func mountHostSubmounts(t *testing.T) map[string]int {
	t.Helper()
	for _, point := range hostSubmounts {
		if err := os.MkdirAll(point, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("host-"+filepath.Base(point), point, "tmpfs", 0, ""); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", point, err)
		}
	}
	return testns.MountIDs(t, hostSubmounts...)
}

// writeDevSymlinkImage writes an ACI that runs /true from the "true" test
// image and whose rootfs/dev is a symlink to /tmp/x, and returns its path.
// fly then binds the host's /dev at /tmp/x, and its tmpfs on /tmp hides
// that bind.
func writeDevSymlinkImage(t *testing.T, dir string) string {
	t.Helper()
	rootfs := filepath.Join(dir, "dev-symlink-rootfs")
	for _, sub := range []string{"proc", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/tmp/x", filepath.Join(rootfs, "dev")); err != nil {
		t.Fatal(err)
	}
	manifest := extractTrueImage(t, rootfs)

	var im map[string]any
	if err := json.Unmarshal(manifest, &im); err != nil {
		t.Fatalf("parse manifest of the true image: %v", err)
	}
	im["name"] = "example.com/dev-symlink"
	manifest, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, "dev-symlink.aci")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := aciwriter.Write(f, manifest, rootfs, aciwriter.Options{}); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// extractTrueImage copies rootfs/true of the "true" test image into rootfs
// and returns the image's manifest.
func extractTrueImage(t *testing.T, rootfs string) []byte {
	t.Helper()
	f, err := os.Open(testbuild.Image(t, "true"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stream, err := aciwriter.Decompress(f)
	if err != nil {
		t.Fatal(err)
	}
	var manifest []byte
	foundTrue := false
	tr := tar.NewReader(stream)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch hdr.Name {
		case "manifest":
			if manifest, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		case "rootfs/true":
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rootfs, "true"), data, 0o755); err != nil {
				t.Fatal(err)
			}
			foundTrue = true
		}
	}
	if manifest == nil || !foundTrue {
		t.Fatalf("true image lacks its manifest or rootfs/true (manifest %t, true %t)", manifest != nil, foundTrue)
	}
	return manifest
}

func TestGCKeepsHostMountsHiddenByPod(t *testing.T) {
	tests := []struct {
		name string
		// args returns the rkt run arguments after --stage1-path.
		args func(t *testing.T, e *env) []string
	}{
		{
			name: "volume over dev",
			args: func(t *testing.T, e *env) []string {
				return []string{"--volume=dev,kind=host,source=/dev", "--mount=volume=dev,target=/dev",
					e.busybox, "--exec", "/bin/true"}
			},
		},
		{
			name: "recursive volume over sys",
			args: func(t *testing.T, e *env) []string {
				return []string{"--volume=sys,kind=host,source=/sys,recursive=true", "--mount=volume=sys,target=/sys",
					e.busybox, "--exec", "/bin/true"}
			},
		},
		{
			name: "volume at rootfs",
			args: func(t *testing.T, e *env) []string {
				// rkt run fails with 254 here, after the mounts are made.
				return []string{"--volume=v,kind=host,source=" + e.volume, "--mount=volume=v,target=/",
					e.busybox, "--exec", "/bin/true"}
			},
		},
		{
			name: "dev symlink into tmp",
			args: func(t *testing.T, e *env) []string {
				return []string{writeDevSymlinkImage(t, e.scratch)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scratch, inside := testns.Isolate(t)
			if !inside {
				return
			}
			hostIDs := mountHostSubmounts(t)
			e := newEnv(t, scratch)
			args := append([]string{"run", "--stage1-path=" + e.stage1}, tt.args(t, e)...)
			stdout, stderr, code := e.rkt(args...)
			t.Logf("rkt run exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			if len(mountinfo.Under(readMounts(t), e.data)) == 0 {
				t.Fatal("rkt run left no mounts below the data dir, so gc has nothing to unmount")
			}
			afterRun := testns.MountsOutside(t, e.data)

			stdout, stderr, code = e.rkt("--debug", "gc", "--grace-period=0s")
			if code != 0 {
				t.Errorf("gc exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}

			testns.AssertStillMounted(t, hostIDs)
			if afterGC := testns.MountsOutside(t, e.data); !reflect.DeepEqual(afterGC, afterRun) {
				t.Errorf("gc changed mounts outside the data dir\nafter run: %q\nafter gc:  %q", afterRun, afterGC)
			}
			e.checkHostIntact()
			pods, err := filepath.Glob(filepath.Join(e.data, "pods", "*", "*"))
			if err != nil {
				t.Fatal(err)
			}
			if len(pods) != 0 {
				t.Errorf("pod directories left after gc: %q\ngc stderr: %s", pods, stderr)
			}
		})
	}
}

func readMounts(t *testing.T) []mountinfo.Mount {
	t.Helper()
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	return mounts
}
