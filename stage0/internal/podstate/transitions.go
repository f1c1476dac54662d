package podstate

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/cleanup"
)

// ToExitedGarbage moves an exited pod from run/ to exited-garbage/, the
// mark step of gc and rm. It takes no lock, as rkt's gc and rm do not: an unlocked
// pod in run/ never runs again. Losing the rename to another process gives
// an error wrapping ErrPodGone.
func (p *Pod) ToExitedGarbage() error {
	if p.State != abi.StateExited {
		return fmt.Errorf("move pod %q to exited-garbage: state is %q: %w", p.UUID, p.State, ErrWrongState)
	}
	return p.moveTo(poddir.StateDirExitedGarbage, abi.StateExitedGarbage)
}

// ToGarbage moves a pod that never ran (aborted prepare, prepared or a
// stale embryo) to garbage/.
func (p *Pod) ToGarbage() error {
	switch p.State {
	case abi.StateAbortedPrepare, abi.StatePrepared, abi.StateEmbryo:
	default:
		return fmt.Errorf("move pod %q to garbage: state is %q: %w", p.UUID, p.State, ErrWrongState)
	}
	return p.moveTo(poddir.StateDirGarbage, abi.StateGarbage)
}

func (p *Pod) moveTo(stateDir, state string) error {
	from := p.Path()
	to := poddir.PodDir(p.DataDir, stateDir, p.UUID)
	if err := os.Rename(from, to); err != nil {
		// ENOENT: another process moved or deleted it first. EEXIST or
		// ENOTEMPTY: a directory of that UUID is already at the target.
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return fmt.Errorf("move pod %q to %s: %w: %w", p.UUID, stateDir, ErrPodGone, err)
		}
		return fmt.Errorf("move pod %q to %s: %w", p.UUID, stateDir, err)
	}
	p.StateDir = stateDir
	p.State = state
	return nil
}

// DeleteOptions configure Delete.
type DeleteOptions struct {
	// Wait blocks until the pod's lock is free. Without it, a pod that
	// another process is deleting is left alone, with an error wrapping
	// lock.ErrLocked.
	Wait bool
	// LocalConfig and Debug are passed to the stage1 gc entrypoint.
	LocalConfig string
	Debug       bool
	// Log receives debug messages, Warn the problems that do not stop the
	// deletion, and Stderr the stderr of the stage1 gc entrypoint. Nil
	// discards each.
	Log    *log.Logger
	Warn   *log.Logger
	Stderr io.Writer
	// Locked, if not nil, is called once the lock is held, right before
	// the deletion starts.
	Locked func()
	// Mounts, if not nil, is a snapshot of /proc/self/mountinfo taken
	// before the lock, as described at cleanup.Options.Mounts.
	Mounts []mountinfo.Mount
}

// Delete takes LOCK_EX on a pod in exited-garbage/ or garbage/ and deletes
// its directory with cleanup.DeletePod, which unmounts everything below it
// first and never deletes through a mount. A pod that another process
// deleted first gives an error wrapping ErrPodGone.
func (p *Pod) Delete(opts DeleteOptions) error {
	if p.StateDir != poddir.StateDirExitedGarbage && p.StateDir != poddir.StateDirGarbage {
		return fmt.Errorf("delete pod %q: state is %q: %w", p.UUID, p.State, ErrWrongState)
	}
	path := p.Path()
	l, err := lock.OpenDir(path)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete pod %q: %w", p.UUID, ErrPodGone)
		}
		return fmt.Errorf("delete pod %q: %w", p.UUID, err)
	}
	defer l.Close()
	if opts.Wait {
		err = l.Exclusive()
	} else {
		err = l.TryExclusive()
	}
	if err != nil {
		return fmt.Errorf("delete pod %q: %w", p.UUID, err)
	}
	// While this process waited for the lock, another one may have deleted
	// the directory that the fd refers to.
	if err := sameDirectory(l.Fd(), path); err != nil {
		return fmt.Errorf("delete pod %q: %w", p.UUID, err)
	}
	if opts.Locked != nil {
		opts.Locked()
	}

	target := cleanup.Pod{
		Dir:         path,
		UUID:        p.UUID,
		Ran:         p.StateDir == poddir.StateDirExitedGarbage,
		LocalConfig: opts.LocalConfig,
		Debug:       opts.Debug,
	}
	if treeID, err := p.Stage1TreeStoreID(); err == nil && treeID != "" {
		target.Stage1TreeRootfs = TreeRootfs(p.DataDir, treeID)
	}
	return cleanup.DeletePod(target, cleanup.Options{
		Log:    opts.Log,
		Warn:   opts.Warn,
		Stderr: opts.Stderr,
		Mounts: opts.Mounts,
	})
}

// TreeRootfs returns $D/cas/tree/<treeID>/rootfs, the rendered tree from
// which rkt runs the stage1 enter entrypoint.
func TreeRootfs(dataDir, treeID string) string {
	return filepath.Join(poddir.CASDir(dataDir), "tree", treeID, poddir.RootfsDirName)
}

// sameDirectory returns an error wrapping ErrPodGone unless path is still
// the directory that fd refers to.
func sameDirectory(fd int, path string) error {
	var byFd, byPath unix.Stat_t
	if err := unix.Fstat(fd, &byFd); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	err := unix.Lstat(path, &byPath)
	if errors.Is(err, unix.ENOENT) || (err == nil && (byFd.Dev != byPath.Dev || byFd.Ino != byPath.Ino)) {
		return fmt.Errorf("%s: %w", path, ErrPodGone)
	}
	if err != nil {
		return &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return nil
}
