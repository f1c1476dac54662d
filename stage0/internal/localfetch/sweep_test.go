package localfetch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSweepPartialDownloads(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	write := func(name string, mtime time.Time) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return path
	}
	stale := write("rkt-download-aa", old)
	staleETag := write("rkt-download-aa.etag", old)
	fresh := write("rkt-download-bb", time.Now())
	locked := write("rkt-download-cc", old)
	other := write("unrelated", old)

	holder, err := os.Open(locked)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := unix.Flock(int(holder.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	if err := SweepPartialDownloads(dir, 24*time.Hour); err != nil {
		t.Fatalf("SweepPartialDownloads: %v", err)
	}
	for _, gone := range []string{stale, staleETag} {
		if _, err := os.Stat(gone); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the sweep: %v, want it removed", filepath.Base(gone), err)
		}
	}
	for _, kept := range []string{fresh, locked, other} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s after the sweep: %v, want it kept", filepath.Base(kept), err)
		}
	}
}

func TestSweepPartialDownloadsMissingDir(t *testing.T) {
	if err := SweepPartialDownloads(filepath.Join(t.TempDir(), "absent"), time.Hour); err != nil {
		t.Fatalf("SweepPartialDownloads of a missing directory: %v", err)
	}
}
