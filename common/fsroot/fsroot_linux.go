package fsroot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// useOpenat2 is cleared when the kernel reports ENOSYS for openat2, and by
// tests that exercise the userspace walk.
var useOpenat2 atomic.Bool

func init() {
	useOpenat2.Store(true)
}

// hostPath returns the host path of the in-root path inRoot, for messages
// and file names.
func hostPath(root, inRoot string) string {
	return filepath.Join(root, filepath.Clean("/"+inRoot))
}

func openRoot(root string) (int, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open root", Path: root, Err: err}
	}
	return fd, nil
}

// Root is an open root directory. Its methods resolve paths inside it as
// the functions of the same names do with a root path, without opening the
// root again for every call. Root keeps the directory that the path named
// when OpenRoot ran. A mount made later on that directory covers it for
// lookups by path, but not for Root: open the path again to resolve inside
// such a mount.
type Root struct {
	fd   int
	path string
}

// OpenRoot opens the directory path as a Root. It fails as os.Open would,
// with a *os.PathError whose Op is "open".
func OpenRoot(path string) (*Root, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Root{fd: fd, path: path}, nil
}

// openRootPath opens root for the package functions, whose errors name the
// failed open "open root".
func openRootPath(root string) (*Root, error) {
	fd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	return &Root{fd: fd, path: root}, nil
}

// Close closes the root directory.
func (r *Root) Close() error {
	return unix.Close(r.fd)
}

// Name returns the path that OpenRoot opened.
func (r *Root) Name() string {
	return r.path
}

// Fd returns the O_PATH file descriptor of the root directory.
func (r *Root) Fd() int {
	return r.fd
}

// Resolve is the package function Resolve with the root r.
func (r *Root) Resolve(p string) (string, error) {
	result, err := walk(r.fd, p, walkOptions{lexicalMissing: true})
	if err != nil {
		return "", &os.PathError{Op: "resolve in root " + r.path, Path: p, Err: err}
	}
	unix.Close(result.fd)
	names := append(result.names, result.missing...)
	return hostPath(r.path, joinInRoot(names)), nil
}

// OpenInRoot is the package function OpenInRoot with the root r.
func (r *Root) OpenInRoot(p string, flags int, mode uint32) (*os.File, error) {
	fd, err := openInRootFd(r.fd, p, flags, mode)
	if err != nil {
		return nil, &os.PathError{Op: "open in root " + r.path, Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), hostPath(r.path, p)), nil
}

// Resolve returns the host path that p names inside root: root joined with
// p after every symlink in p has been resolved inside root. Components that
// do not exist are kept as written, with "..", as readlink -m does, so the
// result may name a file that does not exist yet.
//
// The result is only a name: anything that can write below root may change
// what it points at before it is used. To act on the file, use OpenInRoot,
// MkdirAll or CreateFile, which resolve and open in one step.
func Resolve(root, p string) (string, error) {
	r, err := openRootPath(root)
	if err != nil {
		return "", err
	}
	defer r.Close()
	return r.Resolve(p)
}

// OpenInRoot opens p inside root with the open(2) flags and mode given
// (O_CLOEXEC is always added). Symlinks in every component are followed
// inside root; O_NOFOLLOW leaves a symlink in the last component as it is,
// and with O_PATH|O_NOFOLLOW opens the symlink itself. O_CREAT creates the
// last component only: its parent must exist. The file's Name is the host
// path root joined with p, as written.
func OpenInRoot(root, p string, flags int, mode uint32) (*os.File, error) {
	r, err := openRootPath(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.OpenInRoot(p, flags, mode)
}

func openInRootFd(rootFd int, p string, flags int, mode uint32) (int, error) {
	if useOpenat2.Load() {
		fd, err := openat2InRoot(rootFd, p, flags, mode)
		switch {
		case errors.Is(err, unix.ENOSYS):
			useOpenat2.Store(false)
		case errors.Is(err, unix.ELOOP) && flags&unix.O_NOFOLLOW == 0:
			// The kernel follows at most 40 symlinks; rkt followed 255, and
			// so does the walk.
		default:
			return fd, err
		}
	}
	return openByWalk(rootFd, p, flags, mode)
}

func openat2InRoot(rootFd int, p string, flags int, mode uint32) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
		how.Mode = uint64(mode)
	}
	if p == "" {
		p = "."
	}
	for attempt := 0; ; attempt++ {
		fd, err := unix.Openat2(rootFd, p, &how)
		// The kernel returns EAGAIN when a concurrent rename may have moved
		// the lookup, so that the caller retries.
		if errors.Is(err, unix.EAGAIN) && attempt < 16 {
			continue
		}
		return fd, err
	}
}

// openByWalk is the userspace equivalent of openat2InRoot.
func openByWalk(rootFd int, p string, flags int, mode uint32) (int, error) {
	noFollow := flags&unix.O_NOFOLLOW != 0
	result, err := walk(rootFd, p, walkOptions{noFollowLast: noFollow})
	if err != nil {
		return -1, err
	}
	defer unix.Close(result.fd)

	if len(result.missing) > 0 {
		if len(result.missing) > 1 || flags&unix.O_CREAT == 0 || !errors.Is(result.missingErr, unix.ENOENT) {
			return -1, result.missingErr
		}
		// O_NOFOLLOW: a symlink created here since the walk fails the open
		// instead of being followed out of the root.
		return unix.Openat(result.fd, result.missing[0], flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	}

	if flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
		return -1, unix.EEXIST
	}
	var stat unix.Stat_t
	if err := unix.Fstat(result.fd, &stat); err != nil {
		return -1, err
	}
	isDir := stat.Mode&unix.S_IFMT == unix.S_IFDIR
	isLink := stat.Mode&unix.S_IFMT == unix.S_IFLNK
	if flags&unix.O_DIRECTORY != 0 && !isDir {
		return -1, unix.ENOTDIR
	}
	if flags&unix.O_CREAT != 0 && isDir {
		return -1, unix.EISDIR
	}
	if flags&unix.O_PATH != 0 {
		return unix.FcntlInt(uintptr(result.fd), unix.F_DUPFD_CLOEXEC, 0)
	}
	if isLink {
		// Only reachable with O_NOFOLLOW, which open(2) also rejects.
		return -1, unix.ELOOP
	}
	// Reopen the resolved file through its fd's magic link, which names the
	// inode itself, so nothing can be swapped in between.
	reopenFlags := flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW)
	return unix.Open(fmt.Sprintf("/proc/self/fd/%d", result.fd), reopenFlags|unix.O_CLOEXEC, 0)
}

// MkdirAll creates p and any missing parents inside root with mode (before
// the umask), like os.MkdirAll. Symlinks on the way are followed inside
// root, so a link such as /data -> /etc leads to root/etc. A component that
// exists and is not a directory fails with ENOTDIR.
func MkdirAll(root, p string, mode os.FileMode) error {
	f, err := OpenDirAll(root, p, mode)
	if err != nil {
		return err
	}
	return f.Close()
}

// OpenDirAll is MkdirAll that also returns the directory, opened O_PATH.
func OpenDirAll(root, p string, mode os.FileMode) (*os.File, error) {
	rootFd, err := openRoot(root)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)

	opts := walkOptions{mkdir: true, mkdirMode: uint32(mode.Perm())}
	result, err := walk(rootFd, p, opts)
	if err == nil && len(result.missing) > 0 {
		unix.Close(result.fd)
		err = result.missingErr
	}
	if err == nil {
		var stat unix.Stat_t
		if err = unix.Fstat(result.fd, &stat); err == nil && stat.Mode&unix.S_IFMT != unix.S_IFDIR {
			err = unix.ENOTDIR
		}
		if err != nil {
			unix.Close(result.fd)
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "mkdir in root " + root, Path: p, Err: err}
	}
	return os.NewFile(uintptr(result.fd), hostPath(root, p)), nil
}

// CreateFile makes p inside root an existing regular file: missing parents
// are created with mode 0755 and a missing file is created empty with mode
// (before the umask). An existing regular file is left as it is. An
// existing directory fails with EISDIR, and any other type, such as a FIFO
// or a device node, with ErrNotRegular.
func CreateFile(root, p string, mode os.FileMode) error {
	f, err := createInRoot(root, p, unix.O_PATH, mode)
	if err != nil {
		return err
	}
	return f.Close()
}

// WriteFile writes data to p inside root, creating it with mode (and
// missing parents with 0755) or truncating it, like os.WriteFile. Only a
// regular file is written: a FIFO or device node at p fails with
// ErrNotRegular before anything is opened for writing.
func WriteFile(root, p string, data []byte, mode os.FileMode) error {
	f, err := createInRoot(root, p, unix.O_WRONLY|unix.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// CopyFile copies the host file src to p inside root, as WriteFile does.
func CopyFile(root, p, src string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := createInRoot(root, p, unix.O_WRONLY|unix.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	return err
}

func createInRoot(root, p string, flags int, mode os.FileMode) (*os.File, error) {
	parent := filepath.Dir(filepath.Clean("/" + p))
	if err := MkdirAll(root, parent, 0o755); err != nil {
		return nil, err
	}
	return OpenRegularInRoot(root, p, flags|unix.O_CREAT, uint32(mode.Perm()))
}
