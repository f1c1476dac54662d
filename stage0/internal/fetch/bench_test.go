package fetch

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// BenchmarkFetchLoopback downloads the ACI named by $RKT_BENCH_ACI from an
// https server on 127.0.0.1 into a fresh store, unverified, as
// `rkt --insecure-options=image fetch URL` does (without rendering). Compare
// with `curl -o /dev/null` of the same URL plus `tar -xzf` of the file.
func BenchmarkFetchLoopback(b *testing.B) {
	path := os.Getenv("RKT_BENCH_ACI")
	if path == "" {
		b.Skip("set RKT_BENCH_ACI to the path of an ACI to fetch")
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	srv := newTestServer(b)
	srv.mux.HandleFunc("/bench.aci", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
	})
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		st, err := store.Open(filepath.Join(dir, "cas"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		f := &Fetcher{
			Store:       st,
			TmpDir:      filepath.Join(dir, "tmp"),
			NoRender:    true,
			RootCAs:     srv.ca.Pool,
			DialContext: srv.dial,
			Insecure:    InsecureOptions{Image: true},
		}
		b.StartTimer()
		if _, err := f.FetchImage(context.Background(), "https://example.com/bench.aci", imageref.PullUpdate); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
