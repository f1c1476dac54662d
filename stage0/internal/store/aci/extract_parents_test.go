package aci

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// tarWithoutParents returns an ACI whose rootfs/bin/sh entry comes without
// an entry for rootfs/bin, as some image builders write them.
func tarWithoutParents(t *testing.T, withRootfs bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	manifest := []byte(`{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/parents"}`)
	entries := []struct {
		hdr  tar.Header
		data []byte
	}{
		{hdr: tar.Header{Name: "manifest", Mode: 0o644, Size: int64(len(manifest)), Typeflag: tar.TypeReg}, data: manifest},
		{hdr: tar.Header{Name: "rootfs/", Mode: 0o755, Typeflag: tar.TypeDir}},
		{hdr: tar.Header{Name: "rootfs/bin/sh", Mode: 0o755, Size: 3, Typeflag: tar.TypeReg}, data: []byte("#!\n")},
		{hdr: tar.Header{Name: "rootfs/usr/lib/x/link", Linkname: "../../../bin/sh", Typeflag: tar.TypeSymlink}},
	}
	for _, e := range entries {
		if e.hdr.Name == "rootfs/" && !withRootfs {
			continue
		}
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractCreatesMissingParents(t *testing.T) {
	for _, withRootfs := range []bool{true, false} {
		name := "with rootfs entry"
		if !withRootfs {
			name = "without rootfs entry"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Extract(bytes.NewReader(tarWithoutParents(t, withRootfs)), dir, ExtractOptions{}); err != nil {
				t.Fatalf("Extract: %v", err)
			}
			for _, d := range []string{"rootfs", "rootfs/bin", "rootfs/usr", "rootfs/usr/lib", "rootfs/usr/lib/x"} {
				fi, err := os.Lstat(filepath.Join(dir, d))
				if err != nil {
					t.Errorf("missing parent %s: %v", d, err)
					continue
				}
				if !fi.IsDir() {
					t.Errorf("%s is %v, want a directory", d, fi.Mode())
				}
				if d != "rootfs" && fi.Mode().Perm() != 0o755 {
					t.Errorf("%s has mode %v, want 0755", d, fi.Mode().Perm())
				}
			}
			data, err := os.ReadFile(filepath.Join(dir, "rootfs/bin/sh"))
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != "#!\n" {
				t.Errorf("rootfs/bin/sh = %q, want %q", data, "#!\n")
			}
			target, err := os.Readlink(filepath.Join(dir, "rootfs/usr/lib/x/link"))
			if err != nil {
				t.Fatal(err)
			}
			if target != "../../../bin/sh" {
				t.Errorf("link target = %q", target)
			}
		})
	}
}
