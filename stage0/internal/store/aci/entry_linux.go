package aci

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const xattrPAXPrefix = "SCHILY.xattr."

type dirTime struct {
	name         string
	atime, mtime time.Time
}

// extractEntry writes one entry below rootfs/. name is already cleaned.
func (x *extractor) extractEntry(tr *tar.Reader, hdr *tar.Header, name string) error {
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = x.makeDir(hdr, name)
	case tar.TypeReg, tar.TypeRegA:
		err = x.writeRegular(tr, hdr, name)
	case tar.TypeSymlink:
		err = x.makeSymlink(hdr, name)
	case tar.TypeLink:
		err = x.makeHardLink(hdr, name)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		err = x.makeNode(hdr, name)
	default:
		return fmt.Errorf("%w: entry %q has unsupported tar type %q", ErrInvalidACI, hdr.Name, hdr.Typeflag)
	}
	if err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	return nil
}

// prepareTarget opens the parent of name and removes an existing non-directory
// at name, so the new entry replaces it as tar does. It rejects replacing a
// directory with a non-directory, because directories stay in place for the
// whole extraction.
func (x *extractor) prepareTarget(name string, isDir bool) (dirfd int, base string, exists bool, err error) {
	parent, base := splitName(name)
	dirfd, err = x.root.openDir(parent)
	if err != nil {
		return -1, "", false, err
	}

	var st unix.Stat_t
	err = unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return dirfd, base, false, nil
	}
	if err != nil {
		return -1, "", false, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if !isDir {
			return -1, "", false, fmt.Errorf("%w: entry %q replaces a directory", ErrInvalidACI, name)
		}
		return dirfd, base, true, nil
	}
	if err := unix.Unlinkat(dirfd, base, 0); err != nil {
		return -1, "", false, &os.PathError{Op: "remove", Path: name, Err: err}
	}
	return dirfd, base, false, nil
}

func (x *extractor) makeDir(hdr *tar.Header, name string) error {
	dirfd, base, exists, err := x.prepareTarget(name, true)
	if err != nil {
		return err
	}
	if !exists {
		if err := unix.Mkdirat(dirfd, base, 0o700); err != nil {
			return &os.PathError{Op: "mkdir", Path: name, Err: err}
		}
	}

	fd, err := openDirAt(dirfd, base)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	if err := setOwner(fd, "", 0, hdr); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, tarMode(hdr)); err != nil {
		return &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	if err := setXattrs(fd, hdr); err != nil {
		return err
	}
	x.dirTimes = append(x.dirTimes, dirTime{name: name, atime: hdr.AccessTime, mtime: hdr.ModTime})
	return nil
}

func (x *extractor) writeRegular(tr *tar.Reader, hdr *tar.Header, name string) error {
	dirfd, base, _, err := x.prepareTarget(name, false)
	if err != nil {
		return err
	}
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	defer unix.Close(fd)

	if err := x.copyContent(fd, tr); err != nil {
		return err
	}
	if err := setOwner(fd, "", 0, hdr); err != nil {
		return err
	}
	// chmod after chown, because chown clears the setuid and setgid bits.
	if err := unix.Fchmod(fd, tarMode(hdr)); err != nil {
		return &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	if err := setXattrs(fd, hdr); err != nil {
		return err
	}
	times := []unix.Timespec{timespec(hdr.AccessTime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(dirfd, base, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "set times", Path: name, Err: err}
	}
	return nil
}

func (x *extractor) copyContent(fd int, r io.Reader) error {
	for {
		n, err := r.Read(x.buf)
		if n > 0 {
			if werr := writeAll(fd, x.buf[:n]); werr != nil {
				return fmt.Errorf("write: %w", werr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: read content: %w", ErrInvalidACI, err)
		}
	}
}

func (x *extractor) makeSymlink(hdr *tar.Header, name string) error {
	dirfd, base, _, err := x.prepareTarget(name, false)
	if err != nil {
		return err
	}
	// The target is stored as it is and never followed during extraction.
	if err := unix.Symlinkat(hdr.Linkname, dirfd, base); err != nil {
		return &os.PathError{Op: "symlink", Path: name, Err: err}
	}
	if err := setOwner(dirfd, base, unix.AT_SYMLINK_NOFOLLOW, hdr); err != nil {
		return err
	}
	if err := setXattrsAt(dirfd, base, hdr); err != nil {
		return err
	}
	times := []unix.Timespec{timespec(hdr.AccessTime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(dirfd, base, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "set times", Path: name, Err: err}
	}
	return nil
}

func (x *extractor) makeHardLink(hdr *tar.Header, name string) error {
	target, err := cleanEntryName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if !strings.HasPrefix(target, "rootfs/") {
		return fmt.Errorf("%w: entry %q links to %q outside rootfs/", ErrInvalidACI, hdr.Name, hdr.Linkname)
	}

	targetParent, targetBase := splitName(target)
	cachedFD, err := x.root.openDir(targetParent)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	// Duplicate the descriptor because the next openDir may evict it.
	targetDirFD, err := unix.Dup(cachedFD)
	if err != nil {
		return fmt.Errorf("dup: %w", err)
	}
	defer unix.Close(targetDirFD)

	dirfd, base, _, err := x.prepareTarget(name, false)
	if err != nil {
		return err
	}
	// No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
	if err := unix.Linkat(targetDirFD, targetBase, dirfd, base, 0); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%w: entry %q links to %q, which is not earlier in the archive", ErrInvalidACI, hdr.Name, hdr.Linkname)
		}
		return &os.PathError{Op: "link", Path: name, Err: err}
	}
	return nil
}

func (x *extractor) makeNode(hdr *tar.Header, name string) error {
	dirfd, base, _, err := x.prepareTarget(name, false)
	if err != nil {
		return err
	}
	mode := tarMode(hdr)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	case tar.TypeFifo:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(dirfd, base, mode, int(dev)); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("create device node %s: %w (extracting device nodes needs root)", name, err)
		}
		return &os.PathError{Op: "mknod", Path: name, Err: err}
	}
	if err := setOwner(dirfd, base, unix.AT_SYMLINK_NOFOLLOW, hdr); err != nil {
		return err
	}
	if err := unix.Fchmodat(dirfd, base, tarMode(hdr), 0); err != nil {
		return &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	if err := setXattrsAt(dirfd, base, hdr); err != nil {
		return err
	}
	times := []unix.Timespec{timespec(hdr.AccessTime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(dirfd, base, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "set times", Path: name, Err: err}
	}
	return nil
}

func tarMode(hdr *tar.Header) uint32 {
	return uint32(hdr.Mode) & 0o7777
}

// isRoot reports whether ownership can be set. Without root the files keep
// the extracting user as owner.
var isRoot = os.Geteuid() == 0

// setOwner sets the owner of fd itself when base is empty, else of base in
// the directory fd.
func setOwner(fd int, base string, flags int, hdr *tar.Header) error {
	if !isRoot {
		return nil
	}
	var err error
	if base == "" {
		err = unix.Fchown(fd, hdr.Uid, hdr.Gid)
	} else {
		err = unix.Fchownat(fd, base, hdr.Uid, hdr.Gid, flags)
	}
	if err != nil {
		return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	return nil
}

func setXattrs(fd int, hdr *tar.Header) error {
	for key, value := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, xattrPAXPrefix)
		if !ok {
			continue
		}
		if err := unix.Fsetxattr(fd, attr, []byte(value), 0); err != nil {
			return fmt.Errorf("set xattr %q: %w", attr, err)
		}
	}
	return nil
}

// setXattrsAt sets xattrs on a symlink or device node, which cannot be opened
// for writing. The /proc path names the parent directory by descriptor, and
// lsetxattr does not follow the final component.
func setXattrsAt(dirfd int, base string, hdr *tar.Header) error {
	procPath := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
	for key, value := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, xattrPAXPrefix)
		if !ok {
			continue
		}
		if err := unix.Lsetxattr(procPath, attr, []byte(value), 0); err != nil {
			return fmt.Errorf("set xattr %q: %w", attr, err)
		}
	}
	return nil
}
