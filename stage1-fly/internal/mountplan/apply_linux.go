package mountplan

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
	"github.com/rktfly/rkt/common/mount"
	"github.com/rktfly/rkt/common/mountinfo"
)

// Apply carries out plan with root as the app rootfs ($R). It stops at the
// first failure; what was mounted before it stays mounted, as with rkt's
// fly, and stage0's gc removes it. Before each bind or tmpfs mount whose
// target lies in a mount that an earlier operation made in the rootfs, it
// makes that mount a slave if the new mount would otherwise propagate
// outside plan.PodDir. A user volume nested in another user volume is the
// exception (see the package documentation). It creates no missing target
// inside its binds of the host's /dev, /proc and /sys.
//
// The DNS files are written before any mount, so a write through a
// symlink such as /etc -> /dev lands in the image's own directory, which
// the system bind then covers, and never in the host's tree.
func Apply(root string, plan Plan, logger *log.Logger) error {
	for _, v := range plan.EmptyVolumes {
		if err := createEmptyVolume(v); err != nil {
			return err
		}
	}
	for _, f := range plan.Files {
		logger.Printf("apply: %s", f)
		if err := applyFile(root, f, logger); err != nil {
			return err
		}
	}
	if len(plan.Mounts) == 0 {
		return nil
	}
	rootfs, err := openAppRoot(root)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer rootfs.Close()
	guard, err := newParentGuard(rootfs, plan.PodDir, logger)
	if err != nil {
		return err
	}
	trees := newHostTrees(guard.rootMountID)
	for _, op := range plan.Mounts {
		logger.Printf("apply: %s", op)
		coveredRoot, err := applyOp(rootfs, op, guard, trees)
		if err != nil {
			return err
		}
		if coveredRoot {
			if err := rootfs.reopen(); err != nil {
				return fmt.Errorf("open rootfs after %s: %w", op, err)
			}
		}
		if isSystemBind(op) {
			if err := trees.add(rootfs.Root, op); err != nil {
				return err
			}
		}
	}
	return nil
}

// appRoot is the app rootfs, held open while Apply mounts in it, so that
// each operation resolves its target without opening the rootfs path
// again. A mount on the rootfs directory itself, such as a volume at "/",
// covers the open directory for later lookups by path, so Apply opens the
// path again after such a mount.
type appRoot struct {
	*fsroot.Root
	// dev and ino identify the open rootfs directory.
	dev, ino uint64
}

func openAppRoot(path string) (*appRoot, error) {
	root, err := fsroot.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	r := &appRoot{Root: root}
	if err := r.stat(); err != nil {
		root.Close()
		return nil, err
	}
	return r, nil
}

func (r *appRoot) stat() error {
	var st unix.Stat_t
	if err := unix.Fstat(r.Fd(), &st); err != nil {
		return &os.PathError{Op: "stat", Path: r.Name(), Err: err}
	}
	r.dev, r.ino = st.Dev, st.Ino
	return nil
}

// isRoot reports whether info, the stat of a mount target, is the rootfs
// directory itself.
func (r *appRoot) isRoot(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Dev == r.dev && st.Ino == r.ino
}

// reopen opens the rootfs path again, which now names the topmost mount
// on it.
func (r *appRoot) reopen() error {
	root, err := fsroot.OpenRoot(r.Name())
	if err != nil {
		return err
	}
	r.Close()
	r.Root = root
	return r.stat()
}

// createEmptyVolume makes $P/sharedVolumes/<name> with the volume's mode
// and owner. The pod directory belongs to stage0, so host paths are safe.
func createEmptyVolume(v EmptyVolume) error {
	if err := os.MkdirAll(filepath.Dir(v.Path), 0o755); err != nil {
		return fmt.Errorf("create empty volume %q: %w", v.Name, err)
	}
	if err := os.Mkdir(v.Path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create empty volume %q: %w", v.Name, err)
	}
	if err := os.Lchown(v.Path, v.UID, v.GID); err != nil {
		return fmt.Errorf("create empty volume %q: %w", v.Name, err)
	}
	// Chmod after chown: chown clears the setuid and setgid bits.
	if err := os.Chmod(v.Path, v.Mode); err != nil {
		return fmt.Errorf("create empty volume %q: %w", v.Name, err)
	}
	return nil
}

func applyFile(root string, f FileOp, logger *log.Logger) error {
	switch f.Kind {
	case CopyFile:
		if err := copyIntoRoot(root, f); err != nil {
			return copyError(root, f, err)
		}
	case WriteIfMissing:
		// O_EXCL also treats a dangling symlink as existing, so the write
		// never follows a link that the image ships at the target.
		out, err := fsroot.OpenInRoot(root, f.Target, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, uint32(f.Mode.Perm()))
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		if err != nil {
			// rkt's fly ignores this failure too: the app merely lacks
			// a hosts file.
			logger.Printf("write default %s: %v", f.Target, err)
			return nil
		}
		_, err = out.Write(f.Data)
		if closeErr := out.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			logger.Printf("write default %s: %v", f.Target, err)
		}
	}
	return nil
}

// copyError returns the error for a failed copy of f into root. A target
// that an image symlink redirects into /dev, /proc or /sys is named as the
// cause, whatever the errno, because the host's trees cover those
// directories in the pod. The copy, made before the binds, fails there for
// lack of the image's directory or lands where the app cannot see it.
func copyError(root string, f FileOp, err error) error {
	resolved, resolveErr := fsroot.Resolve(root, f.Target)
	if resolveErr != nil {
		return fmt.Errorf("can't copy %s: %w", f.Target, err)
	}
	inRoot := "/" + strings.TrimPrefix(strings.TrimPrefix(resolved, filepath.Clean(root)), "/")
	for _, dir := range []string{"/dev", "/proc", "/sys"} {
		if mountinfo.IsUnder(inRoot, dir) {
			return fmt.Errorf("can't copy %s: it resolves to %q, which lies in %s, where the pod gets the host's %s; change the image symlink or choose --dns=host or --dns=none",
				f.Target, inRoot, dir, dir)
		}
	}
	return fmt.Errorf("can't copy %s: %w", f.Target, err)
}

// copyIntoRoot copies f.Source over f.Target inside root. Unlike
// fsroot.CopyFile it creates no parent, so an image without /etc fails as
// it did in rkt's fly. Like fsroot.CopyFile it writes only a regular file:
// a FIFO or device node that the image ships at the target is rejected.
func copyIntoRoot(root string, f FileOp) error {
	in, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fsroot.OpenRegularInRoot(root, f.Target, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, uint32(f.Mode.Perm()))
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	return err
}

// applyOp carries out op, and reports whether it mounted on the rootfs
// directory itself.
func applyOp(rootfs *appRoot, op Op, guard *parentGuard, trees *hostTrees) (coveredRoot bool, err error) {
	if op.Kind == MakeRShared {
		// A host path: /dev, /proc, /sys, or a volume source.
		return false, mount.MakeRShared(op.Target)
	}

	var target *os.File
	if op.Kind == RemountReadOnly {
		// Opened after the bind, so the fd is on the new mount's root.
		target, err = rootfs.OpenInRoot(op.Target, unix.O_PATH, 0)
	} else {
		var info os.FileInfo
		target, info, err = prepareTarget(rootfs.Root, op, trees)
		coveredRoot = err == nil && rootfs.isRoot(info)
	}
	if err != nil {
		return false, err
	}
	defer target.Close()
	if createsMount(op.Kind) {
		if err := guard.isolate(target, op, trees); err != nil {
			return false, fmt.Errorf("keep %s %q inside the pod: %w", op.Kind, op.Target, err)
		}
	}

	fdPath := mount.FdPath(target)
	switch op.Kind {
	case BindMount:
		if op.Flags&unix.MS_RDONLY != 0 {
			// The flags of rows 9 and 10; the remount that follows makes it
			// read-only.
			err = mount.Mount("bind mount", op.Source, fdPath, op.FSType, op.Flags, op.Data)
		} else {
			err = mount.BindMount(op.Source, fdPath, op.Flags&unix.MS_REC != 0)
		}
	case MountTmpfs:
		err = mount.MountTmpfs(fdPath, op.Flags, op.Data)
	case RemountReadOnly:
		err = mount.RemountReadOnly(fdPath, op.Flags&unix.MS_REC != 0)
	default:
		err = fmt.Errorf("unknown mount operation %v", op.Kind)
	}
	if err != nil {
		return false, withTargetName(err, target.Name())
	}
	return coveredRoot, nil
}

// prepareTarget opens op.Target inside root as an O_PATH fd, creating it
// first when missing, and checks that its type matches the source's. It
// returns the fd and its stat.
func prepareTarget(root *fsroot.Root, op Op, trees *hostTrees) (*os.File, os.FileInfo, error) {
	target, err := root.OpenInRoot(op.Target, unix.O_PATH, 0)
	if errors.Is(err, fs.ErrNotExist) && op.Create != CreateNone {
		if err := createTarget(root, op, trees); err != nil {
			return nil, nil, err
		}
		target, err = root.OpenInRoot(op.Target, unix.O_PATH, 0)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open mount target: %w", err)
	}

	info, err := target.Stat()
	if err != nil {
		target.Close()
		return nil, nil, fmt.Errorf("stat mount target: %w", err)
	}
	switch {
	case op.Create == CreateDir && !info.IsDir():
		target.Close()
		return nil, nil, fmt.Errorf("can't mount because %q is a directory while %q in the app is not (%s)%s",
			op.Source, op.Target, op.purpose(), typeFix(op, "directory"))
	case op.Create == CreateFile && info.IsDir():
		target.Close()
		return nil, nil, fmt.Errorf("can't mount because %q is not a directory while %q in the app is (%s)%s",
			op.Source, op.Target, op.purpose(), typeFix(op, "file"))
	}
	return target, info, nil
}

// typeFix returns the advice for a volume whose source and target types
// differ, or "" for the stage1's own binds, whose targets the image fixes.
func typeFix(op Op, want string) string {
	if op.Volume == "" || op.Implicit {
		return ""
	}
	return fmt.Sprintf("; mount volume %q on a %s target or change its source", op.Volume, want)
}

// withTargetName replaces the /proc/self/fd target of a *MountError with
// the path the fd was opened from, for the message.
func withTargetName(err error, name string) error {
	var mountErr *mount.MountError
	if errors.As(err, &mountErr) {
		mountErr.Target = name
	}
	return err
}
