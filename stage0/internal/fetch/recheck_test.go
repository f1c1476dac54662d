package fetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/localfetch"
)

// trustVerifier is a testVerifier whose signer is trusted only while
// trusted is set, and whose trust state changes with it.
type trustVerifier struct {
	testVerifier
	mu      sync.Mutex
	trusted bool
	state   string
}

func (v *trustVerifier) setTrust(trusted bool, state string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.trusted, v.state = trusted, state
}

func (v *trustVerifier) Verify(name string, aci, sig io.ReadSeeker) ([]string, error) {
	v.mu.Lock()
	trusted := v.trusted
	v.mu.Unlock()
	if !trusted {
		return nil, fmt.Errorf("verify image %q: signing key is not trusted", name)
	}
	return v.testVerifier.Verify(name, aci, sig)
}

func (v *trustVerifier) TrustState(string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.state, nil
}

// fetchFileCounted fetches the file image and returns the number of stored
// blobs read for a signature check meanwhile.
func fetchFileCounted(t *testing.T, f *Fetcher, path, sigPath string) (int64, error) {
	t.Helper()
	before := localfetch.BlobChecks.Load()
	_, err := f.Fetch(context.Background(), Request{Image: path, Signature: sigPath, Policy: imageref.PullNew})
	return localfetch.BlobChecks.Load() - before, err
}

func TestFileSignatureRecheck(t *testing.T) {
	dir := t.TempDir()
	aci := buildACI(t, testImage{name: "example.com/hello"})
	path := filepath.Join(dir, "hello.aci")
	if err := os.WriteFile(path, aci, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".asc", testSignature(aci), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.asc")
	if err := os.WriteFile(junk, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, nil)
	verifier := &trustVerifier{trusted: true, state: "key A"}
	f.Verifier = verifier

	checks, err := fetchFileCounted(t, f, path, "")
	if err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	if checks != 1 {
		t.Errorf("first fetch read %d blobs, want 1", checks)
	}

	t.Run("unchanged", func(t *testing.T) {
		checks, err := fetchFileCounted(t, f, path, "")
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		if checks != 0 {
			t.Errorf("warm fetch read %d blobs, want 0", checks)
		}
	})
	t.Run("junk signature flag", func(t *testing.T) {
		checks, err := fetchFileCounted(t, f, path, junk)
		if err == nil {
			t.Fatal("fetch with a junk --signature succeeded")
		}
		if checks != 1 {
			t.Errorf("fetch read %d blobs, want 1", checks)
		}
	})
	t.Run("signature replaced", func(t *testing.T) {
		replaced := filepath.Join(dir, "replaced.asc")
		if err := os.WriteFile(replaced, testSignature(aci), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := fetchFileCounted(t, f, path, replaced); err != nil {
			t.Fatalf("fetch with a valid signature: %v", err)
		}
		if err := os.WriteFile(replaced, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := fetchFileCounted(t, f, path, replaced); err == nil {
			t.Fatal("fetch with a signature file overwritten by junk succeeded")
		}
	})
	t.Run("key removed", func(t *testing.T) {
		verifier.setTrust(false, "no key")
		defer verifier.setTrust(true, "key A")
		if _, err := fetchFileCounted(t, f, path, ""); err == nil {
			t.Fatal("fetch after the key was removed succeeded")
		}
	})
	t.Run("failed check keeps stored image", func(t *testing.T) {
		images, err := f.Store.Images()
		if err != nil {
			t.Fatal(err)
		}
		if len(images) != 1 {
			t.Errorf("store has %d images, want 1", len(images))
		}
	})
	t.Run("verifier without trust state", func(t *testing.T) {
		f.Verifier = &testVerifier{}
		defer func() { f.Verifier = verifier }()
		for i := range 2 {
			checks, err := fetchFileCounted(t, f, path, "")
			if err != nil {
				t.Fatalf("fetch %d: %v", i, err)
			}
			if checks != 1 {
				t.Errorf("fetch %d read %d blobs, want 1", i, checks)
			}
		}
	})
}

// serveTwoNames serves discovery for example.com/app and example.com/plain,
// whose templates both point at the example.com/app images, each with an
// ETag and the Cache-Control value cc.
func serveTwoNames(t *testing.T, srv *testServer, images map[string][]byte, cc string) {
	t.Helper()
	for _, name := range []string{"app", "plain"} {
		srv.mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, discoveryPage(fmt.Sprintf(
				`<meta name="ac-discovery" content="example.com/%s https://example.com/images/example.com/app-{version}-{os}-{arch}.{ext}">`, name)))
		})
	}
	srv.mux.HandleFunc("/images/", func(w http.ResponseWriter, r *http.Request) {
		file := strings.TrimPrefix(r.URL.Path, "/images/")
		data, ok := images[strings.TrimSuffix(file, ".asc")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(file, ".asc") {
			_, _ = w.Write(testSignature(data))
			return
		}
		img := &versionedImage{cacheControl: cc}
		img.set(data, `"v1"`)
		img.ServeHTTP(w, r)
	})
}

func TestFailedCheckRemovesNewImage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inUse    bool
		wantKept bool
	}{
		{name: "unused", inUse: false, wantKept: false},
		{name: "used by a pod", inUse: true, wantKept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			aci := buildACI(t, testImage{name: "example.com/hello"})
			path := filepath.Join(dir, "hello.aci")
			if err := os.WriteFile(path, aci, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+".asc", []byte("junk"), 0o644); err != nil {
				t.Fatal(err)
			}
			f := newTestFetcher(t, nil)
			f.Verifier = &testVerifier{}
			var checkedKeys []string
			f.ImageInUse = func(key string) (bool, error) {
				checkedKeys = append(checkedKeys, key)
				return tc.inUse, nil
			}

			if _, err := fetchFileCounted(t, f, path, ""); err == nil {
				t.Fatal("fetch with a junk signature succeeded")
			}
			if len(checkedKeys) != 1 {
				t.Errorf("ImageInUse called %d times, want 1", len(checkedKeys))
			}
			images, err := f.Store.Images()
			if err != nil {
				t.Fatal(err)
			}
			if stillStored := len(images) == 1; stillStored != tc.wantKept {
				t.Errorf("store holds %d images after the failed check, want kept = %v", len(images), tc.wantKept)
			}
		})
	}
}

func TestNameCheckOnCachedImage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cc       string
		insecure bool
	}{
		{name: "revalidated", cc: "no-cache"},
		{name: "fresh", cc: "max-age=3600"},
		{name: "revalidated insecure", cc: "no-cache", insecure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t)
			aci := buildACI(t, testImage{name: "example.com/app", labels: map[string]string{"version": "1.0", "os": "linux", "arch": "amd64"}})
			serveTwoNames(t, srv, map[string][]byte{"example.com/app-1.0-linux-amd64.aci": aci}, tc.cc)
			f := newTestFetcher(t, srv)
			f.Verifier = &testVerifier{}
			f.Insecure.Image = tc.insecure
			ctx := context.Background()

			key, err := f.FetchImage(ctx, "example.com/app:1.0", imageref.PullUpdate)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.FetchImage(ctx, "example.com/plain:1.0", imageref.PullUpdate)
			if err == nil || !strings.Contains(err.Error(), `downloaded image is named "example.com/app"`) {
				t.Fatalf("fetch of another name: got %v, want a name mismatch", err)
			}
			if _, err := f.Store.ImageManifest(key); err != nil {
				t.Errorf("stored image removed after the mismatch: %v", err)
			}
			if tc.cc == "no-cache" {
				partial := f.partialPath("https://example.com/images/example.com/app-1.0-linux-amd64.aci")
				if exists(partial) {
					t.Errorf("partial download file %s left after HTTP 304", partial)
				}
			}
		})
	}
}

func TestStreamingMismatchKeepsStoredImage(t *testing.T) {
	srv := newTestServer(t)
	aci := buildACI(t, testImage{name: "example.com/app", labels: map[string]string{"version": "1.0", "os": "linux", "arch": "amd64"}})
	serveTwoNames(t, srv, map[string][]byte{"example.com/app-1.0-linux-amd64.aci": aci}, "no-store")
	f := newTestFetcher(t, srv)
	f.Verifier = &testVerifier{}
	ctx := context.Background()
	key, err := f.FetchImage(ctx, "example.com/app:1.0", imageref.PullUpdate)
	if err != nil {
		t.Fatal(err)
	}

	f.Insecure.Image = true
	// A new URL for the same bytes, so the download is not conditional.
	srv.mux.HandleFunc("/other.aci", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(aci) })
	_, err = f.download(ctx, f.local(), localfetch.RemoteRequest{
		URL: "https://example.com/other.aci",
		Check: func(m *schema.ImageManifest) error {
			return localfetch.CheckManifestMatches(&imageref.App{Name: "example.com/plain", Labels: map[types.ACIdentifier]string{}}, m)
		},
	}, nil)
	if err == nil {
		t.Fatal("streaming fetch of a mismatching image succeeded")
	}
	if _, err := f.Store.ImageManifest(key); err != nil {
		t.Errorf("stored image removed after the mismatch: %v", err)
	}
}

func TestResumeRestartsOnChangedImage(t *testing.T) {
	srv := newTestServer(t)
	old := buildACI(t, testImage{name: "example.com/app", files: map[string]string{"big": strings.Repeat("o", 50000)}})
	data := buildACI(t, testImage{name: "example.com/app", files: map[string]string{"big": strings.Repeat("n", 60000)}})
	// The handler ignores If-Range, as some servers do, and responds to any
	// Range request with a range of the new image.
	srv.mux.HandleFunc("/app.aci", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"new"`)
		var start int
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &start); err == nil && start < len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(data[start:])
			return
		}
		_, _ = w.Write(data)
	})
	srv.mux.HandleFunc("/app.aci.asc", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(testSignature(data)) })

	f := newTestFetcher(t, srv)
	f.Verifier = &testVerifier{}
	const url = "https://example.com/app.aci"
	path := f.partialPath(url)
	if err := mkdirWrite(path, old[:len(old)/2]); err != nil {
		t.Fatal(err)
	}
	if err := mkdirWrite(path+".etag", []byte(`"old"`)); err != nil {
		t.Fatal(err)
	}

	if _, err := f.FetchImage(context.Background(), url, imageref.PullUpdate); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	reqs := srv.requestsFor("/app.aci")
	if len(reqs) != 2 {
		t.Fatalf("got %d image requests, want 2 (a resume and a restart)", len(reqs))
	}
	if got := reqs[1].Header.Get("Range"); got != "" {
		t.Errorf("restart request has Range %q, want none", got)
	}
}

func TestParseRangeStart(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int64
	}{
		{value: "bytes 100-199/200", want: 100},
		{value: "bytes 0-9/*", want: 0},
		{value: "bytes */200", want: -1},
		{value: "", want: -1},
		{value: "items 1-2/3", want: -1},
	} {
		if got := parseRangeStart(tc.value); got != tc.want {
			t.Errorf("parseRangeStart(%q) = %d, want %d", tc.value, got, tc.want)
		}
	}
}
