package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// placer builds a rendered tree by hard-linking the files of image layers,
// highest rank first. A path that is already placed is never replaced.
// Paths are plain strings because every directory on them was created by the
// placer itself: a symlink placed by a higher-ranked image makes the lower
// image's subtree at that path skipped, never followed.
type placer struct {
	root string
	size int64
	// dirs are the created directories with their source, for the times
	// that are set once all files are in place.
	dirs []placedDir
}

type placedDir struct {
	dst string
	st  unix.Stat_t
}

func newPlacer(root string) *placer {
	return &placer{root: root}
}

func (p *placer) placeLayer(src string, whitelists []map[string]bool) error {
	return filepath.WalkDir(src, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(p.root, rel)

		var existing unix.Stat_t
		statErr := unix.Lstat(dst, &existing)
		if statErr != nil && !errors.Is(statErr, unix.ENOENT) {
			return &os.PathError{Op: "stat", Path: dst, Err: statErr}
		}
		exists := statErr == nil

		if entry.IsDir() {
			if !exists {
				return p.makeDir(path, dst)
			}
			if existing.Mode&unix.S_IFMT != unix.S_IFDIR {
				// A higher-ranked image has a non-directory here.
				return fs.SkipDir
			}
			return nil
		}

		if exists || !allowed("/"+filepath.ToSlash(rel), whitelists) {
			return nil
		}
		// os.Link does not follow a symlink at path: it links the symlink.
		if err := os.Link(path, dst); err != nil {
			return err
		}
		if entry.Type().IsRegular() {
			if info, err := entry.Info(); err == nil {
				p.size += info.Size()
			}
		}
		return nil
	})
}

func allowed(path string, whitelists []map[string]bool) bool {
	for _, set := range whitelists {
		if !set[path] {
			return false
		}
	}
	return true
}

func (p *placer) makeDir(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return &os.PathError{Op: "stat", Path: src, Err: err}
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	if err := copyMetadata(src, dst, &st); err != nil {
		return err
	}
	p.dirs = append(p.dirs, placedDir{dst: dst, st: st})
	return nil
}

// finish sets directory times, deepest last, after all entries are placed.
func (p *placer) finish() error {
	for i := len(p.dirs) - 1; i >= 0; i-- {
		if err := setTimes(p.dirs[i].dst, &p.dirs[i].st); err != nil {
			return err
		}
	}
	return nil
}

// copyMetadata copies owner, mode and xattrs of src to dst. Times are set
// separately, because writing into a directory changes its mtime.
func copyMetadata(src, dst string, st *unix.Stat_t) error {
	if os.Geteuid() == 0 {
		if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return &os.PathError{Op: "chown", Path: dst, Err: err}
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		// chmod after chown, because chown clears the setuid and setgid bits.
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return &os.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	return copyXattrs(src, dst)
}

func setTimes(dst string, st *unix.Stat_t) error {
	times := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "set times", Path: dst, Err: err}
	}
	return nil
}

func copyXattrs(src, dst string) error {
	names, err := xattrNames(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		value, err := xattrValue(src, name)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(dst, name, value, 0); err != nil {
			return &os.PathError{Op: "set xattr " + name, Path: dst, Err: err}
		}
	}
	return nil
}

// xattrNames lists the extended attributes of path, not following a symlink.
// A filesystem without xattr support has none.
func xattrNames(path string) ([]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, &os.PathError{Op: "list xattrs", Path: path, Err: err}
	}
	if size == 0 {
		return nil, nil
	}
	names := make([]byte, size)
	size, err = unix.Llistxattr(path, names)
	if err != nil {
		return nil, &os.PathError{Op: "list xattrs", Path: path, Err: err}
	}
	return strings.Split(strings.TrimRight(string(names[:size]), "\x00"), "\x00"), nil
}

func xattrValue(path, name string) ([]byte, error) {
	size, err := unix.Lgetxattr(path, name, nil)
	if err != nil {
		return nil, &os.PathError{Op: "get xattr " + name, Path: path, Err: err}
	}
	value := make([]byte, size)
	size, err = unix.Lgetxattr(path, name, value)
	if err != nil {
		return nil, &os.PathError{Op: "get xattr " + name, Path: path, Err: err}
	}
	return value[:size], nil
}

// CopyTree copies the root filesystem of a rendered tree to dst, for pods
// that run without overlayfs. It keeps owners, modes, times, xattrs, symlinks,
// device nodes and hard links between files of the tree. dst must not exist
// or be an empty directory. File data is copied with copy_file_range where
// the kernel supports it.
func (s *Store) CopyTree(treeID, dst string) error {
	if err := validTreeID(treeID); err != nil {
		return err
	}
	if !s.treeComplete(treeID) {
		return fmt.Errorf("copy tree %s: %w", treeID, ErrTreeNotFound)
	}
	if err := copyTree(s.TreeRootfs(treeID), dst); err != nil {
		return fmt.Errorf("copy tree %s to %s: %w", treeID, dst, err)
	}
	return nil
}

// ErrTreeNotFound is returned for a tree ID that has no rendered tree.
var ErrTreeNotFound = errors.New("rendered tree not found in store")

type inode struct{ dev, ino uint64 }

func copyTree(src, dst string) error {
	if entries, err := os.ReadDir(dst); err == nil && len(entries) > 0 {
		return fmt.Errorf("destination %s is not empty", dst)
	}

	links := make(map[inode]string)
	var dirs []placedDir
	err := filepath.WalkDir(src, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return &os.PathError{Op: "stat", Path: path, Err: err}
		}

		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if err := os.Mkdir(target, 0o700); err != nil && !(rel == "." && errors.Is(err, fs.ErrExist)) {
				return err
			}
			dirs = append(dirs, placedDir{dst: target, st: st})
			return copyMetadata(path, target, &st)
		}

		if st.Nlink > 1 {
			id := inode{dev: st.Dev, ino: st.Ino}
			if first, ok := links[id]; ok {
				return os.Link(first, target)
			}
			links[id] = target
		}
		if err := copyEntry(path, target, &st); err != nil {
			return err
		}
		if err := copyMetadata(path, target, &st); err != nil {
			return err
		}
		return setTimes(target, &st)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setTimes(dirs[i].dst, &dirs[i].st); err != nil {
			return err
		}
	}
	return nil
}

func copyEntry(src, dst string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return copyFile(src, dst)
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return &os.PathError{Op: "mknod", Path: dst, Err: err}
		}
		return nil
	default:
		return fmt.Errorf("%s: unsupported file type %#o", src, st.Mode&unix.S_IFMT)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// (*os.File).ReadFrom uses copy_file_range between two files.
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
