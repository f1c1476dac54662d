package fsroot

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is returned when a file that is to be written inside a
// root exists and is not a regular file, such as a FIFO or a device node.
var ErrNotRegular = errors.New("not a regular file")

// maxCreateAttempts bounds the retries of OpenRegularInRoot when a file
// appears at the target between its lookup and its exclusive creation.
const maxCreateAttempts = 8

// OpenRegularInRoot opens p inside root like OpenInRoot, but only if p is a
// regular file, so that a write cannot reach a FIFO (and hang) or a device
// node (and overwrite a disk) that an image ships at p. Symlinks are
// followed inside root, as OpenInRoot does.
//
// flags are the open(2) flags for the regular file, such as
// O_WRONLY|O_TRUNC. The file is first opened O_PATH and checked with
// fstat(2), then reopened with flags through its /proc/self/fd link, which
// names the checked inode. With O_PATH in flags, the O_PATH fd itself is
// returned. With O_CREAT, a missing file, or the missing target of a
// dangling symlink, is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode.
// A directory fails with EISDIR and any other type with ErrNotRegular.
func OpenRegularInRoot(root, p string, flags int, mode uint32) (*os.File, error) {
	r, err := openRootPath(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.OpenRegularInRoot(p, flags, mode)
}

// OpenRegularInRoot is the package function OpenRegularInRoot with the root
// r.
func (r *Root) OpenRegularInRoot(p string, flags int, mode uint32) (*os.File, error) {
	fd, err := openRegularFd(r.fd, p, flags, mode)
	if err != nil {
		return nil, &os.PathError{Op: "open in root " + r.path, Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), hostPath(r.path, p)), nil
}

func openRegularFd(rootFd int, p string, flags int, mode uint32) (int, error) {
	for attempt := 0; attempt < maxCreateAttempts; attempt++ {
		pathFd, err := openInRootFd(rootFd, p, unix.O_PATH, 0)
		if err == nil {
			if flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
				unix.Close(pathFd)
				return -1, unix.EEXIST
			}
			return reopenRegular(pathFd, flags)
		}
		if !errors.Is(err, unix.ENOENT) || flags&unix.O_CREAT == 0 {
			return -1, err
		}

		fd, err := createExclusive(rootFd, p, flags, mode)
		if errors.Is(err, unix.EEXIST) && flags&unix.O_EXCL == 0 {
			// Another process created the file since the lookup: check
			// the type of what is there now.
			continue
		}
		return fd, err
	}
	return -1, fmt.Errorf("file was created and removed concurrently during %d attempts to open it: %w", maxCreateAttempts, unix.EAGAIN)
}

// reopenRegular checks that the O_PATH fd pathFd is a regular file and
// returns it, or a new fd opened with flags on the same inode. It closes
// pathFd unless it returns it.
func reopenRegular(pathFd int, flags int) (int, error) {
	var stat unix.Stat_t
	if err := unix.Fstat(pathFd, &stat); err != nil {
		unix.Close(pathFd)
		return -1, err
	}
	fileType := stat.Mode & unix.S_IFMT
	if fileType != unix.S_IFREG {
		unix.Close(pathFd)
		if fileType == unix.S_IFDIR {
			return -1, unix.EISDIR
		}
		return -1, fmt.Errorf("is a %s: %w", fileTypeName(fileType), ErrNotRegular)
	}
	if flags&unix.O_PATH != 0 {
		return pathFd, nil
	}
	defer unix.Close(pathFd)
	reopenFlags := flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW)
	return unix.Open(fmt.Sprintf("/proc/self/fd/%d", pathFd), reopenFlags|unix.O_CLOEXEC, 0)
}

// createExclusive creates the regular file that p names inside root. A
// dangling symlink at p is resolved first, so its target is created inside
// root. O_EXCL|O_NOFOLLOW makes the kernel create a new regular file or
// fail with EEXIST, whatever appears at that name meanwhile.
func createExclusive(rootFd int, p string, flags int, mode uint32) (int, error) {
	result, err := walk(rootFd, p, walkOptions{lexicalMissing: true})
	if err != nil {
		return -1, err
	}
	unix.Close(result.fd)
	target := joinInRoot(append(result.names, result.missing...))

	createFlags := flags&^unix.O_PATH | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW
	if flags&unix.O_PATH != 0 {
		// O_PATH ignores O_CREAT, so create the file for reading.
		createFlags = unix.O_RDONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW
	}
	return openInRootFd(rootFd, target, createFlags, mode)
}

// fileTypeName returns the name of an S_IFMT file type for messages.
func fileTypeName(fileType uint32) string {
	switch fileType {
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFLNK:
		return "symbolic link"
	case unix.S_IFDIR:
		return "directory"
	default:
		return fmt.Sprintf("file of type %#o", fileType)
	}
}
