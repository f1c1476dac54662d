package lock

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func openDir(t *testing.T, path string) *Lock {
	t.Helper()
	l, err := OpenDir(path)
	if err != nil {
		t.Fatalf("OpenDir(%q): %v", path, err)
	}
	t.Cleanup(func() { closeLock(t, l) })
	return l
}

// closeLock closes l unless the test already closed it.
func closeLock(t *testing.T, l *Lock) {
	t.Helper()
	if l.Fd() < 0 {
		return
	}
	if err := l.Close(); err != nil {
		t.Errorf("close %s: %v", l.Path(), err)
	}
}

func TestTryExclusiveConflictsWithExclusive(t *testing.T) {
	dir := t.TempDir()
	a, b := openDir(t, dir), openDir(t, dir)

	if err := a.TryExclusive(); err != nil {
		t.Fatalf("first TryExclusive: %v", err)
	}
	err := b.TryExclusive()
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryExclusive: err = %v, want ErrLocked", err)
	}
	if err := b.TryShared(); !errors.Is(err, ErrLocked) {
		t.Errorf("TryShared under an exclusive lock: err = %v, want ErrLocked", err)
	}

	if err := a.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := b.TryExclusive(); err != nil {
		t.Errorf("TryExclusive after Unlock: %v", err)
	}
}

func TestSharedLocksCoexist(t *testing.T) {
	dir := t.TempDir()
	a, b, c := openDir(t, dir), openDir(t, dir), openDir(t, dir)

	if err := a.TryShared(); err != nil {
		t.Fatalf("first TryShared: %v", err)
	}
	if err := b.Shared(); err != nil {
		t.Fatalf("second Shared: %v", err)
	}
	if err := c.TryExclusive(); !errors.Is(err, ErrLocked) {
		t.Errorf("TryExclusive under shared locks: err = %v, want ErrLocked", err)
	}
}

func TestErrLockedMessageNamesPath(t *testing.T) {
	dir := t.TempDir()
	a, b := openDir(t, dir), openDir(t, dir)
	if err := a.Exclusive(); err != nil {
		t.Fatal(err)
	}
	err := b.TryShared()
	want := "try lock shared " + dir + ": lock is held by another process"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestExclusiveWaitsForRelease(t *testing.T) {
	dir := t.TempDir()
	a, b := openDir(t, dir), openDir(t, dir)
	if err := a.Exclusive(); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- b.Exclusive() }()

	select {
	case err := <-done:
		t.Fatalf("Exclusive returned while another fd held the lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Exclusive after the holder closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Exclusive still waiting 5s after the holder closed its fd")
	}
}

func TestLockSurvivesRename(t *testing.T) {
	base := t.TempDir()
	oldPath := filepath.Join(base, "prepare")
	newPath := filepath.Join(base, "run")
	if err := os.Mkdir(oldPath, 0o750); err != nil {
		t.Fatal(err)
	}
	a := openDir(t, oldPath)
	if err := a.Exclusive(); err != nil {
		t.Fatal(err)
	}

	if err := os.Rename(oldPath, newPath); err != nil {
		t.Fatal(err)
	}
	b := openDir(t, newPath)
	if err := b.TryShared(); !errors.Is(err, ErrLocked) {
		t.Errorf("TryShared on the renamed directory: err = %v, want ErrLocked", err)
	}
}

func TestOpenDirRejectsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDir(path)
	if !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("OpenDir of a file: err = %v, want ENOTDIR", err)
	}
	var pathErr *fs.PathError
	if !errors.As(err, &pathErr) || pathErr.Path != path {
		t.Errorf("OpenDir error %v does not name path %q", err, path)
	}
}

func TestOpenDirMissing(t *testing.T) {
	_, err := OpenDir(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestOpenFileCreatesWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prepareLock")
	old := unix.Umask(0)
	defer unix.Umask(old)

	l, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	t.Cleanup(func() { closeLock(t, l) })

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want regular file 0600", info.Mode())
	}

	other, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile of an existing file: %v", err)
	}
	t.Cleanup(func() { closeLock(t, other) })
	if err := l.Shared(); err != nil {
		t.Fatal(err)
	}
	if err := other.TryExclusive(); !errors.Is(err, ErrLocked) {
		t.Errorf("TryExclusive on the lock file: err = %v, want ErrLocked", err)
	}
}

func TestFromFdClearCloexec(t *testing.T) {
	dir := t.TempDir()
	opened := openDir(t, dir)
	fd, err := unix.FcntlInt(uintptr(opened.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	l := FromFd(fd, dir)
	t.Cleanup(func() { closeLock(t, l) })

	if l.Fd() != fd || l.Path() != dir {
		t.Errorf("FromFd = (%d, %q), want (%d, %q)", l.Fd(), l.Path(), fd, dir)
	}
	if err := l.ClearCloexec(); err != nil {
		t.Fatalf("ClearCloexec: %v", err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC != 0 {
		t.Error("FD_CLOEXEC is still set")
	}

	// A dup shares the open file description, so it shares the lock too.
	if err := l.TryExclusive(); err != nil {
		t.Fatal(err)
	}
	if err := opened.TryExclusive(); err != nil {
		t.Errorf("TryExclusive through the original fd of the same description: %v", err)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	l, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if l.Fd() != -1 {
		t.Errorf("Fd after Close = %d, want -1", l.Fd())
	}
	if err := l.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: err = %v, want os.ErrClosed", err)
	}
	if err := l.TryShared(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("TryShared after Close: err = %v, want os.ErrClosed", err)
	}
	if err := l.ClearCloexec(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ClearCloexec after Close: err = %v, want os.ErrClosed", err)
	}
}
