package cleanup

import (
	"errors"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/mountinfo"
)

// ErrMountsRemain is returned, wrapped, when mounts are still present below a
// directory after UnmountAll tried to remove them. Nothing is deleted then.
var ErrMountsRemain = errors.New("mounts remain below the directory")

// UnmountAll unmounts every mount at or below dir, children first, and then
// reads mountinfo again to check that none is left.
//
// The unmounts run on a dedicated OS thread that is chrooted into dir, so a
// mount path is resolved inside dir: a symlink that an app left in its rootfs
// cannot redirect an unmount or a propagation change to the host's own
// mounts. Mounts in a shared or slave peer group are made private first,
// parents first, so that unmounting a pod's copy of /dev/pts cannot propagate
// to the host's /dev/pts. A busy mount is detached lazily (MNT_DETACH).
func UnmountAll(dir string, logger *log.Logger) error {
	return unmountAll(dir, nil, logger)
}

// unmountAll is UnmountAll that first looks for mounts below dir in
// snapshot, when it is not nil, and returns at once if there are none.
func unmountAll(dir string, snapshot []mountinfo.Mount, logger *log.Logger) error {
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	root, err := canonicalDir(dir)
	if err != nil {
		return err
	}
	if root == "/" {
		return fmt.Errorf("unmount below %s: refusing to unmount the whole file system tree", dir)
	}
	if snapshot != nil && len(mountinfo.Under(snapshot, root)) == 0 {
		return nil
	}

	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		return fmt.Errorf("unmount below %s: %w", root, err)
	}
	below := mountinfo.Under(mounts, root)
	if len(below) == 0 {
		return nil
	}
	mountinfo.SortChildrenFirst(below)

	if err := unmountInRoot(root, below, logger); err != nil {
		return fmt.Errorf("unmount below %s: %w", root, err)
	}
	return CheckNoMounts(root)
}

// CheckNoMounts returns an error wrapping ErrMountsRemain that lists the
// mount points at or below dir, or nil when there are none.
func CheckNoMounts(dir string) error {
	root, err := canonicalDir(dir)
	if err != nil {
		return err
	}
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		return fmt.Errorf("check mounts below %s: %w", root, err)
	}
	remaining := mountinfo.Under(mounts, root)
	if len(remaining) == 0 {
		return nil
	}
	points := make([]string, 0, len(remaining))
	for _, m := range remaining {
		points = append(points, fmt.Sprintf("%q", m.MountPoint))
	}
	return fmt.Errorf("%s: %w: %s", root, ErrMountsRemain, strings.Join(points, ", "))
}

// canonicalDir makes dir absolute and resolves its symlinks, because
// mountinfo shows mount points as canonical paths.
func canonicalDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	return resolved, nil
}

// unmountInRoot runs unmountChrooted on a goroutine locked to an OS thread
// other than the main thread. The goroutine returns without unlocking, so
// the Go runtime terminates that thread instead of reusing it with a changed
// root. The main thread must never be chrooted: the kernel shows
// /proc/self/mountinfo relative to the root of the thread group leader, and
// the runtime keeps a locked main thread alive after its goroutine exits.
func unmountInRoot(root string, mounts []mountinfo.Mount, logger *log.Logger) error {
	result := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			result <- unmountChrooted(root, mounts, logger)
			return
		}
		// This goroutine holds the main thread, so a goroutine that locks a
		// thread now gets another one.
		inner := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				runtime.UnlockOSThread()
				inner <- errors.New("no thread other than the main thread to chroot")
				return
			}
			inner <- unmountChrooted(root, mounts, logger)
		}()
		err := <-inner
		runtime.UnlockOSThread()
		result <- err
	}()
	return <-result
}

// unmountChrooted must run on a locked OS thread that is discarded afterwards.
// mounts are sorted children first.
func unmountChrooted(root string, mounts []mountinfo.Mount, logger *log.Logger) error {
	// CLONE_FS gives this thread its own root and cwd, so the chroot below
	// does not change how the other threads of the process resolve paths.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare file system attributes: %w", err)
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir / in %s: %w", root, err)
	}

	// Parents first, so that a child's propagation is changed after the
	// mount it sits on has already left its peer group.
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		if !m.Shared() && !m.Master() {
			continue
		}
		inside := pathInRoot(root, m.MountPoint)
		err := unix.Mount("", inside, "", unix.MS_PRIVATE|unix.MS_REC, "")
		if err != nil {
			// An unmount may still succeed, and the final mountinfo check
			// catches what it leaves behind.
			logger.Printf("make %s rprivate: %v", m.MountPoint, err)
		}
	}

	var errs []error
	for _, m := range mounts {
		inside := pathInRoot(root, m.MountPoint)
		if err := unmountFunc(inside); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m.MountPoint, err))
			continue
		}
		logger.Printf("unmounted %s", m.MountPoint)
	}
	return errors.Join(errs...)
}

// unmountFunc is the unmount step, replaced in tests to simulate a mount
// that cannot be unmounted.
var unmountFunc = unmountOne

// unmountOne unmounts the mount at path, lazily if it is busy. UMOUNT_NOFOLLOW
// keeps a symlink at the last component from being followed. A path that is
// no longer a mount point (EINVAL) or no longer exists (ENOENT) was removed
// along with a parent or by propagation, which is the wanted outcome.
func unmountOne(path string) error {
	err := unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH)
	}
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// pathInRoot turns a mount point at or below root into the same path as seen
// from inside a chroot at root.
func pathInRoot(root, mountPoint string) string {
	rel := strings.TrimPrefix(mountPoint, root)
	if rel == "" {
		return "/"
	}
	return rel
}
