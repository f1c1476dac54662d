package poddir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWritePidFormatAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), PidFile)
	if err := WritePid(path, 4242); err != nil {
		t.Fatalf("WritePid: %v", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "4242\n" {
		t.Errorf("content = %q, want %q", data, "4242\n")
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o644 {
		t.Errorf("mode = %o, want 644", mode)
	}
}

func TestWritePidModeUnderStrictUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	path := filepath.Join(t.TempDir(), PidFile)
	if err := WritePid(path, 4242); err != nil {
		t.Fatalf("WritePid: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o644 {
		t.Errorf("mode = %o, want 644", mode)
	}
}

func TestWritePidReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, PidFile)
	if err := WritePid(path, 1); err != nil {
		t.Fatal(err)
	}
	if err := WritePid(path, 77); err != nil {
		t.Fatal(err)
	}

	pid, err := ReadPid(path)
	if err != nil {
		t.Fatal(err)
	}
	if pid != 77 {
		t.Errorf("ReadPid = %d, want 77", pid)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory has %d entries, want only %s", len(entries), PidFile)
	}
}

func TestWritePidRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := WritePid(PidFile, 9); err != nil {
		t.Fatalf("WritePid(%q): %v", PidFile, err)
	}
	pid, err := ReadPid(PidFile)
	if err != nil {
		t.Fatal(err)
	}
	if pid != 9 {
		t.Errorf("ReadPid = %d, want 9", pid)
	}
}

func TestWritePidRejectsNonPositive(t *testing.T) {
	path := filepath.Join(t.TempDir(), PidFile)
	if err := WritePid(path, 0); err == nil {
		t.Error("WritePid(0) succeeded, want error")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file exists after rejected write: %v", err)
	}
}

func TestReadPidContents(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    int
		wantErr bool
	}{
		{name: "number with newline", content: "123\n", want: 123},
		{name: "number without newline", content: "123", want: 123},
		{name: "trailing spaces", content: "123 \r\n", want: 123},
		{name: "empty file", content: "", wantErr: true},
		{name: "not a number", content: "abc\n", wantErr: true},
		{name: "leading space", content: " 123\n", wantErr: true},
		{name: "zero", content: "0\n", wantErr: true},
		{name: "negative", content: "-5\n", wantErr: true},
		{name: "two lines", content: "1\n2\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), PidFile)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadPid(path)
			if tt.wantErr {
				if err == nil {
					t.Errorf("ReadPid(%q) = %d, want error", tt.content, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadPid(%q): %v", tt.content, err)
			}
			if got != tt.want {
				t.Errorf("ReadPid(%q) = %d, want %d", tt.content, got, tt.want)
			}
		})
	}
}

func TestReadPidMissingFile(t *testing.T) {
	_, err := ReadPid(filepath.Join(t.TempDir(), PidFile))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadPid of a missing file: err = %v, want fs.ErrNotExist", err)
	}
}
