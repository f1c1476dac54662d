package store

import (
	"archive/tar"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// writeBenchACI writes a gzip ACI of about size bytes of half-compressible
// file data, in files of 1 MiB, to path.
func writeBenchACI(b *testing.B, path string, size int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	manifest := manifestJSON("example.com/bench", nil, "")
	if err := tw.WriteHeader(&tar.Header{Name: "manifest", Mode: 0o644, Size: int64(len(manifest)), Typeflag: tar.TypeReg}); err != nil {
		b.Fatal(err)
	}
	if _, err := tw.Write([]byte(manifest)); err != nil {
		b.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: "rootfs", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	chunk := make([]byte, 1<<20)
	for i := 0; i*len(chunk) < size; i++ {
		for j := 0; j < len(chunk); j += 2 {
			chunk[j] = byte(rng.Intn(256))
			chunk[j+1] = 'a'
		}
		hdr := &tar.Header{Name: fmt.Sprintf("rootfs/file%04d", i), Mode: 0o644, Size: int64(len(chunk)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
}

func benchACIPath(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.aci")
	writeBenchACI(b, path, 50<<20)
	return path
}

// BenchmarkImportGzip50MB imports a 50 MiB image into a fresh store per run.
// Compare with BenchmarkTarExtractGzip50MB on the same file.
func BenchmarkImportGzip50MB(b *testing.B) {
	path := benchACIPath(b)
	for b.Loop() {
		s, err := Open(filepath.Join(b.TempDir(), "cas"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ImportFile(path, ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTarExtractGzip50MB runs tar -xzf on the file used by
// BenchmarkImportGzip50MB.
func BenchmarkTarExtractGzip50MB(b *testing.B) {
	if _, err := exec.LookPath("tar"); err != nil {
		b.Skip("tar not installed")
	}
	path := benchACIPath(b)
	for b.Loop() {
		dir := b.TempDir()
		out, err := exec.Command("tar", "-xzf", path, "-C", dir).CombinedOutput()
		if err != nil {
			b.Fatalf("tar: %v: %s", err, out)
		}
	}
}

// BenchmarkWarmImportFile measures Open and ImportFile of an unchanged file,
// the store's part of a warm rkt run.
func BenchmarkWarmImportFile(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "cas")
	path := filepath.Join(b.TempDir(), "small.aci")
	writeBenchACI(b, path, 1<<20)
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportFile(path, ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ImportFile(path, ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
