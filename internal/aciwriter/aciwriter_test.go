package aciwriter

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testManifest = `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/test",` +
	`"labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}`

// makeRootfs builds a small rootfs with a file, a nested directory, a
// symlink, a setuid file and two hard links to one inode.
func makeRootfs(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	mustMkdir(t, filepath.Join(root, "etc"), 0o755)
	mustMkdir(t, filepath.Join(root, "tmp"), 0o755)
	if err := os.Chmod(filepath.Join(root, "tmp"), os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "etc", "passwd"), "root:x:0:0::/:/bin/sh\n", 0o644)
	mustWrite(t, filepath.Join(root, "suid"), "#!/bin/sh\n", 0o755)
	if err := os.Chmod(filepath.Join(root, "suid"), os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "a"), "shared data", 0o600)
	if err := os.Link(filepath.Join(root, "a"), filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../etc/passwd", filepath.Join(root, "etc", "link")); err != nil {
		t.Fatal(err)
	}
	return root
}

func mustMkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(p, mode); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// readEntries decompresses an ACI and returns its headers in order, with
// the content of regular files keyed by name.
func readEntries(t *testing.T, aci []byte) ([]*tar.Header, map[string]string) {
	t.Helper()
	stream, err := Decompress(bytes.NewReader(aci))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(stream)
	var headers []*tar.Header
	contents := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		headers = append(headers, hdr)
		if hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			contents[hdr.Name] = string(data)
		}
	}
	return headers, contents
}

func writeACI(t *testing.T, rootfs string, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, []byte(testManifest), rootfs, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestWriteEntriesAndOrder(t *testing.T) {
	rootfs := makeRootfs(t)
	aci := writeACI(t, rootfs, Options{
		Owners:    map[string]Owner{"/etc/passwd": {UID: 1000, GID: 2000}},
		HardLinks: true,
	})
	headers, contents := readEntries(t, aci)

	var names []string
	byName := map[string]*tar.Header{}
	for _, hdr := range headers {
		names = append(names, hdr.Name)
		byName[hdr.Name] = hdr
	}
	want := []string{"manifest", "rootfs/", "rootfs/a", "rootfs/b", "rootfs/etc/",
		"rootfs/etc/link", "rootfs/etc/passwd", "rootfs/suid", "rootfs/tmp/"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("entries = %q, want %q", names, want)
	}
	if contents["manifest"] != testManifest {
		t.Errorf("manifest content = %q, want the input bytes", contents["manifest"])
	}

	for _, hdr := range headers {
		if !hdr.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: mtime = %v, want the Unix epoch", hdr.Name, hdr.ModTime)
		}
		if hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: uname/gname = %q/%q, want empty", hdr.Name, hdr.Uname, hdr.Gname)
		}
		if hdr.Name == "rootfs/etc/passwd" {
			continue
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s: owner = %d:%d, want 0:0", hdr.Name, hdr.Uid, hdr.Gid)
		}
	}

	t.Run("owner override", func(t *testing.T) {
		hdr := byName["rootfs/etc/passwd"]
		if hdr.Uid != 1000 || hdr.Gid != 2000 {
			t.Errorf("owner = %d:%d, want 1000:2000", hdr.Uid, hdr.Gid)
		}
	})
	t.Run("symlink target kept", func(t *testing.T) {
		hdr := byName["rootfs/etc/link"]
		if hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "../etc/passwd" {
			t.Errorf("type %c linkname %q, want symlink to ../etc/passwd", hdr.Typeflag, hdr.Linkname)
		}
	})
	t.Run("hard link stored once", func(t *testing.T) {
		hdr := byName["rootfs/b"]
		if hdr.Typeflag != tar.TypeLink || hdr.Linkname != "rootfs/a" {
			t.Errorf("type %c linkname %q, want hard link to rootfs/a", hdr.Typeflag, hdr.Linkname)
		}
		if contents["rootfs/a"] != "shared data" {
			t.Errorf("rootfs/a content = %q, want %q", contents["rootfs/a"], "shared data")
		}
	})
	t.Run("special mode bits", func(t *testing.T) {
		if got := byName["rootfs/suid"].Mode; got != 0o4755 {
			t.Errorf("suid mode = %o, want 4755", got)
		}
		if got := byName["rootfs/tmp/"].Mode; got != 0o1777 {
			t.Errorf("tmp mode = %o, want 1777", got)
		}
		if got := byName["rootfs/a"].Mode; got != 0o600 {
			t.Errorf("a mode = %o, want 600", got)
		}
	})
}

func TestWriteHardLinksOffCopiesData(t *testing.T) {
	_, contents := readEntries(t, writeACI(t, makeRootfs(t), Options{}))
	if contents["rootfs/b"] != "shared data" {
		t.Errorf("rootfs/b content = %q, want a full copy", contents["rootfs/b"])
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	rootfs := makeRootfs(t)
	first := writeACI(t, rootfs, Options{})

	// Changing times on disk must not change the archive.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(rootfs, "etc", "passwd"), later, later); err != nil {
		t.Fatal(err)
	}
	second := writeACI(t, rootfs, Options{})
	if !bytes.Equal(first, second) {
		t.Fatal("two writes of one rootfs differ")
	}

	plain := writeACI(t, rootfs, Options{Compression: None})
	gzipID, err := ImageID(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	plainID, err := ImageID(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	if gzipID != plainID {
		t.Errorf("image ID of gzip ACI %s != image ID of plain ACI %s", gzipID, plainID)
	}
	if !strings.HasPrefix(gzipID, "sha512-") || len(gzipID) != len("sha512-")+128 {
		t.Errorf("image ID %q is not sha512- and 128 hex digits", gzipID)
	}
}

func TestWriteGzipHeaderHasNoNameOrTime(t *testing.T) {
	aci := writeACI(t, makeRootfs(t), Options{})
	// RFC 1952: bytes 4-7 are MTIME and bit 3 of FLG (byte 3) is FNAME.
	if flags := aci[3]; flags&0x08 != 0 {
		t.Errorf("gzip FLG = %#x, FNAME set", flags)
	}
	if !bytes.Equal(aci[4:8], []byte{0, 0, 0, 0}) {
		t.Errorf("gzip MTIME = % x, want zero", aci[4:8])
	}
}

func TestWriteKeepModTimes(t *testing.T) {
	rootfs := makeRootfs(t)
	stamp := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(rootfs, "etc", "passwd"), stamp, stamp); err != nil {
		t.Fatal(err)
	}
	headers, _ := readEntries(t, writeACI(t, rootfs, Options{KeepModTimes: true}))
	for _, hdr := range headers {
		if hdr.Name == "rootfs/etc/passwd" && !hdr.ModTime.Equal(stamp) {
			t.Errorf("mtime = %v, want %v", hdr.ModTime, stamp)
		}
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	rootfs := makeRootfs(t)
	tests := []struct {
		name     string
		manifest string
		rootfs   string
		opts     Options
		wantErr  string
	}{
		{name: "invalid manifest", manifest: `{"acKind":"ImageManifest"}`, rootfs: rootfs, wantErr: "check image manifest"},
		{name: "unused owner override", manifest: testManifest, rootfs: rootfs,
			opts: Options{Owners: map[string]Owner{"etc/shadow": {UID: 1, GID: 1}}}, wantErr: `"/etc/shadow": no such path`},
		{name: "negative owner", manifest: testManifest, rootfs: rootfs,
			opts: Options{Owners: map[string]Owner{"etc/passwd": {UID: -1, GID: 0}}}, wantErr: "negative id"},
		{name: "missing rootfs", manifest: testManifest, rootfs: filepath.Join(rootfs, "nope"), wantErr: "read rootfs"},
		{name: "rootfs is a file", manifest: testManifest, rootfs: filepath.Join(rootfs, "suid"), wantErr: "is not a directory"},
		{name: "unknown compression", manifest: testManifest, rootfs: rootfs, opts: Options{Compression: 7}, wantErr: "unknown compression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(io.Discard, []byte(tt.manifest), tt.rootfs, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Write error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseCompression(t *testing.T) {
	for _, c := range []Compression{Gzip, None} {
		got, err := ParseCompression(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCompression(%q) = %v, %v", c.String(), got, err)
		}
	}
	if _, err := ParseCompression("bzip2"); err == nil {
		t.Error("ParseCompression(\"bzip2\") returned no error")
	}
}
