package build

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/internal/aciwriter"
	"github.com/rktfly/rkt/internal/testbuild"
)

// aciEntry is one tar entry of an ACI, with the data of regular files.
type aciEntry struct {
	header *tar.Header
	data   []byte
}

// readACI returns the entries of the ACI at path, keyed by their name
// without a trailing slash, and the names in archive order.
func readACI(t *testing.T, path string) (map[string]aciEntry, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stream, err := aciwriter.Decompress(f)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]aciEntry{}
	var order []string
	tr := tar.NewReader(stream)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if _, dup := entries[name]; dup {
			t.Errorf("%s: duplicate entry %q", path, name)
		}
		entry := aciEntry{header: hdr}
		if hdr.Typeflag == tar.TypeReg {
			if entry.data, err = io.ReadAll(tr); err != nil {
				t.Fatalf("read %s from %s: %v", name, path, err)
			}
		}
		entries[name] = entry
		order = append(order, name)
	}
	return entries, order
}

// imageManifest decodes and validates the manifest entry of an ACI.
func imageManifest(t *testing.T, entries map[string]aciEntry) schema.ImageManifest {
	t.Helper()
	entry, ok := entries["manifest"]
	if !ok {
		t.Fatal("no manifest entry")
	}
	var im schema.ImageManifest
	if err := json.Unmarshal(entry.data, &im); err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
	return im
}

// expectedAppcArch returns the appc arch label for the running GOARCH.
func expectedAppcArch(t *testing.T) string {
	t.Helper()
	flavor := ""
	if runtime.GOARCH == "arm" {
		out, err := exec.Command("go", "env", "GOARM").Output()
		if err != nil {
			t.Fatal(err)
		}
		flavor = strings.SplitN(strings.TrimSpace(string(out)), ",", 2)[0]
	}
	_, arch, err := types.ToAppcOSArch(runtime.GOOS, runtime.GOARCH, flavor)
	if err != nil {
		t.Fatal(err)
	}
	return arch
}

// configValue returns a variable of the config.mk that ./configure wrote.
func configValue(t *testing.T, key string) string {
	t.Helper()
	path := filepath.Join(testbuild.RepoRoot(t), "config.mk")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("read build settings: %v (run ./configure first)", err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), "=")
		if ok && strings.TrimSpace(name) == key {
			return strings.TrimSpace(value)
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("%s has no %s", path, key)
	return ""
}

// rktVersion returns the version the build used: $RKT_VERSION as the
// Makefile exports it, else the value in config.mk.
func rktVersion(t *testing.T) string {
	t.Helper()
	if version := os.Getenv("RKT_VERSION"); version != "" {
		return version
	}
	return configValue(t, "RKT_VERSION")
}

// actool returns the path of appc's actool: $ACTOOL as the Makefile exports
// it, else a fresh build in a temporary directory.
func actool(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("ACTOOL"); path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	path := filepath.Join(t.TempDir(), "actool")
	cmd := exec.Command("go", "build", "-o", path, "github.com/appc/spec/actool")
	cmd.Dir = testbuild.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build actool: %v\n%s", err, out)
	}
	return path
}

// runCommand runs name with args in dir and returns its combined output. The
// test fails when the command fails.
func runCommand(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
