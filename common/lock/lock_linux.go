package lock

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned, wrapped, by TryExclusive and TryShared when a
// conflicting lock is held through another open file description.
var ErrLocked = errors.New("lock is held by another process")

// Lock is an open fd of a directory or regular file on which flock(2) is
// taken and released.
type Lock struct {
	fd   int
	path string
}

// OpenDir opens the directory at path with O_RDONLY|O_DIRECTORY|O_CLOEXEC
// without taking a lock.
func OpenDir(path string) (*Lock, error) {
	fd, err := openRetry(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Lock{fd: fd, path: path}, nil
}

// OpenFile opens the regular file at path, creating it with mode 0600 if it
// is missing, without taking a lock.
func OpenFile(path string) (*Lock, error) {
	fd, err := openRetry(path, unix.O_RDONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Lock{fd: fd, path: path}, nil
}

// FromFd wraps an fd that is already open, such as the one that RKT_LOCK_FD
// names. path is used only in error messages. The Lock takes ownership of fd:
// Close closes it.
func FromFd(fd int, path string) *Lock {
	return &Lock{fd: fd, path: path}
}

// Exclusive takes an exclusive lock, waiting while another holder has one.
// On a fd that already holds a shared lock, flock converts it, but not
// atomically: another process may take the lock in between.
func (l *Lock) Exclusive() error {
	return l.flock(unix.LOCK_EX, "lock exclusive")
}

// TryExclusive takes an exclusive lock, or returns an error wrapping
// ErrLocked at once if another open file description holds any lock.
func (l *Lock) TryExclusive() error {
	return l.flock(unix.LOCK_EX|unix.LOCK_NB, "try lock exclusive")
}

// Shared takes a shared lock, waiting while another holder has an exclusive
// one.
func (l *Lock) Shared() error {
	return l.flock(unix.LOCK_SH, "lock shared")
}

// TryShared takes a shared lock, or returns an error wrapping ErrLocked at
// once if another open file description holds an exclusive lock.
func (l *Lock) TryShared() error {
	return l.flock(unix.LOCK_SH|unix.LOCK_NB, "try lock shared")
}

// Unlock releases the lock and keeps the fd open.
func (l *Lock) Unlock() error {
	return l.flock(unix.LOCK_UN, "unlock")
}

// Fd returns the file descriptor, or -1 after Close.
func (l *Lock) Fd() int { return l.fd }

// Path returns the path the Lock was opened or wrapped with.
func (l *Lock) Path() string { return l.path }

// ClearCloexec clears FD_CLOEXEC on the fd, so the fd and the lock survive
// execve. stage1 run does this before it execs the app.
func (l *Lock) ClearCloexec() error {
	if l.fd < 0 {
		return &os.PathError{Op: "clear close-on-exec", Path: l.path, Err: os.ErrClosed}
	}
	flags, err := unix.FcntlInt(uintptr(l.fd), unix.F_GETFD, 0)
	if err != nil {
		return &os.PathError{Op: "clear close-on-exec", Path: l.path, Err: err}
	}
	if _, err := unix.FcntlInt(uintptr(l.fd), unix.F_SETFD, flags&^unix.FD_CLOEXEC); err != nil {
		return &os.PathError{Op: "clear close-on-exec", Path: l.path, Err: err}
	}
	return nil
}

// Close closes the fd, which releases the lock unless another fd shares the
// same open file description (after fork or dup).
func (l *Lock) Close() error {
	if l.fd < 0 {
		return &os.PathError{Op: "close", Path: l.path, Err: os.ErrClosed}
	}
	fd := l.fd
	l.fd = -1
	// close(2) must not be retried on EINTR: on Linux the fd is released anyway.
	if err := unix.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: l.path, Err: err}
	}
	return nil
}

func (l *Lock) flock(operation int, op string) error {
	if l.fd < 0 {
		return &os.PathError{Op: op, Path: l.path, Err: os.ErrClosed}
	}
	for {
		err := unix.Flock(l.fd, operation)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("%s %s: %w", op, l.path, ErrLocked)
		default:
			return &os.PathError{Op: op, Path: l.path, Err: err}
		}
	}
}

func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, mode)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}
