package cleanup

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
	"github.com/rktfly/rkt/common/mountinfo"
)

// ErrMountsRemain is returned, wrapped, when mounts are still present below a
// directory after UnmountAll tried to remove them. Nothing is deleted then.
var ErrMountsRemain = errors.New("mounts remain below the directory")

// UnmountAll unmounts every mount at or below dir and then reads mountinfo
// again to check that none is left.
//
// A pod's app rootfs contains recursive binds of the host's /dev, /proc and
// /sys, which fly made rshared first, so the pod's copies are peers of the
// host's mounts. Unmounting a mount propagates to the mounts at the same place
// under every peer and slave of its parent mount, so a mount is unmounted only
// when its parent lies outside dir or is not shared (detachable explains
// why). UnmountAll works in rounds. Each round takes
// the mounts that detachable selects, makes each of them and all mounts below
// it private (MS_REC|MS_PRIVATE also reaches mounts hidden under others), and
// only then detaches them (MNT_DETACH). If making a mount private fails,
// nothing of that round is unmounted and the error is returned. A shared
// mount that is hidden by a mount stacked on it can be neither reached nor
// safely uncovered, so UnmountAll fails then too.
//
// Each mount point is opened inside dir (symlinks resolved as if dir were
// "/"), checked to be the root of the mount that mountinfo lists, and then
// changed and detached through its /proc/self/fd path. So no symlink or
// rename inside the pod can redirect either step to a host mount.
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

	if err := unmountRounds(root, logger); err != nil {
		return fmt.Errorf("unmount below %s: %w", root, err)
	}
	return CheckNoMounts(root)
}

// unmountRounds reads mountinfo and detaches the mounts that detachable
// selects until nothing is mounted at or below root. A round that does not
// reduce the number of mounts is an error, so the loop ends after at most as
// many rounds as there were mounts.
func unmountRounds(root string, logger *log.Logger) error {
	previous := -1
	for {
		mounts, err := mountinfo.ReadSelf()
		if err != nil {
			return err
		}
		below := mountinfo.Under(mounts, root)
		if len(below) == 0 {
			return nil
		}
		if previous >= 0 && len(below) >= previous {
			return fmt.Errorf("%w: %d mounts before the last round and %d after it", ErrMountsRemain, previous, len(below))
		}
		previous = len(below)

		tops, err := detachable(below)
		if err != nil {
			return err
		}
		if err := detachTrees(root, tops, below, logger); err != nil {
			return err
		}
	}
}

// detachable returns the mounts of below that can be made private and
// detached now, each with every mount below it. A mount qualifies when no
// other mount of below covers it and its parent mount is outside below.
// Unmounting such a mount propagates only to copies of it under the peers of
// that outside parent, which lie at the same path below dir. When no mount
// qualifies, uncovered mounts whose parent is not shared qualify instead.
// A mount whose parent is shared never qualifies, because unmounting it
// would also unmount what its parent's peers, such as the host's /dev, have
// at the same place.
func detachable(below []mountinfo.Mount) ([]mountinfo.Mount, error) {
	byID := make(map[int]mountinfo.Mount, len(below))
	for _, m := range below {
		byID[m.ID] = m
	}

	var roots, unshared []mountinfo.Mount
	for _, m := range below {
		if covered(m, below, byID) {
			continue
		}
		parent, inside := byID[m.Parent]
		switch {
		case !inside || parent.ID == m.ID:
			roots = append(roots, m)
		case !parent.Shared():
			unshared = append(unshared, m)
		}
	}
	if len(roots) > 0 {
		return roots, nil
	}
	if len(unshared) > 0 {
		return outermost(unshared, byID), nil
	}

	points := make([]string, 0, len(below))
	for _, m := range below {
		points = append(points, fmt.Sprintf("%q", m.MountPoint))
	}
	return nil, fmt.Errorf("%w: each one is hidden by a mount stacked on it or has a shared parent, "+
		"so unmounting it would also unmount mounts of that parent's peers, such as the host's /dev "+
		"(the pod is kept, and a reboot removes its mounts): %s", ErrMountsRemain, strings.Join(points, ", "))
}

// covered reports whether another mount of below that is not an ancestor of m
// is mounted at m's mount point or at a directory above it. A lookup of m's
// mount point then ends in that other mount, not in m.
func covered(m mountinfo.Mount, below []mountinfo.Mount, byID map[int]mountinfo.Mount) bool {
	for _, other := range below {
		if other.ID == m.ID || !mountinfo.IsUnder(m.MountPoint, other.MountPoint) {
			continue
		}
		if !isAncestor(other.ID, m, byID) {
			return true
		}
	}
	return false
}

// isAncestor reports whether the mount with ID ancestor is on m's parent
// chain within byID. The walk takes at most len(byID) steps, so a parent
// cycle cannot loop forever.
func isAncestor(ancestor int, m mountinfo.Mount, byID map[int]mountinfo.Mount) bool {
	current := m
	for steps := 0; steps < len(byID); steps++ {
		parent, ok := byID[current.Parent]
		if !ok || parent.ID == current.ID {
			return false
		}
		if parent.ID == ancestor {
			return true
		}
		current = parent
	}
	return false
}

// outermost drops the mounts that have an ancestor among mounts, because
// detaching the ancestor detaches them too.
func outermost(mounts []mountinfo.Mount, byID map[int]mountinfo.Mount) []mountinfo.Mount {
	var kept []mountinfo.Mount
	for _, m := range mounts {
		nested := false
		for _, other := range mounts {
			if other.ID != m.ID && isAncestor(other.ID, m, byID) {
				nested = true
				break
			}
		}
		if !nested {
			kept = append(kept, m)
		}
	}
	return kept
}

// detachTrees opens and checks every mount of tops, makes each one and the
// mounts below it private, and then detaches them. It unmounts nothing
// unless all of tops were made private.
func detachTrees(root string, tops, below []mountinfo.Mount, logger *log.Logger) error {
	files := make([]*os.File, 0, len(tops))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, m := range tops {
		f, err := openMountRoot(root, m)
		if err != nil {
			return err
		}
		files = append(files, f)
	}

	for i, m := range tops {
		if err := makePrivateFunc(m, fdPath(files[i])); err != nil {
			return fmt.Errorf("make %s and the mounts below it private: %w", m.MountPoint, err)
		}
		logger.Printf("made %s and the %d mounts below it private", m.MountPoint, countBelow(m, below))
	}
	for i, m := range tops {
		if err := detachFunc(m, fdPath(files[i])); err != nil {
			return fmt.Errorf("unmount %s: %w", m.MountPoint, err)
		}
		logger.Printf("unmounted %s and the %d mounts below it", m.MountPoint, countBelow(m, below))
	}
	return nil
}

// openMountRoot opens m's mount point inside root with O_PATH and checks
// that the file opened is the root of m itself, not a directory of a mount
// stacked on m or one that a symlink led to.
func openMountRoot(root string, m mountinfo.Mount) (*os.File, error) {
	f, err := fsroot.OpenInRoot(root, pathInRoot(root, m.MountPoint), unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open mount point %s: %w", m.MountPoint, err)
	}
	if err := checkMountRoot(int(f.Fd()), m); err != nil {
		f.Close()
		return nil, fmt.Errorf("open mount point %s: %w", m.MountPoint, err)
	}
	return f, nil
}

// checkMountRoot returns an error unless fd lies on the mount with m's ID
// and, where the kernel reports it (Linux 5.8 and later), is that mount's
// root. On older kernels a non-root fd still fails safely later, because
// the kernel rejects a propagation change on a directory that is not a
// mount root (EINVAL).
func checkMountRoot(fd int, m mountinfo.Mount) error {
	var stx unix.Statx_t
	err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT, unix.STATX_TYPE|unix.STATX_MNT_ID, &stx)
	if err != nil {
		return fmt.Errorf("statx: %w", err)
	}
	mountID := stx.Mnt_id
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		id, err := identifyFd(fd)
		if err != nil {
			return err
		}
		mountID = id.mountID
	}
	if mountID != uint64(m.ID) {
		return fmt.Errorf("found mount ID %d there instead of %d, so another mount covers it", mountID, m.ID)
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return fmt.Errorf("the path leads into mount ID %d but not to its root", m.ID)
	}
	return nil
}

// fdPath returns the /proc/self/fd path of f. mount(2) and umount2(2)
// follow this magic link to the mount that f was opened on, whatever the
// path names now.
func fdPath(f *os.File) string {
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd())
}

// countBelow counts the mounts of below that have m as an ancestor.
func countBelow(m mountinfo.Mount, below []mountinfo.Mount) int {
	byID := make(map[int]mountinfo.Mount, len(below))
	for _, other := range below {
		byID[other.ID] = other
	}
	n := 0
	for _, other := range below {
		if isAncestor(m.ID, other, byID) {
			n++
		}
	}
	return n
}

// makePrivateFunc and detachFunc are the two mount operations of a round,
// replaced in tests to simulate a failure. target is the /proc/self/fd path
// of the mount's root.
var (
	makePrivateFunc = makePrivate
	detachFunc      = detach
)

func makePrivate(_ mountinfo.Mount, target string) error {
	return unix.Mount("", target, "", unix.MS_PRIVATE|unix.MS_REC, "")
}

// detach unmounts the mount at target with everything below it. The O_PATH
// fd behind target holds a reference to the mount, so a plain unmount would
// fail with EBUSY: the mount is detached lazily and is freed once that fd and
// any file still open on it are closed. EINVAL means that the mount was
// already unmounted, and the next round's mountinfo shows what is left.
func detach(_ mountinfo.Mount, target string) error {
	err := unix.Unmount(target, unix.MNT_DETACH)
	if err == nil || errors.Is(err, unix.EINVAL) {
		return nil
	}
	return err
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

// pathInRoot turns a mount point at or below root into the same path as seen
// from inside root.
func pathInRoot(root, mountPoint string) string {
	rel := strings.TrimPrefix(mountPoint, root)
	if rel == "" {
		return "/"
	}
	return rel
}
