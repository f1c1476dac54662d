package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// discoveryPage returns an HTML page with the given meta tags.
func discoveryPage(metas ...string) string {
	return "<!DOCTYPE html><html><head>\n" + strings.Join(metas, "\n") + "\n</head><body>discovery</body></html>"
}

// serveDiscoveryApp serves a discovery page at /app for "example.com/app" and
// the images by version under /images/.
func serveDiscoveryApp(t *testing.T, srv *testServer, images map[string][]byte) {
	t.Helper()
	srv.mux.HandleFunc("/app", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ac-discovery") != "1" {
			http.Error(w, "not a discovery request", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, discoveryPage(
			`<meta name="ac-discovery" content="example.com/app https://example.com/images/{name}-{version}-{os}-{arch}.{ext}">`,
			`<meta name="ac-discovery-pubkeys" content="example.com/app https://example.com/pubkeys.gpg">`,
		))
	})
	srv.mux.HandleFunc("/images/", func(w http.ResponseWriter, r *http.Request) {
		file := strings.TrimPrefix(r.URL.Path, "/images/")
		sig := strings.HasSuffix(file, ".asc")
		data, ok := images[strings.TrimSuffix(file, ".asc")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if sig {
			data = testSignature(data)
		}
		_, _ = w.Write(data)
	})
}

func TestDiscoverWalksPrefixes(t *testing.T) {
	srv := newTestServer(t)
	serveDiscoveryApp(t, srv, nil)
	f := newTestFetcher(t, srv)
	app, err := f.ParseImageName("example.com/app/sub/tool:1.2,channel=beta")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := f.DiscoverImage(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	wantACI := "https://example.com/images/example.com/app/sub/tool-1.2-linux-amd64.aci"
	if ep.ACI != wantACI {
		t.Errorf("ACI = %q, want %q", ep.ACI, wantACI)
	}
	if ep.ASC != wantACI+".asc" {
		t.Errorf("ASC = %q, want %q", ep.ASC, wantACI+".asc")
	}
	var walked []string
	srv.mu.Lock()
	for _, r := range srv.requests {
		walked = append(walked, r.URL.Path)
	}
	srv.mu.Unlock()
	want := []string{"/app/sub/tool", "/app/sub", "/app"}
	if strings.Join(walked, " ") != strings.Join(want, " ") {
		t.Errorf("walked %v, want %v", walked, want)
	}
}

func TestDiscoverTemplateSelection(t *testing.T) {
	cases := []struct {
		name  string
		metas []string
		image string
		want  string // ACI URL, empty for an error
	}{
		{
			name:  "latest by default",
			metas: []string{`<meta name="ac-discovery" content="example.com https://example.com/{name}/{version}.{ext}">`},
			image: "example.com/app",
			want:  "https://example.com/example.com/app/latest.aci",
		},
		{
			name: "unfilled template skipped",
			metas: []string{
				`<meta name="ac-discovery" content="example.com https://example.com/{name}-{channel}.{ext}">`,
				`<meta name="ac-discovery" content="example.com https://example.com/fallback/{name}.{ext}">`,
			},
			image: "example.com/app",
			want:  "https://example.com/fallback/example.com/app.aci",
		},
		{
			name: "prefix must match the name",
			metas: []string{
				`<meta name="ac-discovery" content="example.com/other https://example.com/other.{ext}">`,
				`<meta name="ac-discovery" content="example.com/ap https://example.com/ap.{ext}">`,
			},
			image: "example.com/app",
			want:  "https://example.com/ap.aci",
		},
		{
			name:  "no matching tag",
			metas: []string{`<meta name="ac-discovery" content="coreos.com https://coreos.com/{name}.{ext}">`},
			image: "example.com/app",
		},
		{
			name:  "malformed content ignored",
			metas: []string{`<meta name="ac-discovery" content="example.com">`},
			image: "example.com/app",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t)
			page := discoveryPage(tc.metas...)
			srv.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, page)
			})
			f := newTestFetcher(t, srv)
			app, err := f.ParseImageName(tc.image)
			if err != nil {
				t.Fatal(err)
			}
			ep, err := f.DiscoverImage(context.Background(), app)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got endpoint %+v, want an error", ep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.ACI != tc.want {
				t.Errorf("ACI = %q, want %q", ep.ACI, tc.want)
			}
		})
	}
}

func TestDiscoverHTTPFallbackNeedsInsecure(t *testing.T) {
	srv := newTestServer(t)
	srv.mux.HandleFunc("/app", func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, discoveryPage(`<meta name="ac-discovery" content="example.com/app http://example.com/app.{ext}">`))
	})
	f := newTestFetcher(t, srv)
	app, err := f.ParseImageName("example.com/app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.DiscoverImage(context.Background(), app)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("without insecure http: got %v, want a 404 error", err)
	}
	f.Insecure.HTTP = true
	ep, err := f.DiscoverImage(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	if ep.ACI != "http://example.com/app.aci" {
		t.Errorf("ACI = %q", ep.ACI)
	}
}

func TestDiscoverUntrustedCertificate(t *testing.T) {
	srv := newTestServer(t)
	serveDiscoveryApp(t, srv, nil)
	f := newTestFetcher(t, srv)
	f.RootCAs = nil // the system pool does not contain the test CA
	app, err := f.ParseImageName("example.com/app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.DiscoverImage(context.Background(), app); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("got %v, want a certificate error", err)
	}

	insecure := newTestFetcher(t, srv)
	insecure.RootCAs = nil
	insecure.Insecure.TLS = true
	if _, err := insecure.DiscoverImage(context.Background(), app); err != nil {
		t.Fatalf("with insecure tls: %v", err)
	}
}

func TestFetchNameVerifiedAndCached(t *testing.T) {
	srv := newTestServer(t)
	v1 := buildACI(t, testImage{name: "example.com/app", labels: map[string]string{"version": "1.0", "os": "linux", "arch": "amd64"}})
	latest := buildACI(t, testImage{name: "example.com/app", labels: map[string]string{"version": "2.0", "os": "linux", "arch": "amd64"}})
	serveDiscoveryApp(t, srv, map[string][]byte{
		"example.com/app-1.0-linux-amd64.aci":    v1,
		"example.com/app-latest-linux-amd64.aci": latest,
	})
	f := newTestFetcher(t, srv)
	verifier := &testVerifier{}
	f.Verifier = verifier
	ctx := context.Background()

	keyV1, err := f.FetchImage(ctx, "example.com/app:1.0", imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	// With policy new a stored 1.0 would satisfy "example.com/app", so the
	// latest image is fetched with update.
	keyLatest, err := f.FetchImage(ctx, "example.com/app", imageref.PullUpdate)
	if err != nil {
		t.Fatal(err)
	}
	if keyV1 == keyLatest {
		t.Fatal("version 1.0 and latest resolved to the same image")
	}
	if len(verifier.names) != 2 || verifier.names[0] != "example.com/app" {
		t.Errorf("verifier was asked about %v, want example.com/app twice", verifier.names)
	}

	srv.resetRequests()
	for _, tc := range []struct {
		image string
		want  string
	}{
		{image: "example.com/app:1.0", want: keyV1},
		{image: "example.com/app", want: keyLatest},
	} {
		for _, policy := range []imageref.PullPolicy{imageref.PullNew, imageref.PullNever} {
			got, err := f.FetchImage(ctx, tc.image, policy)
			if err != nil {
				t.Fatalf("%s with %s: %v", tc.image, policy, err)
			}
			if got != tc.want {
				t.Errorf("%s with %s: got %s, want %s", tc.image, policy, got, tc.want)
			}
		}
	}
	srv.mu.Lock()
	n := len(srv.requests)
	srv.mu.Unlock()
	if n != 0 {
		t.Errorf("store hits sent %d requests, want 0", n)
	}
}

func TestFetchNameRejectsWrongImage(t *testing.T) {
	srv := newTestServer(t)
	cases := []struct {
		name string
		img  testImage
		want string
	}{
		{
			name: "other name",
			img:  testImage{name: "example.com/evil", labels: map[string]string{"version": "1.0", "os": "linux", "arch": "amd64"}},
			want: `downloaded image is named "example.com/evil"`,
		},
		{
			name: "other version",
			img:  testImage{name: "example.com/app", labels: map[string]string{"version": "0.9", "os": "linux", "arch": "amd64"}},
			want: `label version="0.9"`,
		},
		{
			name: "missing arch",
			img:  testImage{name: "example.com/app", labels: map[string]string{"version": "1.0", "os": "linux"}},
			want: `no label "arch"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t)
			serveDiscoveryApp(t, srv, map[string][]byte{"example.com/app-1.0-linux-amd64.aci": buildACI(t, tc.img)})
			for _, insecure := range []bool{false, true} {
				f := newTestFetcher(t, srv)
				f.Verifier = &testVerifier{}
				f.Insecure.Image = insecure
				_, err := f.FetchImage(context.Background(), "example.com/app:1.0", imageref.PullUpdate)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("insecure image %v: got %v, want %q", insecure, err, tc.want)
				}
				images, err := f.Store.Images()
				if err != nil {
					t.Fatal(err)
				}
				if len(images) != 0 {
					t.Errorf("insecure image %v: store has %d images, want 0", insecure, len(images))
				}
			}
		})
	}
	_ = srv
}

func TestFetchSignatureFailures(t *testing.T) {
	srv := newTestServer(t)
	aci := buildACI(t, testImage{name: "example.com/app"})
	srv.mux.HandleFunc("/app.aci", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(aci) })
	srv.mux.HandleFunc("/app.aci.asc", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("forged")) })
	srv.mux.HandleFunc("/unsigned.aci", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(aci) })
	ctx := context.Background()

	f := newTestFetcher(t, srv)
	f.Verifier = &testVerifier{}
	if _, err := f.FetchImage(ctx, "https://example.com/app.aci", imageref.PullUpdate); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Errorf("forged signature: got %v", err)
	}
	_, err := f.FetchImage(ctx, "https://example.com/unsigned.aci", imageref.PullUpdate)
	var statusErr *StatusError
	if !errors.As(err, &statusErr) || statusErr.Code != http.StatusNotFound {
		t.Errorf("missing signature: got %v, want a 404 StatusError", err)
	}
	images, err := f.Store.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 0 {
		t.Errorf("store has %d images after failed verification, want 0", len(images))
	}

	// --signature replaces the downloaded signature.
	sigFile := filepath.Join(t.TempDir(), "app.aci.asc")
	if err := os.WriteFile(sigFile, testSignature(aci), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Fetch(ctx, Request{Image: "https://example.com/app.aci", Signature: sigFile, Policy: imageref.PullUpdate}); err != nil {
		t.Errorf("local signature: %v", err)
	}
}

func TestFetchSignatureDeferred(t *testing.T) {
	srv := newTestServer(t)
	aci := buildACI(t, testImage{name: "example.com/app"})
	imageServed := false
	srv.mux.HandleFunc("/app.aci", func(w http.ResponseWriter, r *http.Request) {
		imageServed = true
		_, _ = w.Write(aci)
	})
	srv.mux.HandleFunc("/app.aci.asc", func(w http.ResponseWriter, r *http.Request) {
		if !imageServed {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		_, _ = w.Write(testSignature(aci))
	})
	f := newTestFetcher(t, srv)
	f.Verifier = &testVerifier{}
	if _, err := f.FetchImage(context.Background(), "https://example.com/app.aci", imageref.PullUpdate); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.requestsFor("/app.aci.asc")); got != 2 {
		t.Errorf("signature requested %d times, want 2", got)
	}
}

func TestFetchNameNeverNotInStore(t *testing.T) {
	f := newTestFetcher(t, nil)
	_, err := f.FetchImage(context.Background(), "example.com/app:1.0", imageref.PullNever)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "pull policy is never") {
		t.Errorf("error %q does not name the pull policy", err)
	}
}
