package localfetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// writeACI writes a gzip-compressed ACI of the image name with the labels
// version=1.0, os=linux and arch=amd64 and an empty rootfs to dir/file.
func writeACI(t *testing.T, dir, file, name string) string {
	t.Helper()
	manifest, err := json.Marshal(map[string]any{
		"acKind":    "ImageManifest",
		"acVersion": "0.8.11",
		"name":      name,
		"labels": []map[string]string{
			{"name": "version", "value": "1.0"},
			{"name": "os", "value": "linux"},
			{"name": "arch", "value": "amd64"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	modTime := time.Unix(1_600_000_000, 0)
	entries := []struct {
		hdr  tar.Header
		body []byte
	}{
		{hdr: tar.Header{Name: "manifest", Mode: 0o644, Size: int64(len(manifest)), Typeflag: tar.TypeReg}, body: manifest},
		{hdr: tar.Header{Name: "rootfs", Mode: 0o755, Typeflag: tar.TypeDir}},
	}
	for _, e := range entries {
		e.hdr.ModTime = modTime
		if err := tw.WriteHeader(&e.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// openStore opens an empty image store in a temporary directory.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "cas"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// imageCount returns the number of images in st.
func imageCount(t *testing.T, st *store.Store) int {
	t.Helper()
	images, err := st.Images()
	if err != nil {
		t.Fatal(err)
	}
	return len(images)
}

// acceptingVerifier accepts every signature and counts the checks.
type acceptingVerifier struct {
	checks int
}

func (v *acceptingVerifier) Verify(name string, aci, sig io.ReadSeeker) ([]string, error) {
	v.checks++
	return []string{"Test Signer <test@example.com>"}, nil
}

// panicRemote fails the test process when a dry run calls it.
type panicRemote struct{}

func (panicRemote) DiscoverImage(context.Context, *imageref.App) (Endpoint, error) {
	panic("dry run called Remote.DiscoverImage")
}

func (panicRemote) Download(context.Context, *Fetcher, RemoteRequest, *store.RemoteRecord) (string, error) {
	panic("dry run called Remote.Download")
}
