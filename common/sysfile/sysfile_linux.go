// Package sysfile reads and writes whole small files with plain open(2),
// read(2), write(2) and close(2) calls. The os package registers every
// file it opens with Go's network poller: strace of Go 1.26 on Linux 6.18
// shows four or five extra fcntl(2) and epoll_ctl(2) calls per file, and
// the first file also creates the epoll instance. The stage1 entrypoints,
// which start for every pod, read and write a handful of small regular
// files and need none of that.
//
// Errors are *os.PathError values with the operation names that the os
// package uses ("open", "read", "write", "close", "stat", "chmod"), so
// messages read as those of os.ReadFile and os.WriteFile.
package sysfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// readChunk is the buffer growth step of ReadFile for a file whose size
// fstat(2) does not give, such as one in /proc.
const readChunk = 4096

// ReadFile reads the whole file name, like os.ReadFile.
func ReadFile(name string) ([]byte, error) {
	fd, err := open(name, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)

	size := readChunk
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Size > 0 {
		// One more byte than the size, so that the read that reaches the
		// end of the file needs no second buffer.
		size = int(st.Size) + 1
	}
	data := make([]byte, 0, size)
	for {
		if len(data) == cap(data) {
			data = append(data, make([]byte, readChunk)...)[:len(data)]
		}
		n, err := unix.Read(fd, data[len(data):cap(data)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
	}
}

// WriteFile writes data to the file name, creating it with perm (before the
// umask) or truncating it, like os.WriteFile.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	fd, err := open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, perm)
	if err != nil {
		return err
	}
	return writeAndClose(fd, name, data)
}

// WriteFileMode is WriteFile that leaves the file with the permission bits
// perm whatever the umask and whatever mode an existing file had. It checks
// the mode with fstat(2) and calls fchmod(2) only when the mode differs, so
// that a new file under the usual umask costs no extra inode update.
func WriteFileMode(name string, data []byte, perm os.FileMode) error {
	fd, err := open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if err := SetMode(fd, name, perm); err != nil {
		unix.Close(fd)
		return err
	}
	return writeAndClose(fd, name, data)
}

// SetMode gives the open file fd, named name in errors, the permission bits
// perm. It calls fchmod(2) only when fstat(2) shows other bits, such as a
// file that open(2) created under a umask that cleared some of perm.
func SetMode(fd int, name string, perm os.FileMode) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	want := uint32(perm.Perm())
	if st.Mode&0o7777 == want {
		return nil
	}
	if err := unix.Fchmod(fd, want); err != nil {
		return &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	return nil
}

func open(name string, flags int, perm os.FileMode) (int, error) {
	for {
		fd, err := unix.Open(name, flags|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return fd, nil
	}
}

// writeAndClose writes all of data to fd and closes it. A close error is
// returned too, because a file system may report a failed write only there.
func writeAndClose(fd int, name string, data []byte) error {
	err := writeAll(fd, name, data)
	if closeErr := unix.Close(fd); closeErr != nil && err == nil {
		err = &os.PathError{Op: "close", Path: name, Err: closeErr}
	}
	return err
}

func writeAll(fd int, name string, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: name, Err: err}
		}
		data = data[n:]
	}
	return nil
}
