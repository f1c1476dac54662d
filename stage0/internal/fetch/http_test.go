package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// versionedImage serves an ACI whose content can be replaced, with an ETag
// that changes with it and a configurable Cache-Control.
type versionedImage struct {
	mu           sync.Mutex
	data         []byte
	etag         string
	cacheControl string
	fullBodies   int
}

func (v *versionedImage) set(data []byte, etag string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.data, v.etag = data, etag
}

func (v *versionedImage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	data, etag, cc := v.data, v.etag, v.cacheControl
	v.mu.Unlock()
	w.Header().Set("ETag", etag)
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	v.mu.Lock()
	v.fullBodies++
	v.mu.Unlock()
	http.ServeContent(w, r, "image.aci", time.Time{}, bytes.NewReader(data))
}

func (v *versionedImage) bodies() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fullBodies
}

func TestFetchURLUpdateUsesETag(t *testing.T) {
	srv := newTestServer(t)
	img := &versionedImage{}
	img.set(buildACI(t, testImage{name: "example.com/app", files: map[string]string{"v": "1"}}), `"v1"`)
	srv.mux.Handle("/app.aci", img)
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	ctx := context.Background()
	const url = "https://example.com/app.aci"

	first, err := f.FetchImage(ctx, url, imageref.PullUpdate)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.FetchImage(ctx, url, imageref.PullUpdate)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Errorf("unchanged image: got key %s, want %s", second, first)
	}
	if got := img.bodies(); got != 1 {
		t.Errorf("unchanged image downloaded %d times, want 1", got)
	}
	reqs := srv.requestsFor("/app.aci")
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	if got := reqs[1].Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("second request If-None-Match = %q, want %q", got, `"v1"`)
	}

	img.set(buildACI(t, testImage{name: "example.com/app", files: map[string]string{"v": "2"}}), `"v2"`)
	third, err := f.FetchImage(ctx, url, imageref.PullUpdate)
	if err != nil {
		t.Fatal(err)
	}
	if third == first {
		t.Errorf("changed image: key %s did not change", third)
	}
	rec, err := f.Store.GetRemote(url)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Key != third || rec.ETag != `"v2"` {
		t.Errorf("remote record = %+v, want key %s and ETag \"v2\"", rec, third)
	}
}

func TestFetchURLMaxAgeSkipsRequest(t *testing.T) {
	srv := newTestServer(t)
	img := &versionedImage{cacheControl: "public, max-age=3600"}
	img.set(buildACI(t, testImage{name: "example.com/app"}), `"a"`)
	srv.mux.Handle("/app.aci", img)
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	now := time.Now()
	f.Now = func() time.Time { return now }
	ctx := context.Background()
	const url = "https://example.com/app.aci"

	if _, err := f.FetchImage(ctx, url, imageref.PullUpdate); err != nil {
		t.Fatal(err)
	}
	if _, err := f.FetchImage(ctx, url, imageref.PullUpdate); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.requestsFor("/app.aci")); got != 1 {
		t.Errorf("within max-age: got %d requests, want 1", got)
	}
	now = now.Add(2 * time.Hour)
	if _, err := f.FetchImage(ctx, url, imageref.PullUpdate); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requestsFor("/app.aci")
	if len(reqs) != 2 {
		t.Fatalf("after max-age: got %d requests, want 2", len(reqs))
	}
	if got := reqs[1].Header.Get("If-None-Match"); got != `"a"` {
		t.Errorf("after max-age: If-None-Match = %q, want %q", got, `"a"`)
	}
	if got := img.bodies(); got != 1 {
		t.Errorf("body downloaded %d times, want 1", got)
	}
}

func TestFetchURLPullPolicies(t *testing.T) {
	srv := newTestServer(t)
	img := &versionedImage{}
	img.set(buildACI(t, testImage{name: "example.com/app"}), `"a"`)
	srv.mux.Handle("/app.aci", img)
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	ctx := context.Background()
	const url = "https://example.com/app.aci"

	_, err := f.FetchImage(ctx, url, imageref.PullNever)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("never before any fetch: got %v, want ErrNotFound", err)
	}
	key, err := f.FetchImage(ctx, url, imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	for _, policy := range []imageref.PullPolicy{imageref.PullNew, imageref.PullNever} {
		got, err := f.FetchImage(ctx, url, policy)
		if err != nil {
			t.Fatalf("%s: %v", policy, err)
		}
		if got != key {
			t.Errorf("%s: got %s, want %s", policy, got, key)
		}
	}
	if got := len(srv.requestsFor("/app.aci")); got != 1 {
		t.Errorf("got %d requests, want 1 (new and never reuse the record)", got)
	}
}

func TestFetchURLHTTPStatusErrors(t *testing.T) {
	srv := newTestServer(t)
	srv.mux.HandleFunc("/gone.aci", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusNotFound)
	})
	srv.mux.HandleFunc("/broken.aci", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "oops", http.StatusInternalServerError)
	})
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	for _, tc := range []struct{ path, status string }{
		{path: "/gone.aci", status: "404 Not Found"},
		{path: "/broken.aci", status: "500 Internal Server Error"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			url := "https://example.com" + tc.path
			_, err := f.FetchImage(context.Background(), url, imageref.PullUpdate)
			var statusErr *StatusError
			if !errors.As(err, &statusErr) {
				t.Fatalf("got %v, want a StatusError", err)
			}
			if !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), tc.status) {
				t.Errorf("error %q does not name the URL and status %q", err, tc.status)
			}
		})
	}
	images, err := f.Store.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 0 {
		t.Errorf("store has %d images after failed fetches, want 0", len(images))
	}
}

func TestFetchURLSlowServerTimesOut(t *testing.T) {
	srv := newTestServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv.mux.HandleFunc("/slow.aci", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv.mux.HandleFunc("/silent.aci", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	f.IdleTimeout = 300 * time.Millisecond
	for _, path := range []string{"/slow.aci", "/silent.aci"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			start := time.Now()
			_, err := f.FetchImage(context.Background(), "https://example.com"+path, imageref.PullUpdate)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("got %v, want ErrTimeout", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("timeout took %s", d)
			}
		})
	}
}

func TestFetchURLRedirects(t *testing.T) {
	srv := newTestServer(t)
	aci := buildACI(t, testImage{name: "example.com/app"})
	srv.mux.HandleFunc("/real.aci", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(aci)
	})
	srv.mux.HandleFunc("/hop/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/hop/%d.aci", &n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if n == 0 {
			http.Redirect(w, r, "/real.aci", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d.aci", n-1), http.StatusFound)
	})
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	ctx := context.Background()

	if _, err := f.FetchImage(ctx, "https://example.com/hop/8.aci", imageref.PullUpdate); err != nil {
		t.Fatalf("9 redirects: %v", err)
	}
	_, err := f.FetchImage(ctx, "https://example.com/hop/12.aci", imageref.PullUpdate)
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Fatalf("13 redirects: got %v, want the redirect limit error", err)
	}
}

func TestFetchAuthHeaderPolicy(t *testing.T) {
	srv := newTestServer(t)
	aci := buildACI(t, testImage{name: "example.com/app"})
	srv.mux.HandleFunc("/app.aci", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(aci)
	})
	srv.mux.HandleFunc("/moved.aci", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://coreos.com/app.aci", http.StatusFound)
	})
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	f.Auth = &Auth{byHost: map[string]string{"example.com": "Bearer secret", "coreos.com": "Bearer other"}}
	ctx := context.Background()

	cases := []struct {
		name string
		url  string
		want []string // Authorization of each request, in order
	}{
		{name: "https same host", url: "https://example.com/app.aci", want: []string{"Bearer secret"}},
		{name: "plain http", url: "http://example.com/app.aci", want: []string{""}},
		{name: "cross-host redirect", url: "https://example.com/moved.aci", want: []string{"Bearer secret", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.resetRequests()
			if _, err := f.FetchImage(ctx, tc.url, imageref.PullUpdate); err != nil {
				t.Fatal(err)
			}
			srv.mu.Lock()
			reqs := srv.requests
			srv.mu.Unlock()
			if len(reqs) != len(tc.want) {
				t.Fatalf("got %d requests, want %d", len(reqs), len(tc.want))
			}
			for i, r := range reqs {
				if got := r.Header.Get("Authorization"); got != tc.want[i] {
					t.Errorf("request %d (%s%s): Authorization = %q, want %q", i, r.Host, r.URL.Path, got, tc.want[i])
				}
			}
		})
	}
}

func TestFetchURLResumesPartialDownload(t *testing.T) {
	srv := newTestServer(t)
	img := &versionedImage{}
	data := buildACI(t, testImage{name: "example.com/app", files: map[string]string{"big": strings.Repeat("x", 100000)}})
	img.set(data, `"r1"`)
	srv.mux.Handle("/app.aci", img)
	srv.mux.HandleFunc("/app.aci.asc", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(testSignature(data))
	})
	f := newTestFetcher(t, srv)
	f.Verifier = &testVerifier{}
	const url = "https://example.com/app.aci"

	// A partial file as an interrupted fetch leaves it.
	path := f.partialPath(url)
	if err := mkdirWrite(path, data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	if err := mkdirWrite(path+".etag", []byte(`"r1"`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.FetchImage(context.Background(), url, imageref.PullUpdate); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requestsFor("/app.aci")
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	want := fmt.Sprintf("bytes=%d-", len(data)/2)
	if got := reqs[0].Header.Get("Range"); got != want {
		t.Errorf("Range = %q, want %q", got, want)
	}
	if exists(path) {
		t.Errorf("partial file %s left after a successful fetch", path)
	}
}

func TestParseMaxAge(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   time.Duration
	}{
		{name: "absent", values: nil, want: 0},
		{name: "max-age", values: []string{"public, max-age=60"}, want: time.Minute},
		{name: "no-cache wins", values: []string{"max-age=60", "no-cache"}, want: 0},
		{name: "no-store", values: []string{"no-store, max-age=60"}, want: 0},
		{name: "garbage", values: []string{"max-age=abc"}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseMaxAge(tc.values); got != tc.want {
				t.Errorf("parseMaxAge(%q) = %s, want %s", tc.values, got, tc.want)
			}
		})
	}
}
