package localfetch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// partialPrefix starts the name of every partial download file.
const partialPrefix = "rkt-download-"

// PartialPath returns the file in tmpDir that a download of url is written
// to, and resumed from after an interruption. Its recorded ETag is in the
// file of the same name with ".etag" appended.
func PartialPath(tmpDir, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(tmpDir, partialPrefix+hex.EncodeToString(sum[:16]))
}

// SweepPartialDownloads removes the partial download files in tmpDir, and
// their recorded ETags, that were last written more than olderThan ago and
// that no fetch holds locked. Resuming such a download is then no longer
// possible; it starts again from the first byte.
func SweepPartialDownloads(tmpDir string, olderThan time.Duration) error {
	entries, err := os.ReadDir(tmpDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep partial downloads: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, partialPrefix) || strings.HasSuffix(name, ".etag") {
			continue
		}
		if err := sweepPartial(filepath.Join(tmpDir, name), cutoff); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sweepPartial(path string, cutoff time.Time) error {
	file, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep partial download: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return fmt.Errorf("sweep partial download: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.ModTime().After(cutoff) {
		return nil
	}
	// A fetch holds the file locked while it downloads into it.
	if err := unix.Flock(int(file.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil
		}
		return &os.PathError{Op: "flock", Path: path, Err: err}
	}
	for _, p := range []string{path, path + ".etag"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sweep partial download: %w", err)
		}
	}
	return nil
}
