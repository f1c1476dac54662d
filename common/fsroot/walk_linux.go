package fsroot

import (
	"errors"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxSymlinks is the number of symlinks one resolution may follow.
const MaxSymlinks = 255

// walkOptions selects what walk does with the last component and with
// components that do not exist.
type walkOptions struct {
	// noFollowLast leaves a symlink in the last component unresolved.
	noFollowLast bool
	// mkdir creates missing directories with mkdirMode.
	mkdir     bool
	mkdirMode uint32
	// lexicalMissing continues past a missing component lexically, as
	// readlink -m does: later names are appended and ".." removes them.
	lexicalMissing bool
}

// walkResult is the end point of a walk.
type walkResult struct {
	// fd is an O_PATH fd of the last existing component (the root itself
	// when nothing below it exists). The caller closes it.
	fd int
	// names are the resolved components of the existing part, from the root.
	names []string
	// missing are the components after the existing part, when the walk
	// stopped at a component that does not exist.
	missing []string
	// missingErr is the reason the first missing component is missing:
	// ENOENT, or ENOTDIR when a non-directory was followed by more components.
	missingErr error
}

type dirEntry struct {
	fd   int
	name string
}

// splitPath returns the components of p, without empty ones and ".".
func splitPath(p string) []string {
	var parts []string
	for _, part := range strings.Split(p, "/") {
		if part != "" && part != "." {
			parts = append(parts, part)
		}
	}
	return parts
}

// walk resolves p inside the directory open at rootFd, one component at a
// time. Every component is opened with O_PATH|O_NOFOLLOW relative to its
// parent's fd, and a symlink is read through its own fd, so no host path is
// ever looked up and nothing can move the walk above rootFd.
func walk(rootFd int, p string, opts walkOptions) (result walkResult, err error) {
	var stack []dirEntry
	closeStack := func() {
		for _, entry := range stack {
			unix.Close(entry.fd)
		}
		stack = nil
	}
	defer func() {
		if err != nil {
			closeStack()
		}
	}()
	current := func() int {
		if len(stack) == 0 {
			return rootFd
		}
		return stack[len(stack)-1].fd
	}

	parts := splitPath(p)
	links := 0
	var missing []string
	var missingErr error
	for len(parts) > 0 {
		name := parts[0]
		parts = parts[1:]

		if len(missing) > 0 {
			// Past a missing component nothing can be looked up: apply the
			// rest lexically, and resume real lookups if ".." climbs back.
			if name == ".." {
				missing = missing[:len(missing)-1]
			} else {
				missing = append(missing, name)
			}
			continue
		}
		if name == ".." {
			// ".." is taken from the stack of opened directories, never from
			// the file system, so it stops at the root and cannot be raced.
			if len(stack) > 0 {
				unix.Close(stack[len(stack)-1].fd)
				stack = stack[:len(stack)-1]
			}
			continue
		}

		fd, err := openComponent(current(), name, opts)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			missing = []string{name}
			missingErr = err
			if !opts.lexicalMissing {
				missing = append(missing, parts...)
				break
			}
			continue
		}
		if err != nil {
			return walkResult{}, err
		}

		var stat unix.Stat_t
		if err := unix.Fstat(fd, &stat); err != nil {
			unix.Close(fd)
			return walkResult{}, err
		}
		isLink := stat.Mode&unix.S_IFMT == unix.S_IFLNK
		if isLink && (len(parts) > 0 || !opts.noFollowLast) {
			links++
			if links > MaxSymlinks {
				unix.Close(fd)
				return walkResult{}, unix.ELOOP
			}
			target, err := readlinkFd(fd)
			unix.Close(fd)
			if err != nil {
				return walkResult{}, err
			}
			if strings.HasPrefix(target, "/") {
				// An absolute target starts again at the root, not at the
				// host's "/".
				closeStack()
			}
			parts = append(splitPath(target), parts...)
			continue
		}
		stack = append(stack, dirEntry{fd: fd, name: name})
	}

	// Keep only the last fd; the directories above it are not needed.
	for i := 0; i < len(stack)-1; i++ {
		unix.Close(stack[i].fd)
	}
	if len(stack) == 0 {
		fd, err := unix.Openat(rootFd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return walkResult{}, err
		}
		result.fd = fd
	} else {
		result.fd = stack[len(stack)-1].fd
	}
	for _, entry := range stack {
		result.names = append(result.names, entry.name)
	}
	stack = nil
	result.missing = missing
	result.missingErr = missingErr
	return result, nil
}

// openComponent opens name in dirFd without following a symlink, creating
// it as a directory first when opts.mkdir is set and it is missing.
func openComponent(dirFd int, name string, opts walkOptions) (int, error) {
	flags := unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirFd, name, flags, 0)
	if !errors.Is(err, unix.ENOENT) || !opts.mkdir {
		return fd, err
	}
	// mkdirat never follows a symlink in its last component, and the open
	// that follows uses O_NOFOLLOW, so a racing symlink makes this fail
	// instead of leading elsewhere.
	if err := unix.Mkdirat(dirFd, name, opts.mkdirMode); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	return unix.Openat(dirFd, name, flags, 0)
}

// readlinkFd reads the target of the symlink open (O_PATH|O_NOFOLLOW) at fd.
func readlinkFd(fd int) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// joinInRoot returns the in-root absolute path of names.
func joinInRoot(names []string) string {
	return path.Join(append([]string{"/"}, names...)...)
}
