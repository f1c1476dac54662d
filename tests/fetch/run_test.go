package fetch

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// trueImage returns the bytes of the built image example.com/true:1.0.0,
// whose app exits 0.
func trueImage(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(testbuild.Image(t, "true"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRunImageFromHTTPURL(t *testing.T) {
	stage1 := testbuild.Stage1ACI(t)
	e := isolate(t)
	if e == nil {
		return
	}
	image := trueImage(t)
	e.mux.HandleFunc("/images/true.aci", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(image)
	})
	url := "https://example.com/images/true.aci"

	r := e.run("run", "--stage1-path="+stage1, url)
	if r.code != 254 || !strings.Contains(r.stderr, "--insecure-options=image") {
		t.Errorf("run of an unsigned URL image: exit %d, stderr %q, want 254 naming --insecure-options=image", r.code, r.stderr)
	}

	r = e.run("--insecure-options=image", "run", "--stage1-path="+stage1, url)
	if r.code != 0 {
		t.Fatalf("run of %s: exit %d\nstderr: %s", url, r.code, r.stderr)
	}
	if n := e.countRequests("/images/true.aci"); n != 1 {
		t.Errorf("image downloads = %d, want 1", n)
	}

	// Pull policy new reuses the recorded URL without a request.
	r = e.run("--insecure-options=image", "run", "--stage1-path="+stage1, url)
	if r.code != 0 {
		t.Fatalf("second run of %s: exit %d\nstderr: %s", url, r.code, r.stderr)
	}
	if n := e.countRequests("/images/true.aci"); n != 1 {
		t.Errorf("image downloads after a second run = %d, want 1 (policy new)", n)
	}
}

func TestRunImageByDiscoveredName(t *testing.T) {
	stage1 := testbuild.Stage1ACI(t)
	e := isolate(t)
	if e == nil {
		return
	}
	image := trueImage(t)
	arch := hostLabels("")["arch"]
	e.mux.HandleFunc("/true", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><head>
<meta name="ac-discovery" content="example.com/true https://example.com/files/{name}-{version}-{os}-{arch}.{ext}">
</head></html>`)
	})
	imagePath := "/files/example.com/true-1.0.0-linux-" + arch + ".aci"
	e.mux.HandleFunc(imagePath, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(image)
	})

	r := e.run("--insecure-options=image", "run", "--pull-policy=never", "--stage1-path="+stage1, "example.com/true:1.0.0")
	if r.code != 254 || !strings.Contains(r.stderr, "pull policy is never") {
		t.Errorf("run with --pull-policy=never of a missing name: exit %d, stderr %q", r.code, r.stderr)
	}

	r = e.run("--insecure-options=image", "run", "--stage1-path="+stage1, "example.com/true:1.0.0")
	if r.code != 0 {
		t.Fatalf("run by name: exit %d\nstderr: %s", r.code, r.stderr)
	}
	if n := e.countRequests(imagePath); n != 1 {
		t.Errorf("image downloads = %d, want 1", n)
	}
	images := e.images()
	found := false
	for _, img := range images {
		found = found || img.Name == "example.com/true:1.0.0"
	}
	if !found {
		t.Errorf("image list %+v lacks example.com/true:1.0.0", images)
	}

	// The stored image is used by the next run, without discovery.
	before := e.countRequests("/true")
	r = e.run("--insecure-options=image", "run", "--stage1-path="+stage1, "example.com/true:1.0.0")
	if r.code != 0 {
		t.Fatalf("second run by name: exit %d\nstderr: %s", r.code, r.stderr)
	}
	if got := e.countRequests("/true"); got != before {
		t.Errorf("second run sent %d discovery requests, want 0", got-before)
	}
}

func TestImageExportMatchesID(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	file := filepath.Join(e.scratch, "app.aci")
	if err := os.WriteFile(file, buildACI(t, "example.com/app", map[string]string{"version": "1"}, "content"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := e.mustRun("--insecure-options=image", "fetch", "--full", file)
	out := filepath.Join(e.scratch, "exported.aci")
	e.mustRun("image", "export", id, out)

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	digest := "sha512-" + hex.EncodeToString(h.Sum(nil))
	if !strings.HasPrefix(digest, id) {
		t.Errorf("exported file hashes to %s, want the image ID %s", digest[:len(id)], id)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("exported file mode = %v, want 0644", fi.Mode().Perm())
	}
	if tmps, _ := filepath.Glob(filepath.Join(e.scratch, ".exported.aci.tmp-*")); len(tmps) != 0 {
		t.Errorf("export left temporary files %v", tmps)
	}

	// --overwrite replaces the file with the same bytes.
	e.mustRun("image", "export", "--overwrite", id, out)
	if fi2, err := os.Stat(out); err != nil || fi2.Size() != fi.Size() {
		t.Errorf("overwritten export: %v, size %d, want %d", err, fi2.Size(), fi.Size())
	}
}

func TestImageVerifyRepairsTree(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	file := filepath.Join(e.scratch, "app.aci")
	if err := os.WriteFile(file, buildACI(t, "example.com/app", map[string]string{"version": "1"}, "content"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := e.mustRun("--insecure-options=image", "fetch", "--full", file)
	if got := e.mustRun("image", "verify", id); got != id+": verified" {
		t.Errorf("verify of an intact image printed %q, want %q", got, id+": verified")
	}

	trees, err := filepath.Glob(filepath.Join(e.scratch, "data", "cas", "tree", "deps-sha512-*"))
	if err != nil || len(trees) != 1 {
		t.Fatalf("rendered trees = %v, %v", trees, err)
	}
	data := filepath.Join(trees[0], "rootfs", "data")
	// Replace the file rather than write through it, because the tree's
	// files may be hard links into the image's files.
	if err := os.Remove(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := e.run("image", "verify", id)
	if r.code != 0 {
		t.Fatalf("verify of a tampered tree: exit %d\nstderr: %s", r.code, r.stderr)
	}
	if got := strings.TrimSpace(r.stdout); got != id+": repaired" {
		t.Errorf("verify printed %q, want %q", got, id+": repaired")
	}
	if !strings.Contains(r.stderr, "image: ") || !strings.Contains(r.stderr, "does not match its recorded hash") {
		t.Errorf("verify stderr %q does not report the corrupt tree with the image: prefix", r.stderr)
	}
	if got, err := os.ReadFile(data); err != nil || string(got) != "content" {
		t.Errorf("repaired rootfs/data = %q, %v, want %q", got, err, "content")
	}
	if got := e.mustRun("image", "verify", id); got != id+": verified" {
		t.Errorf("verify after the repair printed %q", got)
	}

	r = e.run("image", "verify", "sha512-00")
	if r.code != 254 || !strings.HasPrefix(r.stderr, "image: ") {
		t.Errorf("verify of a missing image: exit %d, stderr %q, want 254 with the image: prefix", r.code, r.stderr)
	}
}
