package fetch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rktfly/rkt/internal/aciwriter"
	"github.com/rktfly/rkt/stage0/internal/imageref"
)

func TestFetchDependenciesByName(t *testing.T) {
	srv := newTestServer(t)
	labels := map[string]string{"version": "1.0", "os": "linux", "arch": "amd64"}
	base := buildACI(t, testImage{name: "example.com/base", labels: labels, files: map[string]string{"etc/base": "base"}})
	lib := buildACI(t, testImage{
		name:   "example.com/lib",
		labels: labels,
		deps:   []map[string]any{{"imageName": "example.com/base", "labels": []map[string]string{{"name": "version", "value": "1.0"}}}},
		files:  map[string]string{"lib/x": "lib"},
	})
	app := buildACI(t, testImage{
		name:   "example.com/app",
		labels: labels,
		deps:   []map[string]any{{"imageName": "example.com/lib", "labels": []map[string]string{{"name": "version", "value": "1.0"}}}},
		files:  map[string]string{"bin/app": "app"},
	})
	images := map[string][]byte{"base": base, "lib": lib, "app": app}
	srv.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ac-discovery") == "1" {
			fmt.Fprint(w, discoveryPage(`<meta name="ac-discovery" content="example.com https://example.com/aci/{name}-{version}.{ext}">`))
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/aci/example.com/")
		name = strings.TrimSuffix(name, "-1.0.aci")
		data, ok := images[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	})
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	f.NoRender = os.Geteuid() != 0
	key, err := f.FetchImage(context.Background(), "example.com/app:1.0", imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := f.Store.Images()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, img := range stored {
		names = append(names, img.Name)
	}
	if len(stored) != 3 {
		t.Fatalf("store has %v, want app, lib and base", names)
	}
	for _, name := range []string{"/aci/example.com/base-1.0.aci", "/aci/example.com/lib-1.0.aci"} {
		if got := len(srv.requestsFor(name)); got != 1 {
			t.Errorf("%s requested %d times, want 1", name, got)
		}
	}
	if f.NoRender {
		t.Log("not root: rendered tree not checked")
		return
	}
	treeID, err := f.Store.RenderTree(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/base", "lib/x", "bin/app"} {
		if _, err := os.Stat(filepath.Join(f.Store.TreeRootfs(treeID), p)); err != nil {
			t.Errorf("rendered tree lacks %s: %v", p, err)
		}
	}
}

func TestFetchDependencyImageIDMismatch(t *testing.T) {
	srv := newTestServer(t)
	labels := map[string]string{"version": "1.0", "os": "linux", "arch": "amd64"}
	base := buildACI(t, testImage{name: "example.com/base", labels: labels})
	app := buildACI(t, testImage{
		name:   "example.com/app",
		labels: labels,
		deps: []map[string]any{{
			"imageName": "example.com/base",
			"imageID":   "sha512-" + strings.Repeat("ab", 64),
			"labels":    []map[string]string{{"name": "version", "value": "1.0"}},
		}},
	})
	srv.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ac-discovery") == "1" {
			fmt.Fprint(w, discoveryPage(`<meta name="ac-discovery" content="example.com https://example.com/aci/{name}.{ext}">`))
			return
		}
		switch r.URL.Path {
		case "/aci/example.com/base.aci":
			_, _ = w.Write(base)
		case "/app.aci":
			_, _ = w.Write(app)
		default:
			http.NotFound(w, r)
		}
	})
	f := newTestFetcher(t, srv)
	f.Insecure.Image = true
	_, err := f.FetchImage(context.Background(), "https://example.com/app.aci", imageref.PullNew)
	if err == nil || !strings.Contains(err.Error(), "does not have the required image ID") {
		t.Fatalf("got %v, want an image ID mismatch", err)
	}
}

func TestFetchFileWithSignature(t *testing.T) {
	dir := t.TempDir()
	aci := buildACI(t, testImage{name: "example.com/local"})
	path := filepath.Join(dir, "local.aci")
	if err := os.WriteFile(path, aci, 0o644); err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, nil)
	verifier := &testVerifier{}
	f.Verifier = verifier
	ctx := context.Background()

	_, err := f.FetchImage(ctx, path, imageref.PullNew)
	if err == nil || !strings.Contains(err.Error(), "--insecure-options=image") {
		t.Fatalf("unsigned file: got %v, want a hint at --insecure-options=image", err)
	}
	if err := os.WriteFile(path+".asc", testSignature(aci), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := f.FetchImage(ctx, "file://"+path, imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	want, err := aciwriter.ImageID(strings.NewReader(string(aci)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(want, key) {
		t.Errorf("key %s does not match image ID %s", key, want)
	}
	if len(verifier.names) != 1 || verifier.names[0] != "example.com/local" {
		t.Errorf("verifier asked about %v, want [example.com/local]", verifier.names)
	}
}

func TestFetchConcurrentSameAndDifferent(t *testing.T) {
	srv := newTestServer(t)
	var acis [3][]byte
	for i := range acis {
		data := buildACI(t, testImage{name: fmt.Sprintf("example.com/app%d", i), files: map[string]string{"f": strings.Repeat("y", 50000+i)}})
		acis[i] = data
		srv.mux.HandleFunc(fmt.Sprintf("/app%d.aci", i), func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(data) })
		srv.mux.HandleFunc(fmt.Sprintf("/app%d.aci.asc", i), func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(testSignature(data)) })
	}
	f := newTestFetcher(t, srv)
	f.Verifier = &testVerifier{}
	keys := make([]string, 12)
	errs := make([]error, 12)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = f.FetchImage(context.Background(), fmt.Sprintf("https://example.com/app%d.aci", i%3), imageref.PullUpdate)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if keys[i] != keys[i%3] {
			t.Errorf("fetch %d: key %s, want %s", i, keys[i], keys[i%3])
		}
	}
	images, err := f.Store.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 3 {
		t.Errorf("store has %d images, want 3", len(images))
	}
	leftovers, err := os.ReadDir(f.TmpDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %d", len(leftovers))
	}
}

func TestFetchStage1Sources(t *testing.T) {
	dir := t.TempDir()
	aci := buildACI(t, testImage{name: "coreos.com/rkt/stage1-fly", labels: map[string]string{"version": "1.30.0", "os": "linux", "arch": "amd64"}})
	path := filepath.Join(dir, "stage1-fly.aci")
	if err := os.WriteFile(path, aci, 0o644); err != nil {
		t.Fatal(err)
	}
	f := newTestFetcher(t, nil)
	f.Verifier = &testVerifier{}
	ctx := context.Background()

	if _, err := f.FetchStage1Location(ctx, path, false); err == nil {
		t.Fatal("untrusted unsigned stage1 location was accepted")
	}
	key, err := f.FetchStage1Location(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	byName, err := f.FetchStage1Name(ctx, "coreos.com/rkt/stage1-fly:1.30.0")
	if err != nil {
		t.Fatal(err)
	}
	if byName != key {
		t.Errorf("stage1 by name = %s, want the stored %s", byName, key)
	}
	byHash, err := f.FetchStage1Hash(ctx, key[:20])
	if err != nil {
		t.Fatal(err)
	}
	if byHash != key {
		t.Errorf("stage1 by hash = %s, want %s", byHash, key)
	}
	if _, err := f.FetchStage1Name(ctx, path); err == nil {
		t.Error("a path was accepted as a stage1 name")
	}
}
