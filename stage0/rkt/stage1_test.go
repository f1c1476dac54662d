package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckInImagesDirMissingFile(t *testing.T) {
	dir := t.TempDir()
	fix := `set "stage1-images" in a paths.d file under --local-config or --system-config, or use --stage1-path`
	cases := []struct {
		name       string
		configured bool
		origin     string
	}{
		{name: "build default", configured: false, origin: "(the build default)"},
		{name: "configured", configured: true, origin: `(set by "stage1-images" in a paths.d file)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkInImagesDir(dir, "stage1-fly.aci", tc.configured)
			if err == nil {
				t.Fatal("checkInImagesDir succeeded for a missing file")
			}
			want := "not found in the stage1 images directory " + dir + " " + tc.origin + ": " + fix
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if n := strings.Count(err.Error(), dir); n != 1 {
				t.Errorf("error names the directory %d times, want once", n)
			}
		})
	}
}

func TestCheckInImagesDirMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	err := checkInImagesDir(dir, "stage1-fly.aci", false)
	if err == nil {
		t.Fatal("checkInImagesDir succeeded for a missing directory")
	}
	if !strings.Contains(err.Error(), "not found in the stage1 images directory "+dir) {
		t.Errorf("error = %q, want it to name %s", err, dir)
	}
}

func TestCheckInImagesDirExistingFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stage1-fly.aci"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkInImagesDir(dir, "stage1-fly.aci", true); err != nil {
		t.Errorf("checkInImagesDir: %v, want nil for an existing file", err)
	}
}
