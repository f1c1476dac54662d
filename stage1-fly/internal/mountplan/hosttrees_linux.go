package mountplan

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
	"github.com/rktfly/rkt/common/mountinfo"
)

// hostTrees records the mounts that Apply bound from the host's /dev, /proc
// and /sys into the rootfs, together with the submounts that each recursive
// bind copied, such as /dev/shm. A file created in one of them is created
// in the host's own tree, so Apply creates no mount target there.
//
// add records each bind's own mount from a statx of its target, and
// recordSubmounts then finds the submounts of all of them in one read of
// mountinfo. That read waits until a lookup needs it, or until Apply is
// about to mount on a target outside the rootfs's own mount (see
// parentGuard.isolate), and a default pod needs neither. Until then, every
// mount that Apply made after the binds lies directly in the rootfs's own
// mount, so the walk down from the binds does not reach it, as if the read
// had been made right after the last bind.
type hostTrees struct {
	// rootMountID is the mount that contains the rootfs directory. No bind
	// of the host's trees is that mount, so a lookup there needs no
	// mountinfo.
	rootMountID int
	// hostDir maps a mount id to "/dev", "/proc" or "/sys", the host
	// directory whose bind the mount belongs to.
	hostDir map[int]string
	// unwalked lists the binds whose submounts are not yet in hostDir.
	unwalked []int
}

func newHostTrees(rootMountID int) *hostTrees {
	return &hostTrees{rootMountID: rootMountID, hostDir: make(map[int]string)}
}

// isSystemBind reports whether op is one of the binds of the host's /dev,
// /proc and /sys that Compute plans first.
func isSystemBind(op Op) bool {
	if op.Kind != BindMount || op.Volume != "" || op.Source != op.Target {
		return false
	}
	return op.Source == "/dev" || op.Source == "/proc" || op.Source == "/sys"
}

// add records the mount of the system bind that op has just made inside
// root. Its submounts are recorded by the next recordSubmounts.
func (h *hostTrees) add(root *fsroot.Root, op Op) error {
	target, err := root.OpenInRoot(op.Target, unix.O_PATH, 0)
	if err != nil {
		return fmt.Errorf("open the bind of %s: %w", op.Source, err)
	}
	defer target.Close()
	id, err := mountID(target)
	if err != nil {
		return fmt.Errorf("bind of %s at %s: %w", op.Source, target.Name(), err)
	}
	if _, seen := h.hostDir[id]; !seen {
		h.hostDir[id] = op.Source
	}
	h.unwalked = append(h.unwalked, id)
	return nil
}

// recordSubmounts reads mountinfo once and records every mount below the
// binds that add recorded since the last call, such as the /dev/shm that
// the bind of /dev copied. Each submount gets the host directory of the
// bind it lies in. A mount that Apply makes later below a bind, such as a
// volume at /dev/shm, is not recorded, because isolate calls this before
// such a mount.
func (h *hostTrees) recordSubmounts() error {
	if len(h.unwalked) == 0 {
		return nil
	}
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		return err
	}
	// Parents come before children in mountinfo, but a walk from the binds
	// down the parent links needs no order.
	queue := h.unwalked
	h.unwalked = nil
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, m := range mounts {
			if m.Parent == parent && m.ID != parent {
				if _, seen := h.hostDir[m.ID]; !seen {
					h.hostDir[m.ID] = h.hostDir[parent]
					queue = append(queue, m.ID)
				}
			}
		}
	}
	return nil
}

// lookup returns the host directory whose bind contains dir, or false when
// dir lies in none of them. A directory outside the rootfs's mount that is
// looked up between two system binds costs a read of mountinfo, so that
// the submounts of the binds made so far are known.
func (h *hostTrees) lookup(dir *os.File) (string, bool, error) {
	id, err := mountID(dir)
	if err != nil {
		return "", false, err
	}
	return h.contains(id)
}

// contains returns the host directory whose bind, or submount of it, is
// the mount with the given id, or false when it is none of them.
func (h *hostTrees) contains(id int) (string, bool, error) {
	if id == h.rootMountID {
		return "", false, nil
	}
	if hostDir, ok := h.hostDir[id]; ok {
		return hostDir, true, nil
	}
	if err := h.recordSubmounts(); err != nil {
		return "", false, err
	}
	hostDir, ok := h.hostDir[id]
	return hostDir, ok, nil
}

// createTarget creates op.Target inside root, as a directory or an empty
// file (op.Create), with any missing parent directories. It follows the
// target's symlinks inside root first (fsroot.Resolve) and then creates
// the resolved path one component at a time without following symlinks.
// Before each creation it checks the mount of the directory it creates in,
// so nothing is created in a bind of the host's /dev, /proc or /sys, even
// when the image changes during the run.
func createTarget(root *fsroot.Root, op Op, trees *hostTrees) error {
	resolved, err := root.Resolve(op.Target)
	if err != nil {
		return fmt.Errorf("create mount target: %w", err)
	}
	inRoot := "/" + strings.TrimPrefix(strings.TrimPrefix(resolved, filepath.Clean(root.Name())), "/")

	rootFd, err := unix.Openat(root.Fd(), ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("create mount target: %w", &os.PathError{Op: "open", Path: root.Name(), Err: err})
	}
	dir := os.NewFile(uintptr(rootFd), root.Name())
	defer func() { dir.Close() }()

	names := strings.Split(strings.TrimPrefix(inRoot, "/"), "/")
	for i, name := range names {
		if name == "" {
			continue
		}
		last := i == len(names)-1
		fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			next := os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name))
			if last {
				// Created since the first lookup: prepareTarget opens it.
				return next.Close()
			}
			dir.Close()
			dir = next
			if err := requireDir(dir); err != nil {
				return fmt.Errorf("create mount target %q: %w", op.Target, err)
			}
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("create mount target %q: %w", op.Target, &os.PathError{Op: "open", Path: filepath.Join(dir.Name(), name), Err: err})
		}

		hostDir, inHostTree, err := trees.lookup(dir)
		if err != nil {
			return fmt.Errorf("create mount target %q: %s: %w", op.Target, dir.Name(), err)
		}
		if inHostTree {
			return hostTreeError(op, inRoot, hostDir)
		}
		if last && op.Create == CreateFile {
			// Mode 0700, as rkt's fly. O_EXCL fails on anything that
			// appeared in the meantime, a symlink included.
			fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o700)
			if err != nil {
				return fmt.Errorf("create mount target %q: %w", op.Target, &os.PathError{Op: "create", Path: filepath.Join(dir.Name(), name), Err: err})
			}
			return unix.Close(fd)
		}
		if err := unix.Mkdirat(int(dir.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create mount target %q: %w", op.Target, &os.PathError{Op: "mkdir", Path: filepath.Join(dir.Name(), name), Err: err})
		}
		fd, err = unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("create mount target %q: %w", op.Target, &os.PathError{Op: "open", Path: filepath.Join(dir.Name(), name), Err: err})
		}
		dir.Close()
		dir = os.NewFile(uintptr(fd), filepath.Join(dir.Name(), name))
	}
	return nil
}

func requireDir(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &os.PathError{Op: "open", Path: f.Name(), Err: unix.ENOTDIR}
	}
	return nil
}

// hostTreeError returns the error for a missing target that resolves to
// inRoot, which lies in the bind of the host directory hostDir. Creating
// the target in the image cannot help, because the host's directory covers
// the image's, so the fix is another target or, for a target that an
// image symlink redirected there, another symlink.
func hostTreeError(op Op, inRoot, hostDir string) error {
	const outside = "choose a target that exists on the host or lies outside /dev, /proc and /sys"
	redirected := inRoot != path.Clean(op.Target)
	switch {
	case !redirected:
		return fmt.Errorf("can't create %q for %s: it lies in the host's %s bound into the pod; %s",
			op.Target, op.purpose(), hostDir, outside)
	case op.Volume == "" || op.Implicit:
		// The stage1 or the image chose the target, so only the image can
		// change it.
		return fmt.Errorf("can't create %q for %s: it resolves to %q, which lies in the host's %s bound into the pod; change the image symlink",
			op.Target, op.purpose(), inRoot, hostDir)
	}
	return fmt.Errorf("can't create %q for %s: it resolves to %q, which lies in the host's %s bound into the pod; %s, or change the image symlink",
		op.Target, op.purpose(), inRoot, hostDir, outside)
}

// purpose names what a mount operation is for, in messages.
func (op Op) purpose() string {
	switch {
	case op.Volume != "":
		return fmt.Sprintf("volume %q", op.Volume)
	case op.Kind == MountTmpfs:
		return fmt.Sprintf("the tmpfs on %s", op.Target)
	case isSystemBind(op):
		return fmt.Sprintf("the bind of the host's %s", op.Source)
	}
	return fmt.Sprintf("the bind of %q", op.Source)
}
