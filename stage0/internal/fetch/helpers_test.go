package fetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rktfly/rkt/internal/testtls"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// testHosts are the names the test servers' certificate is valid for. Every
// connection to them is pinned to a loopback listener by testDialer.
var testHosts = []string{"example.com", "www.example.com", "coreos.com", "other.example", "localhost"}

// testServer is an https server and a plain http server on 127.0.0.1 that
// share one handler. Requests are recorded.
type testServer struct {
	ca    *testtls.CA
	tls   *httptest.Server
	plain *httptest.Server
	mux   *http.ServeMux

	mu       sync.Mutex
	requests []*http.Request
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	s := &testServer{ca: testtls.NewCA(t, testHosts...), mux: http.NewServeMux()}
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		s.mu.Unlock()
		s.mux.ServeHTTP(w, r)
	})
	s.tls = httptest.NewUnstartedServer(record)
	s.tls.TLS = &tls.Config{Certificates: []tls.Certificate{s.ca.Server}}
	// Handshake failures are expected in certificate tests.
	s.tls.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.tls.StartTLS()
	t.Cleanup(s.tls.Close)
	s.plain = httptest.NewServer(record)
	t.Cleanup(s.plain.Close)
	return s
}

// dial connects every https request (port 443) to the TLS server and every
// other request to the plain server, whatever host was asked for. No
// connection can leave loopback.
func (s *testServer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	target := s.plain.Listener.Addr().String()
	if port == "443" {
		target = s.tls.Listener.Addr().String()
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", target)
}

// requestsFor returns the recorded requests whose path is path.
func (s *testServer) requestsFor(path string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.requests {
		if r.URL.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (s *testServer) resetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// newTestFetcher returns a Fetcher over a fresh store whose requests all go
// to srv.
func newTestFetcher(t *testing.T, srv *testServer) *Fetcher {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "cas"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	f := &Fetcher{
		Store:       st,
		TmpDir:      filepath.Join(dir, "tmp"),
		NoRender:    true,
		OS:          "linux",
		Arch:        "amd64",
		IdleTimeout: 5 * time.Second,
	}
	if srv != nil {
		f.RootCAs = srv.ca.Pool
		f.DialContext = srv.dial
	}
	return f
}

// testImage describes an ACI built in memory by buildACI.
type testImage struct {
	name   string
	labels map[string]string
	deps   []map[string]any
	files  map[string]string // rootfs path → content
}

// buildACI returns a gzip-compressed ACI.
func buildACI(t *testing.T, img testImage) []byte {
	t.Helper()
	labels := []map[string]string{}
	for _, k := range []string{"version", "os", "arch", "channel"} {
		if v, ok := img.labels[k]; ok {
			labels = append(labels, map[string]string{"name": k, "value": v})
		}
	}
	manifest := map[string]any{
		"acKind":    "ImageManifest",
		"acVersion": "0.8.11",
		"name":      img.name,
		"labels":    labels,
	}
	if len(img.deps) > 0 {
		manifest["dependencies"] = img.deps
	}
	data, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	write := func(hdr *tar.Header, body []byte) {
		hdr.ModTime = time.Unix(1_600_000_000, 0)
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	write(&tar.Header{Name: "manifest", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}, data)
	write(&tar.Header{Name: "rootfs/", Mode: 0o755, Typeflag: tar.TypeDir}, nil)
	dirs := map[string]bool{}
	for path := range img.files {
		for d := filepath.Dir(path); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range sortedKeys(dirs) {
		write(&tar.Header{Name: "rootfs/" + d + "/", Mode: 0o755, Typeflag: tar.TypeDir}, nil)
	}
	for path, content := range img.files {
		write(&tar.Header{Name: "rootfs/" + path, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}, []byte(content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testVerifier accepts a signature that is "signed:" + the hex SHA-256 of
// the ACI, and records the names it was asked about.
type testVerifier struct {
	mu    sync.Mutex
	names []string
}

func testSignature(aci []byte) []byte {
	sum := sha256.Sum256(aci)
	return []byte("signed:" + hex.EncodeToString(sum[:]))
}

func (v *testVerifier) Verify(name string, aci, sig io.ReadSeeker) ([]string, error) {
	v.mu.Lock()
	v.names = append(v.names, name)
	v.mu.Unlock()
	data, err := io.ReadAll(aci)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(sig)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got, testSignature(data)) {
		return nil, errors.New("bad signature")
	}
	return []string{fmt.Sprintf("test key for %s", name)}, nil
}

func mkdirWrite(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sortedKeys returns the keys of m so that parents precede children.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
