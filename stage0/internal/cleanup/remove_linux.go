package cleanup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrMountPoint is returned, wrapped, when RemoveTree finds a mount point at
// or below the directory it removes. RemoveTree stops without descending into
// it.
var ErrMountPoint = errors.New("mount point found, not deleting through it")

// RemoveTree deletes dir and everything below it, like os.RemoveAll, but
// never deletes anything on a mount other than the one dir is on.
//
// Every entry is compared by mount ID (statx STATX_MNT_ID), not by st_dev: a
// bind mount of a directory from the same file system has the same st_dev.
// The walk opens each directory relative to its parent's fd with O_NOFOLLOW,
// so renaming a path component into a symlink cannot redirect it. When a
// mount point is found, the walk stops and returns an error wrapping
// ErrMountPoint; whatever was removed before stays removed. When dir itself
// is a mount point (its mount ID differs from its parent's), RemoveTree
// removes nothing and returns ErrMountPoint. A missing dir is not an error.
func RemoveTree(dir string) error {
	dir = filepath.Clean(dir)
	parentPath, name := filepath.Split(dir)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("remove %s: not a removable directory path", dir)
	}
	if parentPath == "" {
		parentPath = "."
	}

	parent, err := openDirNoFollow(unix.AT_FDCWD, parentPath)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &os.PathError{Op: "open", Path: parentPath, Err: err}
	}
	defer unix.Close(parent)

	top, err := identify(parent, name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "statx", Path: dir, Err: err}
	}
	if !top.isDir {
		return &os.PathError{Op: "remove tree", Path: dir, Err: unix.ENOTDIR}
	}
	// A mount at dir itself would pass every check below, because the walk
	// compares entries with dir's own mount. Callers check mountinfo before,
	// but something may be mounted on dir after they read it.
	parentID, err := identifyFd(parent)
	if err != nil {
		return &os.PathError{Op: "statx", Path: parentPath, Err: err}
	}
	if top.mountID != parentID.mountID {
		return fmt.Errorf("remove %s: %w", dir, ErrMountPoint)
	}

	w := &walker{mountID: top.mountID, dev: top.dev}
	return w.removeEntry(parent, name, dir)
}

// entryID is the type, mount ID and device of one directory entry.
type entryID struct {
	isDir   bool
	mountID uint64
	dev     uint64
}

type walker struct {
	mountID uint64
	dev     uint64
}

// removeEntry removes name in the directory parentFd, whose full path is path.
func (w *walker) removeEntry(parentFd int, name, path string) error {
	id, err := identify(parentFd, name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "statx", Path: path, Err: err}
	}
	if err := w.checkSameMount(id, path); err != nil {
		return err
	}
	if !id.isDir {
		return unlinkAt(parentFd, name, 0, path)
	}

	fd, err := openDirNoFollow(parentFd, name)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	// Check the opened directory again: the entry may have been replaced or
	// had something mounted on it between the statx above and the open.
	opened, err := identifyFd(fd)
	if err == nil {
		err = w.checkSameMount(opened, path)
	}
	if err == nil {
		err = w.removeContents(fd, path)
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return unlinkAt(parentFd, name, unix.AT_REMOVEDIR, path)
}

// removeContents removes every entry of the open directory fd. It keeps
// going after an ordinary failure, so that one undeletable file does not
// leave the rest behind, but stops at once at a mount point.
func (w *walker) removeContents(fd int, path string) error {
	names, err := readNames(fd, path)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		err := w.removeEntry(fd, name, filepath.Join(path, name))
		if errors.Is(err, ErrMountPoint) {
			return err
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *walker) checkSameMount(id entryID, path string) error {
	if id.mountID != w.mountID || id.dev != w.dev {
		return fmt.Errorf("remove %s: %w", path, ErrMountPoint)
	}
	return nil
}

// readNames lists the entries of the directory fd without consuming fd: it
// reads through a duplicate, because os.File takes ownership of its fd.
func readNames(fd int, path string) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, &os.PathError{Op: "dup", Path: path, Err: err}
	}
	unix.CloseOnExec(dup)
	f := os.NewFile(uintptr(dup), path)
	defer f.Close()

	var names []string
	for {
		batch, err := f.Readdirnames(1024)
		names = append(names, batch...)
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read directory %s: %w", path, err)
		}
	}
}

func openDirNoFollow(dirFd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirFd, name,
			unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}

func unlinkAt(dirFd int, name string, flags int, path string) error {
	err := unix.Unlinkat(dirFd, name, flags)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return &os.PathError{Op: "unlink", Path: path, Err: err}
}

// identify returns the type, mount ID and device of name in dirFd, without
// following a symlink at name.
func identify(dirFd int, name string) (entryID, error) {
	return statxID(dirFd, name, unix.AT_SYMLINK_NOFOLLOW)
}

// identifyFd returns the type, mount ID and device of the open file fd.
func identifyFd(fd int) (entryID, error) {
	return statxID(fd, "", unix.AT_EMPTY_PATH)
}

func statxID(dirFd int, name string, flags int) (entryID, error) {
	var stx unix.Statx_t
	mask := unix.STATX_TYPE | unix.STATX_MNT_ID
	if err := unix.Statx(dirFd, name, flags|unix.AT_NO_AUTOMOUNT, mask, &stx); err != nil {
		return entryID{}, err
	}
	id := entryID{
		isDir: stx.Mode&unix.S_IFMT == unix.S_IFDIR,
		dev:   unix.Mkdev(stx.Dev_major, stx.Dev_minor),
	}
	if stx.Mask&unix.STATX_MNT_ID != 0 {
		id.mountID = stx.Mnt_id
		return id, nil
	}
	mountID, err := mountIDByHandle(dirFd, name, flags)
	if err != nil {
		return entryID{}, err
	}
	id.mountID = mountID
	return id, nil
}

// mountIDByHandle returns the mount ID that name_to_handle_at(2) reports. It
// is the fallback for kernels before 5.8, whose statx lacks STATX_MNT_ID.
// NOTE: on such a kernel, a file system without file handle support fails
// here with EOPNOTSUPP, and RemoveTree then refuses to delete.
func mountIDByHandle(dirFd int, name string, flags int) (uint64, error) {
	handleFlags := 0
	if flags&unix.AT_EMPTY_PATH != 0 {
		handleFlags |= unix.AT_EMPTY_PATH
	}
	if flags&unix.AT_SYMLINK_NOFOLLOW == 0 {
		handleFlags |= unix.AT_SYMLINK_FOLLOW
	}
	_, mountID, err := unix.NameToHandleAt(dirFd, name, handleFlags)
	if err != nil {
		return 0, fmt.Errorf("name_to_handle_at: %w", err)
	}
	return uint64(mountID), nil
}
