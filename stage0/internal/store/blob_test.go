package store

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestImageTarRoundTrip(t *testing.T) {
	tarBytes := buildTar(t, simpleACI("example.com/app", nil, "",
		dirEntry("rootfs/etc"),
		fileEntry("rootfs/etc/hostname", "app\n")))
	formats := []struct {
		name     string
		compress func(*testing.T, []byte) []byte
	}{
		{name: "uncompressed", compress: func(_ *testing.T, b []byte) []byte { return b }},
		{name: "gzip", compress: gzipBytes},
		{name: "xz", compress: xzBytes},
	}
	for _, format := range formats {
		t.Run(format.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			input := format.compress(t, tarBytes)
			key, err := s.Import(bytes.NewReader(input), ImportOptions{})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}

			blob, err := os.ReadFile(filepath.Join(s.imageDir(key), blobName))
			if err != nil {
				t.Fatalf("read blob: %v", err)
			}
			if !bytes.Equal(blob, input) {
				t.Errorf("blob is %d bytes, want the %d input bytes unchanged", len(blob), len(input))
			}

			rc, err := s.ImageTar(key)
			if err != nil {
				t.Fatalf("ImageTar: %v", err)
			}
			exported, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read ImageTar: %v", err)
			}
			if err := rc.Close(); err != nil {
				t.Errorf("close ImageTar: %v", err)
			}
			sum := sha512.Sum512(exported)
			if got := "sha512-" + hex.EncodeToString(sum[:])[:64]; got != key {
				t.Errorf("exported tar hashes to %s, want the key %s", got, key)
			}
			if !bytes.Equal(exported, tarBytes) {
				t.Errorf("exported tar is %d bytes, want the %d imported tar bytes", len(exported), len(tarBytes))
			}
			if err := s.VerifyImage(key); err != nil {
				t.Errorf("VerifyImage of an untouched image: %v", err)
			}
		})
	}
}

// flipByte inverts one byte of the file at path, at offset from its end.
func flipByte(t *testing.T, path string, fromEnd int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[int64(len(data))-fromEnd] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyImageTamperedBlob(t *testing.T) {
	tarBytes := buildTar(t, simpleACI("example.com/app", nil, "",
		fileEntry("rootfs/data", string(bytes.Repeat([]byte("x"), 4096)))))
	cases := []struct {
		name  string
		input []byte
		// fromEnd is the offset, from the end of the blob, of the byte to
		// change. A tar written by archive/tar ends with two zero blocks,
		// so 1024+100 is inside the content of rootfs/data. In the gzip
		// case the byte is in the compressed data before the 8-byte trailer.
		fromEnd int64
	}{
		{name: "uncompressed", input: tarBytes, fromEnd: 1024 + 100},
		{name: "gzip", input: gzipBytes(t, tarBytes), fromEnd: 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			key, err := s.Import(bytes.NewReader(tc.input), ImportOptions{})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			flipByte(t, filepath.Join(s.imageDir(key), blobName), tc.fromEnd)

			err = s.VerifyImage(key)
			if !errors.Is(err, ErrImageCorrupt) {
				t.Errorf("VerifyImage after changing one blob byte = %v, want ErrImageCorrupt", err)
			}

			rc, err := s.ImageTar(key)
			if err != nil {
				t.Fatalf("ImageTar: %v", err)
			}
			defer rc.Close()
			if _, err := io.Copy(io.Discard, rc); !errors.Is(err, ErrImageCorrupt) {
				t.Errorf("reading ImageTar of a changed blob = %v, want ErrImageCorrupt", err)
			}
		})
	}
}

func TestImageTarNotFound(t *testing.T) {
	s, _ := openTestStore(t)
	_, err := s.ImageTar("sha512-" + hex.EncodeToString(make([]byte, 32)))
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("ImageTar of an unknown key = %v, want ErrNotFound", err)
	}
	if err := s.VerifyImage("sha512-00"); !errors.Is(err, ErrNotFound) {
		t.Errorf("VerifyImage of an unknown key = %v, want ErrNotFound", err)
	}
}

// failingReader returns data and then a read error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestImportReadErrorLeavesNoBlob(t *testing.T) {
	s, _ := openTestStore(t)
	tarBytes := buildTar(t, simpleACI("example.com/app", nil, "", fileEntry("rootfs/f", "content")))
	readErr := errors.New("connection reset")
	_, err := s.Import(&failingReader{data: tarBytes[:len(tarBytes)/2], err: readErr}, ImportOptions{})
	if !errors.Is(err, readErr) {
		t.Errorf("Import of a broken stream = %v, want the read error", err)
	}
	requireEmptyStore(t, s)
}
