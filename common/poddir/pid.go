package poddir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// WritePid writes pid as "<decimal>\n" to path with mode 0644. It writes a
// temporary file in the same directory and renames it over path, so a reader
// sees either no file or the whole number.
func WritePid(path string, pid int) error {
	if pid <= 0 {
		return fmt.Errorf("write pid file %s: pid %d is not positive", path, pid)
	}

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	tmpName := tmp.Name()

	_, writeErr := tmp.WriteString(strconv.Itoa(pid) + "\n")
	// CreateTemp makes the file 0600, and fchmod is not subject to the umask.
	chmodErr := tmp.Chmod(PidFileMode)
	closeErr := tmp.Close()
	if err := errors.Join(writeErr, chmodErr, closeErr); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("write pid file %s: %w", path, err)
	}

	if err := os.Rename(tmpName, path); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	return nil
}
