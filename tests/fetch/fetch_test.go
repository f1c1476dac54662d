package fetch

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var shortID = regexp.MustCompile(`^sha512-[0-9a-f]{32}$`)

// serveDiscovery serves an ac-discovery page for example.com/app and the
// images it points to, keyed by file name.
func (e *env) serveDiscovery(images map[string][]byte) {
	e.mux.HandleFunc("/app", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><head>
<meta name="ac-discovery" content="example.com/app https://coreos.com/redirect/{name}-{version}-{os}-{arch}.{ext}">
</head></html>`)
	})
	// Every image URL first redirects to another host, as download mirrors do.
	e.mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://other.example/files/"+strings.TrimPrefix(r.URL.Path, "/redirect/"), http.StatusFound)
	})
	e.mux.HandleFunc("/files/example.com/", func(w http.ResponseWriter, r *http.Request) {
		data, ok := images[strings.TrimPrefix(r.URL.Path, "/files/example.com/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	})
}

func TestFetchByDiscoveredName(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	e.serveDiscovery(map[string][]byte{
		"app-1.0-linux-" + hostLabels("")["arch"] + ".aci": buildACI(t, "example.com/app", hostLabels("1.0"), "one"),
	})
	out := e.mustRun("--insecure-options=image", "fetch", "example.com/app:1.0")
	if !shortID.MatchString(out) {
		t.Fatalf("fetch printed %q, want sha512- and 32 hex digits", out)
	}
	images := e.images()
	if len(images) != 1 || images[0].Name != "example.com/app:1.0" || !strings.HasPrefix(images[0].ID, out) {
		t.Fatalf("image list = %+v, want example.com/app:1.0 with ID %s…", images, out)
	}

	// A stored name is used with policy new, without any request.
	before := e.countRequests("/app")
	if got := e.mustRun("--insecure-options=image", "fetch", "--pull-policy=new", "example.com/app:1.0"); got != out {
		t.Errorf("fetch --pull-policy=new printed %q, want %q", got, out)
	}
	if got := e.countRequests("/app"); got != before {
		t.Errorf("policy new sent %d discovery requests, want 0", got-before)
	}

	r := e.run("--insecure-options=image", "fetch", "--pull-policy=never", "example.com/app:2.0")
	if r.code != 254 || !strings.Contains(r.stderr, "pull policy is never") {
		t.Errorf("never on a missing version: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestFetchHTTPErrors(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	e.mux.HandleFunc("/loop.aci", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop.aci", http.StatusFound)
	})
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "404", args: []string{"https://example.com/missing.aci"}, want: "404 Not Found"},
		{name: "redirect loop", args: []string{"https://example.com/loop.aci"}, want: "stopped after 10 redirects"},
		{name: "no discovery", args: []string{"example.com/nothing:1.0"}, want: "no endpoint found"},
		{name: "url without aci", args: []string{"https://example.com/x"}, want: "invalid image string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(append([]string{"--insecure-options=image", "fetch"}, tc.args...)...)
			if r.code != 254 {
				t.Errorf("exit %d, want 254", r.code)
			}
			if !strings.HasPrefix(r.stderr, "fetch: ") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q, want a fetch: line containing %q", r.stderr, tc.want)
			}
		})
	}
	if images := e.images(); len(images) != 0 {
		t.Errorf("store has %+v after failed fetches", images)
	}
}

func TestFetchUpdateChangedImage(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	var mu sync.Mutex
	version := 1
	e.mux.HandleFunc("/app.aci", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := version
		mu.Unlock()
		etag := fmt.Sprintf(`"v%d"`, v)
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(buildACI(t, "example.com/app", nil, fmt.Sprint(v)))
	})
	const url = "https://example.com/app.aci"
	first := e.mustRun("--insecure-options=image", "fetch", url)
	second := e.mustRun("--insecure-options=image", "fetch", url)
	if second != first {
		t.Errorf("unchanged image: second fetch printed %s, want %s", second, first)
	}
	mu.Lock()
	version = 2
	mu.Unlock()
	third := e.mustRun("--insecure-options=image", "fetch", url)
	if third == first {
		t.Errorf("changed image: fetch printed the old ID %s", third)
	}
	if got := e.mustRun("--insecure-options=image", "fetch", "--pull-policy=new", url); got != third {
		t.Errorf("policy new printed %s, want the latest download %s", got, third)
	}
	if n := len(e.images()); n != 2 {
		t.Errorf("store has %d images, want 2", n)
	}
}

func TestFetchSlowServerAndTLS(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	data := buildACI(t, "example.com/slow", nil, strings.Repeat("slow", 20000))
	e.mux.HandleFunc("/slow.aci", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		chunk := len(data)/10 + 1
		for off := 0; off < len(data); off += chunk {
			end := min(off+chunk, len(data))
			if _, err := w.Write(data[off:end]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	r := e.run("--insecure-options=image", "fetch", "https://example.com/slow.aci")
	if r.code != 0 {
		t.Fatalf("slow but steady download: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "Downloading https://example.com/slow.aci") {
		t.Errorf("stderr %q lacks the progress line", r.stderr)
	}

	// Without the test CA the certificate is rejected, unless tls is insecure.
	cmd := e.command("--insecure-options=image", "fetch", "https://example.com/slow.aci")
	cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+filepath.Join(e.scratch, "missing.pem"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate") {
		t.Errorf("untrusted CA: err %v, output %q", err, out)
	}
	cmd = e.command("--insecure-options=image,tls", "fetch", "https://example.com/slow.aci")
	cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+filepath.Join(e.scratch, "missing.pem"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("insecure tls: %v, output %q", err, out)
	}
}

func TestFetchNeedsSignature(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	e.mux.HandleFunc("/app.aci", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(buildACI(t, "example.com/app", nil, "x"))
	})
	r := e.run("fetch", "https://example.com/app.aci")
	if r.code != 254 || !strings.Contains(r.stderr, "--insecure-options=image") {
		t.Errorf("unsigned image: exit %d, stderr %q", r.code, r.stderr)
	}
	if images := e.images(); len(images) != 0 {
		t.Errorf("store has %+v after a failed verification", images)
	}
}

func TestImageCommands(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	file := filepath.Join(e.scratch, "app.aci")
	if err := os.WriteFile(file, buildACI(t, "example.com/app", map[string]string{"version": "3"}, "content"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := e.mustRun("--insecure-options=image", "fetch", "--full", file)
	if got := e.mustRun("image", "list", "--no-legend", "--fields=name"); got != "example.com/app:3" {
		t.Errorf("image list names = %q", got)
	}
	if got := e.mustRun("image", "cat-manifest", "--pretty-print=false", "example.com/app:3"); !strings.Contains(got, `"name":"example.com/app"`) {
		t.Errorf("cat-manifest = %q", got)
	}

	exported := filepath.Join(e.scratch, "exported.aci")
	e.mustRun("image", "export", id[:20], exported)
	if r := e.run("image", "export", id[:20], exported); r.code != 254 || !strings.Contains(r.stderr, "--overwrite") {
		t.Errorf("export over an existing file: exit %d, stderr %q", r.code, r.stderr)
	}
	extracted := filepath.Join(e.scratch, "extracted")
	e.mustRun("image", "extract", "--rootfs-only", "example.com/app", extracted)
	if data, err := os.ReadFile(filepath.Join(extracted, "data")); err != nil || string(data) != "content" {
		t.Errorf("extracted data = %q, %v", data, err)
	}
	rendered := filepath.Join(e.scratch, "rendered")
	e.mustRun("image", "render", id, rendered)
	if data, err := os.ReadFile(filepath.Join(rendered, "rootfs", "data")); err != nil || string(data) != "content" {
		t.Errorf("rendered data = %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(rendered, "manifest")); err != nil {
		t.Error(err)
	}

	// A pod that references the image's tree keeps it from rm and gc.
	trees, err := filepath.Glob(filepath.Join(e.scratch, "data", "cas", "tree", "deps-sha512-*"))
	if err != nil || len(trees) != 1 {
		t.Fatalf("rendered trees = %v, %v", trees, err)
	}
	pod := filepath.Join(e.scratch, "data", "pods", "run", "6a0bd6c2-4b1e-4e2b-9f0f-3e1c1b2f9a11")
	if err := os.MkdirAll(pod, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pod, "stage1TreeStoreID"), []byte(filepath.Base(trees[0])), 0o640); err != nil {
		t.Fatal(err)
	}
	if r := e.run("image", "rm", id); r.code != 254 || !strings.Contains(r.stderr, "is used by pod 6a0bd6c2") {
		t.Errorf("rm of a used image: exit %d, stderr %q", r.code, r.stderr)
	}
	e.mustRun("image", "gc", "--grace-period=0s")
	if n := len(e.images()); n != 1 {
		t.Errorf("gc removed an image a pod uses: %d images left", n)
	}
	if _, err := os.Stat(trees[0]); err != nil {
		t.Errorf("gc removed a tree a pod uses: %v", err)
	}

	if err := os.RemoveAll(pod); err != nil {
		t.Fatal(err)
	}
	r := e.run("image", "rm", "example.com/app:3")
	if r.code != 0 || !strings.Contains(r.stderr, `successfully removed aci for image: "`+id+`"`) || !strings.Contains(r.stderr, "1 image(s) successfully removed") {
		t.Errorf("rm: exit %d, stderr %q", r.code, r.stderr)
	}
	e.mustRun("image", "gc", "--grace-period=0s")
	if trees, _ := filepath.Glob(filepath.Join(e.scratch, "data", "cas", "tree", "deps-*")); len(trees) != 0 {
		t.Errorf("gc left unreferenced trees %v", trees)
	}
}

func TestFetchConcurrentWithGC(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	for i := range 3 {
		data := buildACI(t, fmt.Sprintf("example.com/app%d", i), nil, strings.Repeat(fmt.Sprint(i), 100000))
		e.mux.HandleFunc(fmt.Sprintf("/app%d.aci", i), func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(data)
		})
	}
	var wg sync.WaitGroup
	results := make([]result, 12)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%4 == 3 {
				results[i] = e.run("image", "gc", "--grace-period=0s")
				return
			}
			results[i] = e.run("--insecure-options=image", "fetch", fmt.Sprintf("https://example.com/app%d.aci", i%3))
		}()
	}
	wg.Wait()
	for i, r := range results {
		// gc may remove an image between its import and its rendering by a
		// concurrent fetch, which then fails cleanly with "not found".
		if r.code != 0 && !strings.Contains(r.stderr, "not found in store") {
			t.Errorf("command %d: exit %d, stderr %q", i, r.code, r.stderr)
		}
	}
	// Whatever survived gc is whole: it renders, and a refetch works.
	for _, img := range e.images() {
		e.mustRun("image", "render", "--rootfs-only", img.ID, filepath.Join(e.scratch, "check-"+img.ID))
	}
	for i := range 3 {
		e.mustRun("--insecure-options=image", "fetch", fmt.Sprintf("https://example.com/app%d.aci", i))
	}
	if n := len(e.images()); n != 3 {
		t.Errorf("store has %d images, want 3", n)
	}
}

func TestFetchKilledLeavesNothing(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	data := buildACI(t, "example.com/big", nil, strings.Repeat("big data ", 200000))
	started := make(chan struct{})
	var first sync.Once
	e.mux.HandleFunc("/big.aci", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		half := len(data) / 2
		_, _ = w.Write(data[:half])
		w.(http.Flusher).Flush()
		stall := false
		first.Do(func() { stall = true })
		if stall {
			close(started)
			<-r.Context().Done() // until the killed client's connection closes
			return
		}
		_, _ = w.Write(data[half:])
	})
	cmd := e.command("--insecure-options=image", "fetch", "https://example.com/big.aci")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-started
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if images := e.images(); len(images) != 0 {
		t.Fatalf("store lists %+v after kill -9 during the download", images)
	}
	e.mustRun("--insecure-options=image", "fetch", "https://example.com/big.aci")
	if n := len(e.images()); n != 1 {
		t.Errorf("store has %d images after a refetch, want 1", n)
	}
}
