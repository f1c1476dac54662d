package poddir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/sysfile"
)

// ReadPid reads a pid file in the format "<decimal>\n". Trailing
// white space is ignored. An empty file, which a stage1 that writes in place
// leaves for a moment, is an error like any other malformed content.
func ReadPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}

	text := string(bytes.TrimRight(data, " \t\r\n"))
	pid, err := strconv.Atoi(text)
	if err != nil {
		return 0, fmt.Errorf("parse pid file %s: %w", path, err)
	}
	if pid <= 0 {
		return 0, fmt.Errorf("parse pid file %s: pid %d is not positive", path, pid)
	}
	return pid, nil
}

// WritePid writes pid as "<decimal>\n" to path with mode 0644 whatever the
// umask. It writes a temporary file in the same directory and renames it
// over path, so a reader sees either no file or the whole number.
func WritePid(path string, pid int) error {
	if pid <= 0 {
		return fmt.Errorf("write pid file %s: pid %d is not positive", path, pid)
	}

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	fd, tmpName, err := createTemp(dir, "."+base+".tmp-", PidFileMode)
	if err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}

	// The file is created with mode 0644, so only a umask that clears some
	// of its bits costs an fchmod.
	modeErr := sysfile.SetMode(fd, tmpName, PidFileMode)
	data := []byte(strconv.Itoa(pid) + "\n")
	n, writeErr := unix.Write(fd, data)
	if writeErr == nil && n < len(data) {
		writeErr = io.ErrShortWrite
	}
	if writeErr != nil {
		writeErr = &os.PathError{Op: "write", Path: tmpName, Err: writeErr}
	}
	closeErr := unix.Close(fd)
	if closeErr != nil {
		closeErr = &os.PathError{Op: "close", Path: tmpName, Err: closeErr}
	}
	if err := errors.Join(modeErr, writeErr, closeErr); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("write pid file %s: %w", path, err)
	}

	if err := os.Rename(tmpName, path); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	return nil
}

// createTemp creates a new file in dir, named prefix and a random decimal
// number, for writing with mode perm (before the umask), as os.CreateTemp
// names its files. It returns the file descriptor rather than an *os.File,
// whose registration with Go's poller costs several system calls.
func createTemp(dir, prefix string, perm uint32) (int, string, error) {
	for attempt := 0; ; attempt++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, perm)
		switch {
		case err == nil:
			return fd, name, nil
		case err != unix.EEXIST:
			return -1, "", &os.PathError{Op: "open", Path: name, Err: err}
		case attempt == 10000:
			return -1, "", &os.PathError{Op: "createtemp", Path: filepath.Join(dir, prefix+"*"), Err: fs.ErrExist}
		}
	}
}
