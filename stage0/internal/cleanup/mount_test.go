package cleanup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/internal/testns"
)

func mustMount(t *testing.T, source, target, fstype string, flags uintptr) {
	t.Helper()
	if _, err := os.Lstat(target); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount(source, target, fstype, flags, ""); err != nil {
		t.Fatalf("mount %q on %q (flags %#x): %v", source, target, flags, err)
	}
}

func mountPointsUnder(t *testing.T, dir string) []string {
	t.Helper()
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	var points []string
	for _, m := range mountinfo.Under(mounts, dir) {
		points = append(points, m.MountPoint)
	}
	return points
}

func isMountPoint(t *testing.T, path string) bool {
	t.Helper()
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	return mountinfo.IsMountPoint(mounts, path)
}

// podWithHostVolume lays out a fake pod directory whose name has a space
// and a tab, and a host volume on the same file system with a nested tmpfs
// that is shared, as fly leaves it: plain and recursive bind mounts of the
// volume, a tmpfs on the app's /tmp and a file bind mount.
func podWithHostVolume(t *testing.T, scratch string) (pod, volume string) {
	t.Helper()
	volume = filepath.Join(scratch, "host volume")
	writeFile(t, filepath.Join(volume, "data"), "volume data")
	// Make the volume a shared mount with a nested mount, as fly's
	// make-rshared leaves the host's /dev with /dev/pts. Binding it into the
	// pod creates peers, and unmounting the pod's copy of the nested mount
	// without making it private first would unmount the host's too.
	mustMount(t, volume, volume, "", unix.MS_BIND)
	mustMount(t, "", volume, "", unix.MS_SHARED)
	nested := filepath.Join(volume, "nested")
	mustMount(t, "tmpfs", nested, "tmpfs", 0)
	writeFile(t, filepath.Join(nested, "inner"), "nested data")

	pod = filepath.Join(scratch, "pods", "run", "pod with space\tand tab")
	rootfs := filepath.Join(pod, "stage1", "rootfs", "opt", "stage2", "app", "rootfs")
	writeFile(t, filepath.Join(rootfs, "etc", "hosts"), "pod hosts")
	mustMount(t, volume, filepath.Join(rootfs, "vol"), "", unix.MS_BIND)
	mustMount(t, volume, filepath.Join(rootfs, "rvol"), "", unix.MS_BIND|unix.MS_REC)
	mustMount(t, "tmpfs", filepath.Join(rootfs, "tmp"), "tmpfs", 0)
	writeFile(t, filepath.Join(scratch, "host-file"), "host file")
	mustMount(t, filepath.Join(scratch, "host-file"), filepath.Join(rootfs, "etc", "hosts"), "", unix.MS_BIND)
	// A second mount stacked on the same target.
	mustMount(t, "tmpfs", filepath.Join(rootfs, "tmp"), "tmpfs", 0)
	return pod, volume
}

func TestDeletePodKeepsHostVolume(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	pod, volume := podWithHostVolume(t, scratch)
	if n := len(mountPointsUnder(t, pod)); n < 5 {
		t.Fatalf("fake pod has %d mounts, want at least 5", n)
	}

	err := DeletePod(Pod{Dir: pod, UUID: "test"}, Options{})
	if err != nil {
		t.Fatalf("DeletePod: %v", err)
	}

	assertGone(t, pod)
	if points := mountPointsUnder(t, filepath.Dir(pod)); len(points) != 0 {
		t.Errorf("mounts left below the pods dir: %q", points)
	}
	assertContent(t, filepath.Join(volume, "data"), "volume data")
	assertContent(t, filepath.Join(volume, "nested", "inner"), "nested data")
	assertContent(t, filepath.Join(scratch, "host-file"), "host file")
	if !isMountPoint(t, filepath.Join(volume, "nested")) {
		t.Error("the host volume's nested tmpfs was unmounted")
	}
}

func TestRemoveTreeStopsAtSameFilesystemBind(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	volume := filepath.Join(scratch, "volume")
	writeFile(t, filepath.Join(volume, "data"), "volume data")
	pod := filepath.Join(scratch, "pod")
	writeFile(t, filepath.Join(pod, "a-first"), "x")
	mustMount(t, volume, filepath.Join(pod, "m", "vol"), "", unix.MS_BIND)
	t.Cleanup(func() {
		if err := unix.Unmount(filepath.Join(pod, "m", "vol"), unix.MNT_DETACH); err != nil {
			t.Errorf("unmount test bind mount: %v", err)
		}
	})

	var podStat, volStat unix.Stat_t
	if err := unix.Stat(pod, &podStat); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(filepath.Join(pod, "m", "vol"), &volStat); err != nil {
		t.Fatal(err)
	}
	if podStat.Dev != volStat.Dev {
		t.Fatalf("bind mount has st_dev %d, pod %d: the test needs one file system", volStat.Dev, podStat.Dev)
	}

	err := RemoveTree(pod)
	if !errors.Is(err, ErrMountPoint) {
		t.Fatalf("RemoveTree: err = %v, want ErrMountPoint", err)
	}
	assertContent(t, filepath.Join(volume, "data"), "volume data")
	assertContent(t, filepath.Join(pod, "m", "vol", "data"), "volume data")
}

func TestRemoveTreeRejectsMountAtDir(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	// A scratch directory on the same file system, bound onto the pod
	// directory after the caller read mountinfo.
	volume := filepath.Join(scratch, "volume")
	writeFile(t, filepath.Join(volume, "data"), "volume data")
	writeFile(t, filepath.Join(volume, "sub", "inner"), "inner data")
	pod := filepath.Join(scratch, "pods", "exited-garbage", "pod")
	writeFile(t, filepath.Join(pod, "pod"), "{}")
	mustMount(t, volume, pod, "", unix.MS_BIND)
	t.Cleanup(func() {
		if err := unix.Unmount(pod, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount test bind mount: %v", err)
		}
	})

	err := RemoveTree(pod)
	if !errors.Is(err, ErrMountPoint) {
		t.Fatalf("RemoveTree: err = %v, want ErrMountPoint", err)
	}
	if !strings.Contains(err.Error(), pod) {
		t.Errorf("error %q does not name the pod directory %s", err, pod)
	}
	assertContent(t, filepath.Join(volume, "data"), "volume data")
	assertContent(t, filepath.Join(volume, "sub", "inner"), "inner data")
	if !isMountPoint(t, pod) {
		t.Error("the bind mount on the pod directory is gone")
	}
}

func TestDeletePodMountAfterSnapshot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	volume := filepath.Join(scratch, "volume")
	writeFile(t, filepath.Join(volume, "data"), "volume data")
	pod := filepath.Join(scratch, "pods", "exited-garbage", "pod")
	writeFile(t, filepath.Join(pod, "pod"), "{}")
	snapshot, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	mustMount(t, volume, pod, "", unix.MS_BIND)
	t.Cleanup(func() {
		if err := unix.Unmount(pod, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount test bind mount: %v", err)
		}
	})

	err = DeletePod(Pod{Dir: pod, UUID: "test"}, Options{Mounts: snapshot})
	if !errors.Is(err, ErrMountPoint) {
		t.Fatalf("DeletePod: err = %v, want ErrMountPoint", err)
	}
	assertContent(t, filepath.Join(volume, "data"), "volume data")
}

func TestUnmountAllDetachesBusyMount(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	pod := filepath.Join(scratch, "pod")
	target := filepath.Join(pod, "busy")
	mustMount(t, "tmpfs", target, "tmpfs", 0)
	writeFile(t, filepath.Join(target, "open"), "x")
	f, err := os.Open(filepath.Join(target, "open"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if err := UnmountAll(pod, nil); err != nil {
		t.Fatalf("UnmountAll: %v", err)
	}
	if points := mountPointsUnder(t, pod); len(points) != 0 {
		t.Errorf("mounts left: %q", points)
	}
}

func TestUnmountAllIgnoresSymlinkTrap(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	// A host mount outside the pod that a symlink inside the pod points at.
	hostMount := filepath.Join(scratch, "host-mount")
	mustMount(t, "tmpfs", hostMount, "tmpfs", 0)
	pod := filepath.Join(scratch, "pod")
	mustMount(t, "tmpfs", filepath.Join(pod, "m"), "tmpfs", 0)
	if err := os.Symlink(hostMount, filepath.Join(pod, "link")); err != nil {
		t.Fatal(err)
	}

	if err := UnmountAll(pod, nil); err != nil {
		t.Fatalf("UnmountAll: %v", err)
	}
	if !isMountPoint(t, hostMount) {
		t.Error("the host mount outside the pod was unmounted")
	}
}

func TestDeletePodRefusesWhenUnmountFails(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	volume := filepath.Join(scratch, "volume")
	writeFile(t, filepath.Join(volume, "data"), "volume data")
	pod := filepath.Join(scratch, "pod")
	stuck := filepath.Join(pod, "rootfs", "stuck")
	mustMount(t, volume, stuck, "", unix.MS_BIND)
	mustMount(t, "tmpfs", filepath.Join(pod, "rootfs", "tmp"), "tmpfs", 0)
	writeFile(t, filepath.Join(pod, "pod"), "{}")

	detachFunc = func(m mountinfo.Mount, target string) error {
		if strings.HasSuffix(m.MountPoint, "/stuck") {
			return unix.EPERM
		}
		return detach(m, target)
	}
	t.Cleanup(func() { detachFunc = detach })

	err := DeletePod(Pod{Dir: pod, UUID: "test"}, Options{})
	if err == nil {
		t.Fatal("DeletePod succeeded with a mount that cannot be unmounted")
	}
	assertContent(t, filepath.Join(volume, "data"), "volume data")
	assertContent(t, filepath.Join(pod, "pod"), "{}")
	if !isMountPoint(t, stuck) {
		t.Error("the stuck mount is gone, so the test did not simulate a failure")
	}

	// The check after unmounting lists what is left.
	err = CheckNoMounts(pod)
	if !errors.Is(err, ErrMountsRemain) {
		t.Errorf("CheckNoMounts: err = %v, want ErrMountsRemain", err)
	}
	if err != nil && !strings.Contains(err.Error(), "stuck") {
		t.Errorf("CheckNoMounts error %q does not name the stuck mount", err)
	}
}

func TestDeletePodWithSnapshot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	before, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	pod, volume := podWithHostVolume(t, scratch)
	after, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}

	// A snapshot from before the pod's mounts existed: DeletePod trusts it
	// and skips the unmounts, but the walker stops at the first mount.
	err = DeletePod(Pod{Dir: pod, UUID: "test"}, Options{Mounts: before})
	if !errors.Is(err, ErrMountPoint) {
		t.Fatalf("DeletePod with a stale snapshot: err = %v, want ErrMountPoint", err)
	}
	assertContent(t, filepath.Join(volume, "data"), "volume data")
	assertContent(t, filepath.Join(volume, "nested", "inner"), "nested data")
	assertContent(t, filepath.Join(scratch, "host-file"), "host file")

	// A snapshot that shows the mounts: they are unmounted and the pod
	// is deleted.
	if err := DeletePod(Pod{Dir: pod, UUID: "test"}, Options{Mounts: after}); err != nil {
		t.Fatalf("DeletePod with a current snapshot: %v", err)
	}
	assertGone(t, pod)
	if points := mountPointsUnder(t, filepath.Dir(pod)); len(points) != 0 {
		t.Errorf("mounts left below the pods dir: %q", points)
	}
	assertContent(t, filepath.Join(volume, "data"), "volume data")
	assertContent(t, filepath.Join(volume, "nested", "inner"), "nested data")
}
