package aci

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// maxCachedDirs bounds the open directory descriptors kept by rootDir.
const maxCachedDirs = 128

// rootDir resolves entry names inside one directory. Each path component is
// opened with O_NOFOLLOW, so a symlink created by an earlier entry can never
// redirect a later write outside the directory. Directories are never removed
// or replaced during an extraction, so a cached descriptor stays valid.
type rootDir struct {
	path string
	fd   int
	dirs map[string]int
}

func openRoot(dir string) (*rootDir, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &rootDir{path: dir, fd: fd, dirs: make(map[string]int)}, nil
}

func (r *rootDir) close() {
	for _, fd := range r.dirs {
		unix.Close(fd)
	}
	unix.Close(r.fd)
}

// errThroughSymlink marks an entry whose parent path contains a symlink.
var errThroughSymlink = errors.New("path goes through a symlink")

// openDir returns a descriptor of the directory name inside the root,
// creating missing directories with mode 0755 whatever the umask. The
// descriptor belongs to the cache and must not be closed by the caller. It
// stays valid until the next call of openDir, which may evict it.
func (r *rootDir) openDir(name string) (int, error) {
	if name == "" {
		return r.fd, nil
	}
	if fd, ok := r.dirs[name]; ok {
		return fd, nil
	}
	if len(r.dirs) >= maxCachedDirs {
		for cached, cachedFD := range r.dirs {
			unix.Close(cachedFD)
			delete(r.dirs, cached)
		}
	}

	fd := r.fd
	owned := false
	walked := ""
	for _, part := range strings.Split(name, "/") {
		walked = joinName(walked, part)
		next, err := openDirAt(fd, part)
		if errors.Is(err, unix.ENOENT) {
			// An archive may leave out the entries of parent directories, so
			// a missing one is created, owned by the extracting user (root
			// when rkt imports), and opened again without following symlinks.
			mkdirErr := unix.Mkdirat(fd, part, 0o755)
			if mkdirErr != nil && !errors.Is(mkdirErr, unix.EEXIST) {
				next = -1
				err = &os.PathError{Op: "mkdir", Path: walked, Err: mkdirErr}
			} else {
				next, err = openDirAt(fd, part)
				if err == nil && mkdirErr == nil {
					// The umask must not narrow the mode of a created parent.
					if chmodErr := unix.Fchmod(next, 0o755); chmodErr != nil {
						unix.Close(next)
						next = -1
						err = &os.PathError{Op: "chmod", Path: walked, Err: chmodErr}
					}
				}
			}
		}
		if owned {
			unix.Close(fd)
		}
		if err != nil {
			return -1, r.describeOpenError(walked, err)
		}
		fd = next
		owned = true
	}

	r.dirs[name] = fd
	return fd, nil
}

func openDirAt(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// describeOpenError turns ELOOP and ENOTDIR from an O_NOFOLLOW open into an
// error that names the component that is a symlink.
func (r *rootDir) describeOpenError(walked string, err error) error {
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return err
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		var st unix.Stat_t
		if statErr := unix.Fstatat(r.fd, walked, &st, unix.AT_SYMLINK_NOFOLLOW); statErr == nil &&
			st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return fmt.Errorf("%w: %q is a symlink: %w", ErrInvalidACI, walked, errThroughSymlink)
		}
		return fmt.Errorf("%w: %q is not a directory", ErrInvalidACI, walked)
	}
	return &os.PathError{Op: "open", Path: walked, Err: err}
}

// writeFile creates name directly in the root with the given content.
func (r *rootDir) writeFile(name string, data []byte, mode uint32) error {
	fd, err := unix.Openat(r.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	defer unix.Close(fd)
	if err := writeAll(fd, data); err != nil {
		return &os.PathError{Op: "write", Path: name, Err: err}
	}
	return nil
}

// setTimes sets the access and modification times of name without following
// a final symlink.
func (r *rootDir) setTimes(name string, atime, mtime time.Time) error {
	parent, base := splitName(name)
	dirfd, err := r.openDir(parent)
	if err != nil {
		return err
	}
	times := []unix.Timespec{timespec(atime), timespec(mtime)}
	if err := unix.UtimesNanoAt(dirfd, base, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "set times", Path: name, Err: err}
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(t.UnixNano())
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func joinName(parent, base string) string {
	if parent == "" {
		return base
	}
	return parent + "/" + base
}
