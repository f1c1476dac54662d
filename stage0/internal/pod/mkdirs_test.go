package pod

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMkdirs(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "a")
	b := filepath.Join(a, "b")
	if err := mkdirs(0o750, a, b); err != nil {
		t.Fatalf("mkdirs: %v", err)
	}
	for _, dir := range []string{a, b} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		// The test process's umask can only clear bits.
		if !fi.IsDir() || fi.Mode().Perm()&^0o750 != 0 {
			t.Errorf("%s: mode %v, want a directory with at most 0750", dir, fi.Mode())
		}
	}

	t.Run("existing directories", func(t *testing.T) {
		if err := mkdirs(0o750, a, b); err != nil {
			t.Errorf("mkdirs of existing directories: %v", err)
		}
	})
	t.Run("file in the way", func(t *testing.T) {
		file := filepath.Join(root, "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := mkdirs(0o750, file); err == nil {
			t.Errorf("mkdirs over a regular file returned no error")
		}
	})
	t.Run("missing parent", func(t *testing.T) {
		if err := mkdirs(0o750, filepath.Join(root, "x", "y")); err == nil {
			t.Errorf("mkdirs with a missing parent returned no error")
		}
	})
}
