package cleanup

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("host file %s: %v", path, err)
		return
	}
	if string(got) != want {
		t.Errorf("host file %s = %q, want %q", path, got, want)
	}
}

func assertGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists (lstat: %v)", path, err)
	}
}

func TestRemoveTreeNestedDirectories(t *testing.T) {
	base := t.TempDir()
	pod := filepath.Join(base, "pod")
	writeFile(t, filepath.Join(pod, "a", "b", "c", "file"), "x")
	writeFile(t, filepath.Join(pod, "top"), "y")
	if err := os.Mkdir(filepath.Join(pod, "empty"), 0o500); err != nil {
		t.Fatal(err)
	}

	if err := RemoveTree(pod); err != nil {
		t.Fatalf("RemoveTree: %v", err)
	}
	assertGone(t, pod)
}

func TestRemoveTreeSymlinkToOutside(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	writeFile(t, filepath.Join(outside, "keep"), "host data")
	pod := filepath.Join(base, "pod")
	writeFile(t, filepath.Join(pod, "rootfs", "etc", "hosts"), "pod")
	if err := os.Symlink(outside, filepath.Join(pod, "rootfs", "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../outside/keep", filepath.Join(pod, "rootfs", "etc", "relative")); err != nil {
		t.Fatal(err)
	}

	if err := RemoveTree(pod); err != nil {
		t.Fatalf("RemoveTree: %v", err)
	}
	assertGone(t, pod)
	assertContent(t, filepath.Join(outside, "keep"), "host data")
}

func TestRemoveTreeMissingDirectory(t *testing.T) {
	if err := RemoveTree(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("RemoveTree of a missing directory: %v", err)
	}
}

func TestRemoveTreeRejectsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	writeFile(t, path, "data")
	if err := RemoveTree(path); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("RemoveTree of a file: err = %v, want ENOTDIR", err)
	}
	assertContent(t, path, "data")
}

func TestRemoveTreeRejectsRootPaths(t *testing.T) {
	for _, path := range []string{"/", ".", ".."} {
		t.Run(path, func(t *testing.T) {
			if err := RemoveTree(path); err == nil {
				t.Errorf("RemoveTree(%q) succeeded, want an error", path)
			}
		})
	}
}

func TestMountIDByHandleMatchesStatx(t *testing.T) {
	dir := t.TempDir()
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, 0, unix.STATX_MNT_ID, &stx); err != nil {
		t.Fatal(err)
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		t.Skip("kernel statx has no STATX_MNT_ID to compare with")
	}
	got, err := mountIDByHandle(unix.AT_FDCWD, dir, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("file system of %s has no file handles", dir)
	}
	if err != nil {
		t.Fatalf("mountIDByHandle: %v", err)
	}
	if got != stx.Mnt_id {
		t.Errorf("mount ID by handle = %d, statx = %d", got, stx.Mnt_id)
	}
}

func TestPathInRoot(t *testing.T) {
	tests := []struct {
		name, root, mountPoint, want string
	}{
		{name: "root itself", root: "/d/pod", mountPoint: "/d/pod", want: "/"},
		{name: "child", root: "/d/pod", mountPoint: "/d/pod/stage1/rootfs", want: "/stage1/rootfs"},
		{name: "space and tab", root: "/d/a b", mountPoint: "/d/a b/x\ty", want: "/x\ty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pathInRoot(tt.root, tt.mountPoint); got != tt.want {
				t.Errorf("pathInRoot(%q, %q) = %q, want %q", tt.root, tt.mountPoint, got, tt.want)
			}
		})
	}
}
