package aci

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testTar returns a tar of headers, each regular file with body "data".
func testTar(t *testing.T, headers []tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range headers {
		hdr := h
		var body []byte
		if hdr.Typeflag == tar.TypeReg {
			body = []byte("data")
			if strings.TrimPrefix(hdr.Name, "./") == "manifest" {
				body = []byte(`{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/dots"}`)
			}
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExtractGNUTarDotEntries extracts an archive laid out as
// "tar -C dir -c ." writes it: a "./" root entry first and every name
// starting with "./".
func TestExtractGNUTarDotEntries(t *testing.T) {
	archive := testTar(t, []tar.Header{
		{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir},
		{Name: "./manifest", Mode: 0o644, Typeflag: tar.TypeReg},
		{Name: "./rootfs/", Mode: 0o755, Typeflag: tar.TypeDir},
		{Name: "./rootfs/bin/", Mode: 0o755, Typeflag: tar.TypeDir},
		{Name: "./rootfs/bin/true", Mode: 0o755, Typeflag: tar.TypeReg},
		{Name: "rootfs/./dot", Mode: 0o644, Typeflag: tar.TypeReg},
		{Name: "./rootfs/./etc/././hosts", Mode: 0o644, Typeflag: tar.TypeReg},
		{Name: "./rootfs/link", Linkname: "./rootfs/./bin/true", Typeflag: tar.TypeLink},
	})
	dir := t.TempDir()
	result, err := Extract(bytes.NewReader(archive), dir, ExtractOptions{})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if got := result.Manifest.Name.String(); got != "example.com/dots" {
		t.Errorf("manifest name = %q, want example.com/dots", got)
	}
	for _, name := range []string{"rootfs/bin/true", "rootfs/dot", "rootfs/etc/hosts", "rootfs/link"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("read %s: %v", name, err)
			continue
		}
		if string(data) != "data" {
			t.Errorf("%s = %q, want %q", name, data, "data")
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, e := range entries {
		top = append(top, e.Name())
	}
	if strings.Join(top, ",") != "manifest,rootfs" {
		t.Errorf("top-level entries = %v, want [manifest rootfs]", top)
	}
}

func TestExtractRejectsBadNames(t *testing.T) {
	valid := []tar.Header{
		{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir},
		{Name: "./manifest", Mode: 0o644, Typeflag: tar.TypeReg},
		{Name: "./rootfs/", Mode: 0o755, Typeflag: tar.TypeDir},
	}
	cases := []struct {
		name    string
		extra   tar.Header
		wantErr string
	}{
		{name: "dot-dot after dot", extra: tar.Header{Name: "./rootfs/./../x", Typeflag: tar.TypeReg}, wantErr: `contains ".."`},
		{name: "dot then dot-dot", extra: tar.Header{Name: "./../x", Typeflag: tar.TypeReg}, wantErr: `contains ".."`},
		{name: "absolute", extra: tar.Header{Name: "/./rootfs/x", Typeflag: tar.TypeReg}, wantErr: "absolute name"},
		{name: "empty component", extra: tar.Header{Name: "rootfs//x", Typeflag: tar.TypeReg}, wantErr: "empty path component"},
		{name: "root entry as file", extra: tar.Header{Name: ".", Typeflag: tar.TypeReg}, wantErr: "names the archive root but is not a directory"},
		{name: "dot outside rootfs", extra: tar.Header{Name: "./etc/./passwd", Typeflag: tar.TypeReg}, wantErr: "unexpected top-level entry"},
		{name: "hard link to root", extra: tar.Header{Name: "rootfs/x", Linkname: "./", Typeflag: tar.TypeLink}, wantErr: "outside rootfs/"},
		{name: "hard link to manifest", extra: tar.Header{Name: "rootfs/x", Linkname: "./rootfs/../manifest", Typeflag: tar.TypeLink}, wantErr: `contains ".."`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			archive := testTar(t, append(append([]tar.Header(nil), valid...), tc.extra))
			_, err := Extract(bytes.NewReader(archive), t.TempDir(), ExtractOptions{})
			if err == nil {
				t.Fatal("Extract succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidACI) {
				t.Errorf("error %q does not wrap ErrInvalidACI", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
