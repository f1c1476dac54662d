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
	guard, err := newParentGuard(root, plan.PodDir, logger)
	if err != nil {
		return err
	}
	trees := newHostTrees(guard.rootMountID)
	for _, op := range plan.Mounts {
		logger.Printf("apply: %s", op)
		if err := applyOp(root, op, guard, trees); err != nil {
			return err
		}
		if isSystemBind(op) {
			if err := trees.add(root, op); err != nil {
				return err
			}
		}
	}
	return nil
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

func applyOp(root string, op Op, guard *parentGuard, trees *hostTrees) error {
	if op.Kind == MakeRShared {
		// A host path: /dev, /proc, /sys, or a volume source.
		return mount.MakeRShared(op.Target)
	}

	var target *os.File
	var err error
	if op.Kind == RemountReadOnly {
		// Opened after the bind, so the fd is on the new mount's root.
		target, err = fsroot.OpenInRoot(root, op.Target, unix.O_PATH, 0)
	} else {
		target, err = prepareTarget(root, op, trees)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if createsMount(op.Kind) {
		if err := guard.isolate(target, op, trees); err != nil {
			return fmt.Errorf("keep %s %q inside the pod: %w", op.Kind, op.Target, err)
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
	return withTargetName(err, target.Name())
}

// prepareTarget opens op.Target inside root as an O_PATH fd, creating it
// first when missing, and checks that its type matches the source's.
func prepareTarget(root string, op Op, trees *hostTrees) (*os.File, error) {
	target, err := fsroot.OpenInRoot(root, op.Target, unix.O_PATH, 0)
	if errors.Is(err, fs.ErrNotExist) && op.Create != CreateNone {
		if err := createTarget(root, op, trees); err != nil {
			return nil, err
		}
		target, err = fsroot.OpenInRoot(root, op.Target, unix.O_PATH, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open mount target: %w", err)
	}

	info, err := target.Stat()
	if err != nil {
		target.Close()
		return nil, fmt.Errorf("stat mount target: %w", err)
	}
	switch {
	case op.Create == CreateDir && !info.IsDir():
		target.Close()
		return nil, fmt.Errorf("can't mount because %q is a directory while %q in the app is not (%s)%s",
			op.Source, op.Target, op.purpose(), typeFix(op, "directory"))
	case op.Create == CreateFile && info.IsDir():
		target.Close()
		return nil, fmt.Errorf("can't mount because %q is not a directory while %q in the app is (%s)%s",
			op.Source, op.Target, op.purpose(), typeFix(op, "file"))
	}
	return target, nil
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
