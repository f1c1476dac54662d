package cleanup

import (
	"errors"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/internal/testns"
)

// shareHostDevSys mounts in the decoy /dev and fresh /sys of the isolated
// test the submounts that a host has: /dev/shm, /dev/pts, /sys/fs/cgroup and
// a hierarchy below it. It then makes /dev and /sys rshared, as fly does
// before it binds them into a pod, and returns the mount points it added.
func shareHostDevSys(t *testing.T) []string {
	t.Helper()
	points := []string{"/dev/shm", "/dev/pts", "/sys/fs/cgroup", "/sys/fs/cgroup/memory"}
	for _, point := range points {
		mustMount(t, "host-"+filepath.Base(point), point, "tmpfs", 0)
	}
	mustMount(t, "", "/dev", "", unix.MS_REC|unix.MS_SHARED)
	mustMount(t, "", "/sys", "", unix.MS_REC|unix.MS_SHARED)
	return points
}

func testLogger(t *testing.T) *log.Logger {
	return log.New(testWriter{t: t}, "", 0)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// appRootfs returns the app rootfs of a fake overlay-mode pod and mounts a
// tmpfs as its stage1 rootfs and another as the app rootfs, standing in for
// fly's two overlays.
func appRootfs(t *testing.T, pod string) string {
	t.Helper()
	stage1 := filepath.Join(pod, "stage1", "rootfs")
	mustMount(t, "stage1-overlay", stage1, "tmpfs", 0)
	app := filepath.Join(stage1, "opt", "stage2", "app", "rootfs")
	mustMount(t, "app-overlay", app, "tmpfs", 0)
	return app
}

// bindDevSys binds /dev and /sys recursively at rootfs's dev and sys
// and mounts a tmpfs at its tmp, as fly does.
func bindDevSys(t *testing.T, rootfs string) {
	t.Helper()
	mustMount(t, "/dev", filepath.Join(rootfs, "dev"), "", unix.MS_BIND|unix.MS_REC)
	mustMount(t, "/sys", filepath.Join(rootfs, "sys"), "", unix.MS_BIND|unix.MS_REC)
	mustMount(t, "tmpfs", filepath.Join(rootfs, "tmp"), "tmpfs", 0)
}

func TestDeletePodKeepsSharedHostMounts(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, scratch, pod string)
	}{
		{
			name: "volume over dev",
			build: func(t *testing.T, scratch, pod string) {
				app := appRootfs(t, pod)
				bindDevSys(t, app)
				// --volume dev,kind=host,source=/dev --mount volume=dev,target=/dev
				mustMount(t, "/dev", filepath.Join(app, "dev"), "", unix.MS_BIND)
			},
		},
		{
			name: "recursive volume over sys",
			build: func(t *testing.T, scratch, pod string) {
				app := appRootfs(t, pod)
				bindDevSys(t, app)
				mustMount(t, "/sys", filepath.Join(app, "sys"), "", unix.MS_BIND|unix.MS_REC)
			},
		},
		{
			name: "tmpfs hides dev bind",
			build: func(t *testing.T, scratch, pod string) {
				// The image's /dev is a symlink to /tmp/x: fly binds /dev
				// there, and its tmpfs on /tmp then hides that bind.
				app := appRootfs(t, pod)
				mustMount(t, "/dev", filepath.Join(app, "tmp", "x"), "", unix.MS_BIND|unix.MS_REC)
				mustMount(t, "/sys", filepath.Join(app, "sys"), "", unix.MS_BIND|unix.MS_REC)
				mustMount(t, "tmpfs", filepath.Join(app, "tmp"), "tmpfs", 0)
			},
		},
		{
			name: "volume at rootfs",
			build: func(t *testing.T, scratch, pod string) {
				app := appRootfs(t, pod)
				bindDevSys(t, app)
				// --mount volume=v,target=/ stacks the volume on the rootfs.
				volume := filepath.Join(scratch, "vol", "d1")
				if err := os.MkdirAll(volume, 0o755); err != nil {
					t.Fatal(err)
				}
				mustMount(t, volume, app, "", unix.MS_BIND)
			},
		},
		{
			name: "no overlay",
			build: func(t *testing.T, scratch, pod string) {
				// Without overlays the binds are mounted on the data dir's
				// file system, so their parent lies outside the pod.
				bindDevSys(t, filepath.Join(pod, "stage1", "rootfs", "opt", "stage2", "app", "rootfs"))
			},
		},
		{
			name: "mount hidden by outer root",
			build: func(t *testing.T, scratch, pod string) {
				// A root mounted below another root's mount point before that
				// one: it is hidden until the outer root is gone.
				app := filepath.Join(pod, "stage1", "rootfs", "opt", "stage2", "app", "rootfs")
				mustMount(t, "/dev", filepath.Join(app, "dev"), "", unix.MS_BIND|unix.MS_REC)
				mustMount(t, "outer", filepath.Join(pod, "stage1", "rootfs"), "tmpfs", 0)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scratch, inside := testns.Isolate(t)
			if !inside {
				return
			}
			points := shareHostDevSys(t)
			hostIDs := testns.MountIDs(t, points...)
			pod := filepath.Join(scratch, "pods", "exited-garbage", "pod")
			writeFile(t, filepath.Join(pod, "pod"), "{}")
			tt.build(t, scratch, pod)
			if len(mountPointsUnder(t, pod)) == 0 {
				t.Fatal("the fake pod has no mounts")
			}
			before := testns.MountsOutside(t, pod)

			if err := DeletePod(Pod{Dir: pod, UUID: "test"}, Options{Log: testLogger(t)}); err != nil {
				t.Fatalf("DeletePod: %v", err)
			}

			testns.AssertStillMounted(t, hostIDs)
			if after := testns.MountsOutside(t, pod); !reflect.DeepEqual(after, before) {
				t.Errorf("mounts outside the pod changed\nbefore: %q\nafter:  %q", before, after)
			}
			if left := mountPointsUnder(t, pod); len(left) != 0 {
				t.Errorf("mounts left below the pod: %q", left)
			}
			assertGone(t, pod)
		})
	}
}

func TestDeletePodRefusesHiddenSharedRoot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	points := shareHostDevSys(t)
	hostIDs := testns.MountIDs(t, points...)
	pod := filepath.Join(scratch, "pod")
	writeFile(t, filepath.Join(pod, "pod"), "{}")
	// Without overlays, a volume stacked on the /dev bind hides the bind,
	// which is shared with the host's /dev and cannot be made private.
	dev := filepath.Join(pod, "rootfs", "dev")
	mustMount(t, "/dev", dev, "", unix.MS_BIND|unix.MS_REC)
	mustMount(t, "/dev", dev, "", unix.MS_BIND)
	podMounts := mountPointsUnder(t, pod)
	before := testns.MountsOutside(t, pod)

	err := DeletePod(Pod{Dir: pod, UUID: "test"}, Options{Log: testLogger(t)})
	if !errors.Is(err, ErrMountsRemain) {
		t.Fatalf("DeletePod: err = %v, want ErrMountsRemain", err)
	}
	testns.AssertStillMounted(t, hostIDs)
	if after := testns.MountsOutside(t, pod); !reflect.DeepEqual(after, before) {
		t.Errorf("mounts outside the pod changed\nbefore: %q\nafter:  %q", before, after)
	}
	if left := mountPointsUnder(t, pod); !reflect.DeepEqual(left, podMounts) {
		t.Errorf("pod mounts = %q, want them all kept: %q", left, podMounts)
	}
	assertContent(t, filepath.Join(pod, "pod"), "{}")
}

func TestDeletePodUnmountsNothingWhenPrivateFails(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	points := shareHostDevSys(t)
	hostIDs := testns.MountIDs(t, points...)
	pod := filepath.Join(scratch, "pod")
	writeFile(t, filepath.Join(pod, "pod"), "{}")
	rootfs := filepath.Join(pod, "rootfs")
	bindDevSys(t, rootfs)
	podMounts := mountPointsUnder(t, pod)

	makePrivateFunc = func(m mountinfo.Mount, target string) error {
		if strings.HasSuffix(m.MountPoint, "/sys") {
			return unix.EPERM
		}
		return makePrivate(m, target)
	}
	t.Cleanup(func() { makePrivateFunc = makePrivate })

	err := DeletePod(Pod{Dir: pod, UUID: "test"}, Options{Log: testLogger(t)})
	if !errors.Is(err, unix.EPERM) {
		t.Fatalf("DeletePod: err = %v, want EPERM", err)
	}
	testns.AssertStillMounted(t, hostIDs)
	if left := mountPointsUnder(t, pod); !reflect.DeepEqual(left, podMounts) {
		t.Errorf("pod mounts = %q, want them all kept: %q", left, podMounts)
	}
	assertContent(t, filepath.Join(pod, "pod"), "{}")
}

func TestOpenMountRootRejectsCoveredMount(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	pod := filepath.Join(scratch, "pod")
	target := filepath.Join(pod, "m")
	mustMount(t, "lower", target, "tmpfs", 0)
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	lower := mountinfo.Under(mounts, target)
	if len(lower) != 1 {
		t.Fatalf("mounts at %s: %d, want 1", target, len(lower))
	}
	mustMount(t, "upper", target, "tmpfs", 0)

	if f, err := openMountRoot(pod, lower[0]); err == nil {
		f.Close()
		t.Error("openMountRoot opened the lower of two stacked mounts")
	}
}

func TestOpenMountRootRejectsSymlink(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	hostMount := filepath.Join(scratch, "host-mount")
	mustMount(t, "host", hostMount, "tmpfs", 0)
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	host := mountinfo.Under(mounts, hostMount)[0]
	pod := filepath.Join(scratch, "pod")
	if err := os.MkdirAll(pod, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostMount, filepath.Join(pod, "link")); err != nil {
		t.Fatal(err)
	}
	// A mountinfo entry that names the symlink, as after a rename race.
	fake := host
	fake.MountPoint = filepath.Join(pod, "link")

	if f, err := openMountRoot(pod, fake); err == nil {
		f.Close()
		t.Error("openMountRoot followed a symlink to a mount outside the pod")
	}
	if !isMountPoint(t, hostMount) {
		t.Error("the host mount was unmounted")
	}
}
