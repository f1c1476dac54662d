package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

// testEntry is one tar entry of a test ACI. Names are written as given.
type testEntry struct {
	name     string
	typeflag byte
	body     string
	linkname string
	mode     int64
	uid, gid int
}

func dirEntry(name string) testEntry {
	return testEntry{name: name, typeflag: tar.TypeDir, mode: 0o755}
}
func fileEntry(name, body string) testEntry {
	return testEntry{name: name, typeflag: tar.TypeReg, body: body, mode: 0o644}
}
func symlinkEntry(name, target string) testEntry {
	return testEntry{name: name, typeflag: tar.TypeSymlink, linkname: target, mode: 0o777}
}

var testModTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func manifestJSON(name string, labels map[string]string, extra string) string {
	var parts []string
	for k, v := range labels {
		parts = append(parts, fmt.Sprintf(`{"name":%q,"value":%q}`, k, v))
	}
	m := fmt.Sprintf(`{"acKind":"ImageManifest","acVersion":"0.8.11","name":%q,"labels":[%s]%s}`,
		name, strings.Join(parts, ","), extra)
	return m
}

// buildTar returns an uncompressed tar of the entries.
func buildTar(t *testing.T, entries []testEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:     e.name,
			Typeflag: e.typeflag,
			Linkname: e.linkname,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			Size:     int64(len(e.body)),
			ModTime:  testModTime,
			Format:   tar.FormatPAX,
		}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %s: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatalf("write %s: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close tar: %v", err)
	}
	return buf.Bytes()
}

// simpleACI returns the entries of a valid image with a few files.
func simpleACI(name string, labels map[string]string, extraManifest string, files ...testEntry) []testEntry {
	entries := []testEntry{
		fileEntry("manifest", manifestJSON(name, labels, extraManifest)),
		dirEntry("rootfs"),
	}
	return append(entries, files...)
}

func keyOf(tarBytes []byte) string {
	sum := sha512.Sum512(tarBytes)
	return "sha512-" + hex.EncodeToString(sum[:])[:64]
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bzip2Bytes(t *testing.T, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 command not installed; the standard library has no bzip2 writer")
	}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bzip2: %v", err)
	}
	return out
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func openTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	base := t.TempDir()
	s, err := Open(filepath.Join(base, "cas"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, base
}

// requireEmptyStore checks that nothing of an image is visible or left over.
func requireEmptyStore(t *testing.T, s *Store) {
	t.Helper()
	images, err := s.Images()
	if err != nil {
		t.Fatalf("Images: %v", err)
	}
	if len(images) != 0 {
		t.Errorf("Images() = %d images, want none", len(images))
	}
	for _, sub := range []string{"image", "tree", "tmp"} {
		entries, err := os.ReadDir(filepath.Join(s.Dir(), sub))
		if err != nil {
			t.Fatalf("read %s: %v", sub, err)
		}
		if len(entries) != 0 {
			t.Errorf("%s/ has %d entries after failed import, want none (first %q)", sub, len(entries), entries[0].Name())
		}
	}
}
