package sysfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFileMatchesOS(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	large := filepath.Join(dir, "large")
	empty := filepath.Join(dir, "empty")
	files := map[string][]byte{
		small: []byte("{\"acKind\":\"PodManifest\"}\n"),
		large: bytes.Repeat([]byte("0123456789abcdef"), 3*readChunk/16+5),
		empty: nil,
	}
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Files in /proc have size 0 in fstat, so ReadFile grows its buffer.
	for _, name := range []string{small, large, empty, "/proc/self/mountinfo"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(name)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ReadFile returned %d bytes, os.ReadFile %d", len(got), len(want))
			}
		})
	}
}

func TestReadFileMissingMessage(t *testing.T) {
	name := filepath.Join(t.TempDir(), "missing")
	_, want := os.ReadFile(name)
	_, err := ReadFile(name)
	if err == nil {
		t.Fatal("ReadFile of a missing file succeeded")
	}
	if err.Error() != want.Error() {
		t.Errorf("error = %q, want %q as from os.ReadFile", err, want)
	}
	if !os.IsNotExist(err) {
		t.Errorf("os.IsNotExist(%v) = false", err)
	}
}

func TestWriteFileTruncatesAndKeepsUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)

	name := filepath.Join(t.TempDir(), "env")
	if err := WriteFile(name, []byte("A=1\nB=2\n"), 0o644); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if err := WriteFile(name, []byte("A=1\n"), 0o644); err != nil {
		t.Fatalf("WriteFile again: %v", err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "A=1\n" {
		t.Errorf("content = %q, want %q", data, "A=1\n")
	}
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o640 {
		t.Errorf("mode = %o, want 640 (0644 under umask 027)", mode)
	}
}

func TestWriteFileModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	name := filepath.Join(t.TempDir(), "runtime-config")
	if err := WriteFileMode(name, []byte("{}"), 0o644); err != nil {
		t.Fatalf("WriteFileMode: %v", err)
	}
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o644 {
		t.Errorf("mode = %o, want 644", mode)
	}
}

func TestWriteFileModeResetsExistingMode(t *testing.T) {
	name := filepath.Join(t.TempDir(), "runtime-config")
	if err := os.WriteFile(name, []byte("old content, longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, 0o4600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileMode(name, []byte("{}"), 0o644); err != nil {
		t.Fatalf("WriteFileMode: %v", err)
	}
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode() & (os.ModePerm | os.ModeSetuid); mode != 0o644 {
		t.Errorf("mode = %v, want -rw-r--r--", mode)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "{}" {
		t.Errorf("content = %q, want %q", data, "{}")
	}
}

func TestWriteFileMissingDirMessage(t *testing.T) {
	name := filepath.Join(t.TempDir(), "missing", "file")
	want := os.WriteFile(name, nil, 0o644)
	err := WriteFile(name, nil, 0o644)
	if err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
	if err.Error() != want.Error() {
		t.Errorf("error = %q, want %q as from os.WriteFile", err, want)
	}
	if !strings.HasPrefix(err.Error(), "open ") {
		t.Errorf("error = %q, want an open error", err)
	}
}
