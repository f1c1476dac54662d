package trust_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appc/spec/schema"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
)

const stage1Name = "coreos.com/rkt/stage1-fly"

// readACIManifest returns the image manifest of a gzip-compressed ACI.
func readACIManifest(t *testing.T, path string) *schema.ImageManifest {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	gz, err := gzip.NewReader(file)
	if err != nil {
		t.Fatalf("image %s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("image %s: no manifest: %v", path, err)
		}
		if strings.TrimPrefix(hdr.Name, "./") != "manifest" {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		var m schema.ImageManifest
		if err := m.UnmarshalJSON(data); err != nil {
			t.Fatalf("image %s: %v", path, err)
		}
		return &m
	}
}

func label(t *testing.T, m *schema.ImageManifest, name string) string {
	t.Helper()
	for _, l := range m.Labels {
		if l.Name.String() == name {
			return l.Value
		}
	}
	t.Fatalf("image %s has no %s label", m.Name, name)
	return ""
}

// publication is what the discovery server serves: files by URL path, and
// the ac-discovery page of the stage1 name.
type publication struct {
	mu       sync.Mutex
	files    map[string][]byte
	page     string
	requests []string
}

func (p *publication) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, r.Host+r.URL.RequestURI())
	if r.URL.Query().Get("ac-discovery") == "1" {
		if r.Host+r.URL.Path == stage1Name {
			fmt.Fprint(w, p.page)
			return
		}
		http.NotFound(w, r)
		return
	}
	data, ok := p.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

func (p *publication) set(path string, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files[path] = data
}

func (p *publication) remove(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.files, path)
}

func (p *publication) requested(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.requests {
		if strings.HasPrefix(r, "coreos.com"+path) {
			return true
		}
	}
	return false
}

// rktRunner runs the built rkt with one data directory and configuration.
type rktRunner struct {
	binary   string
	dataDir  string
	local    string
	system   string
	certFile string
}

func (r *rktRunner) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	global := []string{"--dir=" + r.dataDir, "--local-config=" + r.local, "--system-config=" + r.system}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.binary, append(global, args...)...)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+r.certFile)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	t.Logf("rkt %s:\n%s", strings.Join(args, " "), out)
	return string(out), err
}

func newRktRunner(t *testing.T, scratch, name, certFile string) *rktRunner {
	t.Helper()
	base := filepath.Join(scratch, name)
	r := &rktRunner{
		binary:   testbuild.RktBinary(t),
		dataDir:  filepath.Join(base, "data"),
		local:    filepath.Join(base, "local"),
		system:   filepath.Join(base, "system"),
		certFile: certFile,
	}
	for _, dir := range []string{r.dataDir, r.local, r.system} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestSignedStage1Discovery publishes a signed stage1 on a local HTTPS
// discovery server and runs an image with it, with no insecure option: the
// key comes from `rkt trust --prefix`, and the stage1 is discovered,
// verified and fetched by `rkt run --stage1-name`.
func TestSignedStage1Discovery(t *testing.T) {
	scratch, inside := testns.IsolateNet(t, "coreos.com", "example.com")
	if !inside {
		return
	}
	stage1ACI := testbuild.Stage1ACI(t)
	exampleACI := testbuild.Image(t, "example")
	ca := newTestCA(t, scratch, "coreos.com", "example.com")

	// Sign the stage1 with a throwaway key, as a release would.
	const passphrase = "e2e passphrase"
	home := newGPGHome(t, "e2e@example.com", passphrase)
	keyFile := home.exportSecretKey(t, passphrase)
	passFile := filepath.Join(scratch, "passphrase")
	if err := os.WriteFile(passFile, []byte(passphrase), 0o600); err != nil {
		t.Fatal(err)
	}
	release := filepath.Join(scratch, "release")
	if out, err := runRelease(t, "--key-file", keyFile, "--passphrase-file", passFile, "--out", release, stage1ACI); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	stage1Manifest := readACIManifest(t, stage1ACI)
	version := label(t, stage1Manifest, "version")
	arch := label(t, stage1Manifest, "arch")
	osName := label(t, stage1Manifest, "os")

	// Publish it the way the README describes.
	pub := &publication{files: map[string][]byte{}}
	pub.page = `<html><head>
<meta name="ac-discovery" content="coreos.com/rkt/stage1-fly https://coreos.com/dist/stage1-fly-{version}-{os}-{arch}.{ext}">
<meta name="ac-discovery-pubkeys" content="coreos.com/rkt/stage1-fly https://coreos.com/dist/pubkeys.asc">
</head></html>`
	base := fmt.Sprintf("/dist/stage1-fly-%s-%s-%s", version, osName, arch)
	for suffix, file := range map[string]string{".aci": "stage1-fly.aci", ".aci.asc": "stage1-fly.aci.asc"} {
		data, err := os.ReadFile(filepath.Join(release, file))
		if err != nil {
			t.Fatal(err)
		}
		pub.set(base+suffix, data)
	}
	pubkeys, err := os.ReadFile(filepath.Join(release, "pubkeys.asc"))
	if err != nil {
		t.Fatal(err)
	}
	pub.set("/dist/pubkeys.asc", pubkeys)
	startHTTPS(t, pub, ca)

	// The app image is a local file, signed by the same key next to it.
	appDir := filepath.Join(scratch, "app")
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(appDir, "example.aci")
	copyFile(t, exampleACI, app)
	home.run(t, nil, "--pinentry-mode", "loopback", "--passphrase", passphrase,
		"--armor", "--detach-sign", "--output", app+".asc", app)
	appName := readACIManifest(t, app).Name.String()
	pubkeyFile := filepath.Join(release, "pubkeys.asc")
	stage1Ref := stage1Name + ":" + version

	// Without a trusted key the fetch fails before importing anything, and
	// names the fix. Fetching discovers the key, but cannot trust it with
	// no terminal for the review.
	untrusted := newRktRunner(t, scratch, "untrusted", ca.certFile)
	out, err := untrusted.run(t, "fetch", stage1Ref)
	if err == nil {
		t.Error("rkt fetch with no trusted key succeeded")
	}
	if !strings.Contains(out, "rkt trust --prefix="+stage1Name) {
		t.Errorf("error output does not name the fix `rkt trust --prefix=%s`", stage1Name)
	}
	untrusted.requireNotImported(t, stage1Name)

	// rkt trust finds the key through the prefix's ac-discovery-pubkeys tag.
	fetcher := newRktRunner(t, scratch, "fetcher", ca.certFile)
	out, err = fetcher.run(t, "trust", "--prefix="+stage1Name, "--skip-fingerprint-review")
	if err != nil {
		t.Fatalf("rkt trust by discovery: %v", err)
	}
	keyPath := filepath.Join(fetcher.local, "trustedkeys", "prefix.d", stage1Name, home.fingerprint)
	if !strings.Contains(out, fmt.Sprintf("Added key for prefix %q at %q", stage1Name, keyPath)) {
		t.Errorf("rkt trust output lacks the added key line for %s", keyPath)
	}
	if _, err := os.Stat(keyPath); err != nil {
		t.Errorf("trusted key not stored: %v", err)
	}
	if !pub.requested("/dist/pubkeys.asc") {
		t.Error("rkt trust did not fetch the discovered key")
	}
	out, err = fetcher.run(t, "fetch", stage1Ref)
	if err != nil {
		t.Errorf("rkt fetch of the signed stage1: %v", err)
	}
	if !strings.Contains(out, "signature verified") || !strings.Contains(out, "Release Test <e2e@example.com>") {
		t.Errorf("rkt fetch did not report the verified signer")
	}
	if !pub.requested(base + ".aci.asc") {
		t.Error("the stage1 signature was not fetched")
	}
	// The fetched stage1 is now in the store, and the signed app image runs
	// on it once its key is trusted too.
	if _, err := fetcher.run(t, "trust", "--prefix="+appName, "--skip-fingerprint-review", pubkeyFile); err != nil {
		t.Fatalf("rkt trust from a file: %v", err)
	}
	out, err = fetcher.run(t, "run", "--stage1-name="+stage1Ref, app)
	if err != nil {
		t.Errorf("rkt run with the fetched stage1: %v", err)
	}
	if !strings.Contains(out, "signature verified") {
		t.Errorf("rkt run did not verify the app image's signature")
	}

	// The scenario of a user: trust the stage1 prefix, then run an image
	// with the stage1 named, which discovery finds and fetching verifies.
	r := newRktRunner(t, scratch, "run", ca.certFile)
	if _, err := r.run(t, "trust", "--prefix="+stage1Name, "--skip-fingerprint-review"); err != nil {
		t.Fatalf("rkt trust by discovery: %v", err)
	}
	if _, err := r.run(t, "trust", "--prefix="+appName, "--skip-fingerprint-review", pubkeyFile); err != nil {
		t.Fatalf("rkt trust from a file: %v", err)
	}
	out, err = r.run(t, "run", "--stage1-name="+stage1Ref, app)
	if err != nil {
		t.Errorf("rkt run with the signed stage1: %v", err)
	}
	if strings.Count(out, "signature verified") < 2 {
		t.Errorf("rkt run did not report verified signatures of both the stage1 and the app")
	}

	// --trust-keys-from-https trusts the key that fetching discovers over
	// https, with no rkt trust for the stage1.
	auto := newRktRunner(t, scratch, "auto", ca.certFile)
	if _, err := auto.run(t, "--trust-keys-from-https", "fetch", stage1Ref); err != nil {
		t.Errorf("rkt --trust-keys-from-https fetch: %v", err)
	}
	autoKey := filepath.Join(auto.local, "trustedkeys", "prefix.d", stage1Name, home.fingerprint)
	if _, err := os.Stat(autoKey); err != nil {
		t.Errorf("key discovered at fetch time not stored for the image name: %v", err)
	}

	// A tampered stage1 byte is rejected, with the image named, and
	// nothing is imported.
	tampered := bytes.Clone(mustRead(t, filepath.Join(release, "stage1-fly.aci")))
	tampered[len(tampered)/2] ^= 0x01
	pub.set(base+".aci", tampered)
	fresh := newRktRunner(t, scratch, "tampered", ca.certFile)
	if _, err := fresh.run(t, "trust", "--prefix="+stage1Name, "--skip-fingerprint-review", pubkeyFile); err != nil {
		t.Fatalf("rkt trust from a file: %v", err)
	}
	out, err = fresh.run(t, "fetch", stage1Ref)
	if err == nil {
		t.Error("rkt fetch of a tampered stage1 succeeded")
	}
	if !strings.Contains(out, stage1Name) || !strings.Contains(out, home.fingerprint) {
		t.Errorf("error output does not name the image %s and the key %s", stage1Name, home.fingerprint)
	}
	fresh.requireNotImported(t, stage1Name)

	// A missing signature is rejected.
	pub.set(base+".aci", mustRead(t, filepath.Join(release, "stage1-fly.aci")))
	pub.remove(base + ".aci.asc")
	unsigned := newRktRunner(t, scratch, "unsigned", ca.certFile)
	if _, err := unsigned.run(t, "trust", "--prefix="+stage1Name, "--skip-fingerprint-review", pubkeyFile); err != nil {
		t.Fatalf("rkt trust from a file: %v", err)
	}
	out, err = unsigned.run(t, "fetch", stage1Ref)
	if err == nil {
		t.Error("rkt fetch of an unsigned stage1 succeeded")
	}
	if !strings.Contains(out, ".aci.asc") {
		t.Errorf("error output does not name the missing signature")
	}
	unsigned.requireNotImported(t, stage1Name)

	// --insecure-options=image skips the check with a warning, so the
	// unsigned image is fetched without any trusted key.
	insecure := newRktRunner(t, scratch, "insecure", ca.certFile)
	out, err = insecure.run(t, "--insecure-options=image", "fetch", stage1Ref)
	if err != nil {
		t.Errorf("rkt --insecure-options=image fetch: %v", err)
	}
	if !strings.Contains(out, "signature verification has been disabled") {
		t.Errorf("rkt --insecure-options=image fetch printed no warning")
	}
}

// requireNotImported checks that `rkt image list` shows no image of the name.
func (r *rktRunner) requireNotImported(t *testing.T, name string) {
	t.Helper()
	out, err := r.run(t, "image", "list", "--no-legend")
	if err != nil {
		t.Errorf("rkt image list: %v", err)
		return
	}
	if strings.Contains(out, name) {
		t.Errorf("image %s was imported although its verification failed", name)
	}
}

func startHTTPS(t *testing.T, handler http.Handler, ca *testCA) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:443")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1:443 in the private network: %v", err)
	}
	server := &http.Server{
		Handler:           handler,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{ca.server}},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		err := server.ServeTLS(listener, "", "")
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("HTTPS server: %v", err)
		}
	}()
	t.Cleanup(func() { server.Close() })
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, mustRead(t, from), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
