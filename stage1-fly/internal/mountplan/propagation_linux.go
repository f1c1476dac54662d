package mountplan

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
	"github.com/rktfly/rkt/common/mount"
	"github.com/rktfly/rkt/common/mountinfo"
)

// parentGuard decides, before each new mount that Apply makes, whether the
// mount that contains its target must first become a slave. fly binds
// /dev, /proc and /sys after making them rshared, so the copies in the
// rootfs are peers of the host's mounts, and so is a volume whose source
// is shared. A new mount whose parent is such a copy propagates to the
// host. A slave parent still receives the host's mount events, but mounts
// made inside it, by the stage1 or later by the app, no longer reach the
// host. The guard always makes a copy of the host's /dev, /proc or /sys,
// or of one of their submounts, a slave. Any other shared copy becomes a
// slave for every mount except the bind of a user volume at its literal
// path (see slaveReason).
type parentGuard struct {
	rootfs *appRoot
	root   string
	podDir string
	logger *log.Logger
	// rootMountID is the mount that contains the rootfs directory. A
	// target in it needs no check, and the guard never changes it.
	rootMountID int
	// rootReal and podReal are root and podDir with symlinks resolved, as
	// mountinfo shows mount points. They are set on first use.
	rootReal, podReal string
}

func newParentGuard(rootfs *appRoot, podDir string, logger *log.Logger) (*parentGuard, error) {
	root := rootfs.Name()
	id, err := fdMountID(rootfs.Fd())
	if err != nil {
		return nil, fmt.Errorf("rootfs %s: %w", root, err)
	}
	if podDir == "" {
		podDir = root
	}
	return &parentGuard{rootfs: rootfs, root: root, podDir: podDir, logger: logger, rootMountID: id}, nil
}

// isolate makes the mount that contains target a slave when that mount
// lies strictly inside the rootfs, a mount event in it would reach a mount
// outside the pod directory, and slaveReason gives a reason. target is the
// open mount target of op, a bind or tmpfs mount that is about to be made.
// Only a target outside the rootfs's own mount costs a read of mountinfo.
func (g *parentGuard) isolate(target *os.File, op Op, trees *hostTrees) error {
	id, err := mountID(target)
	if err != nil {
		return fmt.Errorf("mount target %s: %w", target.Name(), err)
	}
	if id == g.rootMountID {
		return nil
	}
	// The new mount may land below a bind of the host's /dev, /proc or /sys,
	// so the binds' submounts are recorded now, before it exists.
	if err := trees.recordSubmounts(); err != nil {
		return err
	}

	if err := g.resolvePaths(); err != nil {
		return err
	}
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		return err
	}
	parent, ok := mountByID(mounts, id)
	if !ok {
		return fmt.Errorf("mount target %s: mount %d is not in /proc/self/mountinfo", target.Name(), id)
	}
	// A mount at or above the rootfs is never changed, because in copy mode
	// the rootfs's parent is the host's own file system.
	if parent.MountPoint == g.rootReal || !mountinfo.IsUnder(parent.MountPoint, g.rootReal) {
		return nil
	}
	outside, ok := reachOutside(mounts, parent, g.podReal)
	if !ok {
		return nil
	}

	inRoot := "/" + strings.TrimPrefix(parent.MountPoint, g.rootReal+"/")
	reason, err := g.slaveReason(target, op, parent.ID, trees)
	if err != nil {
		return err
	}
	if reason == "" {
		g.logger.Printf("apply: leave rootfs mount %q (id %d) shared: volume %q at %q is a user volume inside another user volume, so its bind, and the app's later mounts there, also appear at %q outside the pod, as in rkt's fly",
			inRoot, parent.ID, op.Volume, op.Target, outside.MountPoint)
		return nil
	}
	g.logger.Printf("apply: make rootfs mount %q (id %d) a slave, because %s, and the new mount on %s would propagate to %q outside the pod; the app's later mounts in %q stay in the pod",
		inRoot, parent.ID, reason, target.Name(), outside.MountPoint, inRoot)
	return makeSlave(g.rootfs.Root, inRoot, parent.ID)
}

// slaveReason returns why the shared parent mount parentID of op's target
// must become a slave, or "" when it stays shared:
//   - a copy of the host's /dev, /proc or /sys, or of their submounts,
//     always becomes a slave, so that no mount of the pod covers a host
//     device, proc or sysfs directory;
//   - any other shared copy is a user volume's. The bind of a user volume
//     at its literal path leaves it shared, because the operator set up
//     both volumes. A kubelet relies on its later mounts in the outer
//     volume reaching the host;
//   - the stage1's own mounts (the /tmp tmpfs, the DNS binds, an implicit
//     empty volume) and any mount whose target an image symlink redirected
//     make it a slave, so that an image cannot place a mount over a host
//     directory.
func (g *parentGuard) slaveReason(target *os.File, op Op, parentID int, trees *hostTrees) (string, error) {
	if hostDir, ok, err := trees.contains(parentID); err != nil {
		return "", err
	} else if ok {
		return fmt.Sprintf("it is a copy of the host's %s", hostDir), nil
	}
	if op.Volume == "" || op.Implicit {
		return fmt.Sprintf("%s is the stage1's own mount", op.purpose()), nil
	}
	resolved, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", target.Fd()))
	if err != nil {
		return "", fmt.Errorf("read the path of mount target %s: %w", target.Name(), err)
	}
	if literal := filepath.Join(g.rootReal, op.Target); resolved != literal {
		inRoot := "/" + strings.TrimPrefix(resolved, g.rootReal+"/")
		return fmt.Sprintf("an image symlink redirected the target of %s to %q", op.purpose(), inRoot), nil
	}
	return "", nil
}

func (g *parentGuard) resolvePaths() error {
	if g.rootReal != "" {
		return nil
	}
	rootReal, err := filepath.EvalSymlinks(g.root)
	if err != nil {
		return fmt.Errorf("resolve rootfs path: %w", err)
	}
	podReal, err := filepath.EvalSymlinks(g.podDir)
	if err != nil {
		return fmt.Errorf("resolve pod directory path: %w", err)
	}
	g.rootReal, g.podReal = rootReal, podReal
	return nil
}

// makeSlave makes the mount with the given id, whose mount point is inRoot
// inside root, a slave (MS_SLAVE, not recursive). It opens the mount point
// inside root and checks that the file is the root of that very mount
// before it changes anything.
func makeSlave(root *fsroot.Root, inRoot string, id int) error {
	f, err := root.OpenInRoot(inRoot, unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("open mount point to make it a slave: %w", err)
	}
	defer f.Close()
	st, gotID, err := statxMount(int(f.Fd()))
	if err != nil {
		return fmt.Errorf("mount point %s: %w", f.Name(), err)
	}
	if gotID != id {
		return fmt.Errorf("mount point %s is in mount %d, not in mount %d, so the mount table changed during the run", f.Name(), gotID, id)
	}
	// Kernels before 5.8 do not report STATX_ATTR_MOUNT_ROOT. There, mount(2)
	// still rejects a file that is not a mount root with EINVAL.
	if st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && st.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return fmt.Errorf("mount point %s is not the root of mount %d", f.Name(), id)
	}
	err = mount.Mount("make slave", "", mount.FdPath(f), "none", unix.MS_SLAVE, "")
	return withTargetName(err, f.Name())
}

// reachOutside returns a mount outside podDir that a mount event in m
// propagates to: a peer of m, a slave of m's peer group, or, transitively,
// a peer or slave of a shared slave. It returns false when m is not shared
// or every such mount lies in podDir.
func reachOutside(mounts []mountinfo.Mount, m mountinfo.Mount, podDir string) (mountinfo.Mount, bool) {
	group, ok := optionalGroup(m, "shared:")
	if !ok {
		return mountinfo.Mount{}, false
	}
	reached := map[int]bool{group: true}
	queue := []int{group}
	for len(queue) > 0 {
		group := queue[0]
		queue = queue[1:]
		for _, other := range mounts {
			if other.ID == m.ID {
				continue
			}
			shared, isShared := optionalGroup(other, "shared:")
			master, isSlave := optionalGroup(other, "master:")
			if !(isShared && shared == group) && !(isSlave && master == group) {
				continue
			}
			if !mountinfo.IsUnder(other.MountPoint, podDir) {
				return other, true
			}
			if isShared && !reached[shared] {
				reached[shared] = true
				queue = append(queue, shared)
			}
		}
	}
	return mountinfo.Mount{}, false
}

// optionalGroup returns the peer group number N of the optional field
// "prefixN", such as "shared:3" or "master:3".
func optionalGroup(m mountinfo.Mount, prefix string) (int, bool) {
	for _, field := range m.Optional {
		if value, ok := strings.CutPrefix(field, prefix); ok {
			n, err := strconv.Atoi(value)
			return n, err == nil
		}
	}
	return 0, false
}

func mountByID(mounts []mountinfo.Mount, id int) (mountinfo.Mount, bool) {
	for _, m := range mounts {
		if m.ID == id {
			return m, true
		}
	}
	return mountinfo.Mount{}, false
}

// mountID returns the id, as in mountinfo, of the mount that contains f.
func mountID(f *os.File) (int, error) {
	return fdMountID(int(f.Fd()))
}

// fdMountID returns the id, as in mountinfo, of the mount that contains
// the open file fd.
func fdMountID(fd int) (int, error) {
	_, id, err := statxMount(fd)
	return id, err
}

// statxMount returns the statx of the open file fd and the id of the mount
// that contains it. The id comes from STATX_MNT_ID, or from
// /proc/self/fdinfo on kernels before 5.8, which do not report it.
func statxMount(fd int) (unix.Statx_t, int, error) {
	var st unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &st); err != nil {
		return st, 0, fmt.Errorf("statx: %w", err)
	}
	if st.Mask&unix.STATX_MNT_ID != 0 {
		return st, int(st.Mnt_id), nil
	}
	id, err := fdinfoMountID(fd)
	return st, id, err
}

// fdinfoMountID reads the mount id of the open file fd from
// /proc/self/fdinfo, which has it since Linux 3.15.
func fdinfoMountID(fd int) (int, error) {
	info, err := os.Open(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return 0, err
	}
	defer info.Close()
	scanner := bufio.NewScanner(info)
	for scanner.Scan() {
		value, ok := strings.CutPrefix(scanner.Text(), "mnt_id:")
		if !ok {
			continue
		}
		id, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return 0, fmt.Errorf("parse %s: invalid mnt_id %q", info.Name(), value)
		}
		return id, nil
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no mnt_id line", info.Name())
}
