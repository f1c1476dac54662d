package testbuild

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// EnvBuildBin names a bin directory to use in place of the newest
// <repo>/build-rkt-*/bin.
const EnvBuildBin = "RKT_BUILD_BIN"

// RepoRoot returns the directory that contains the module's go.mod. It walks up
// from the working directory, which go test sets to the package directory,
// and then from this source file's directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, start := range starts {
		if root, ok := findGoMod(start); ok {
			return root
		}
	}
	t.Fatalf("no go.mod above %q", starts)
	return ""
}

func findGoMod(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// BinDir returns $RKT_BUILD_BIN if it is set, otherwise the bin directory of
// the most recently modified <repo>/build-rkt-*/ build. The test fails if
// there is none.
func BinDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(EnvBuildBin); dir != "" {
		requireDir(t, dir, EnvBuildBin+" names a missing bin directory")
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}

	root := RepoRoot(t)
	candidates, err := filepath.Glob(filepath.Join(root, "build-rkt-*", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	var newest string
	var newestTime time.Time
	for _, dir := range candidates {
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() {
			continue
		}
		if newest == "" || info.ModTime().After(newestTime) {
			newest, newestTime = dir, info.ModTime()
		}
	}
	if newest == "" {
		t.Fatalf("no build-rkt-*/bin under %s: run make first, or set %s", root, EnvBuildBin)
	}
	return newest
}

// RktBinary returns the path of the built rkt binary.
func RktBinary(t testing.TB) string {
	t.Helper()
	path := filepath.Join(BinDir(t), "rkt")
	requireFile(t, path)
	return path
}

// FullBinary returns the path of the built rkt-full, the rkt that does
// downloads and signature checks for rkt.
func FullBinary(t testing.TB) string {
	t.Helper()
	path := filepath.Join(BinDir(t), "rkt-full")
	requireFile(t, path)
	return path
}

// RktWithoutFull copies the built rkt and stage1-fly.aci into dir, without
// rkt-full, and returns the path of the copied rkt. Such an rkt serves only
// what needs no download and no signature check beyond a recorded one. It
// finds no rkt-full unless one is installed at its configured path.
func RktWithoutFull(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rkt", "stage1-fly.aci"} {
		src := filepath.Join(BinDir(t), name)
		requireFile(t, src)
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "rkt")
}

// Stage1ACI returns the path of the built stage1-fly.aci.
func Stage1ACI(t testing.TB) string {
	t.Helper()
	path := filepath.Join(BinDir(t), "stage1-fly.aci")
	requireFile(t, path)
	return path
}

// ImagesDir returns the directory of the test images, beside the bin
// directory.
func ImagesDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(BinDir(t)), "images")
	requireDir(t, dir, "no test images")
	return dir
}

// Image returns the path of the test image <name>.aci.
func Image(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(ImagesDir(t), name+".aci")
	requireFile(t, path)
	return path
}

func requireFile(t testing.TB, path string) {
	t.Helper()
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Fatalf("%s is missing: run make first", path)
	case err != nil:
		t.Fatal(err)
	case !info.Mode().IsRegular():
		t.Fatalf("%s is %v, want a regular file", path, info.Mode())
	}
}

func requireDir(t testing.TB, dir, reason string) {
	t.Helper()
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Fatalf("%s: %s is missing: run make first", reason, dir)
	case err != nil:
		t.Fatal(err)
	case !info.IsDir():
		t.Fatalf("%s: %s is not a directory", reason, dir)
	}
}
