package fetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
	"github.com/rktfly/rkt/internal/testrkt"
	"github.com/rktfly/rkt/internal/testtls"
)

// testHosts are mapped to 127.0.0.1 inside the test's network namespace.
var testHosts = []string{"example.com", "coreos.com", "other.example"}

// env is one isolated test: a running https server and an rkt command line
// with private data and configuration directories.
type env struct {
	t       *testing.T
	rkt     string
	scratch string
	caFile  string
	mux     *http.ServeMux

	mu       sync.Mutex
	requests []*http.Request
}

// isolate runs the test in new mount and network namespaces and starts the
// https server there. It returns nil in the parent process.
func isolate(t *testing.T) *env {
	t.Helper()
	rkt := testbuild.RktBinary(t)
	scratch, inside := testns.IsolateNet(t, testHosts...)
	if !inside {
		return nil
	}
	e := &env{t: t, rkt: rkt, scratch: scratch, mux: http.NewServeMux()}
	ca := testtls.NewCA(t, testHosts...)
	e.caFile = filepath.Join(scratch, "ca.pem")
	if err := os.WriteFile(e.caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:443", &tls.Config{Certificates: []tls.Certificate{ca.Server}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.mu.Lock()
			e.requests = append(e.requests, r.Clone(r.Context()))
			e.mu.Unlock()
			e.mux.ServeHTTP(w, r)
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return e
}

// result is the outcome of one rkt command.
type result struct {
	stdout, stderr string
	code           int
}

// command returns an rkt command with the test's directories and CA.
func (e *env) command(args ...string) *exec.Cmd {
	base := []string{
		"--dir=" + filepath.Join(e.scratch, "data"),
		"--local-config=" + filepath.Join(e.scratch, "local"),
		"--system-config=" + filepath.Join(e.scratch, "system"),
	}
	cmd := exec.Command(e.rkt, append(base, args...)...)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+e.caFile, "HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=")
	return cmd
}

// run runs rkt with args and returns its output and exit code.
func (e *env) run(args ...string) result {
	e.t.Helper()
	res := testrkt.Run(e.t, e.command(args...))
	return result{stdout: res.Stdout, stderr: res.Stderr, code: res.Code}
}

// mustRun runs rkt and fails the test unless it exits 0.
func (e *env) mustRun(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("rkt %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func (e *env) countRequests(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, r := range e.requests {
		if r.URL.Path == path {
			n++
		}
	}
	return n
}

// storedImage is one entry of rkt image list --format=json.
type storedImage struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
}

func (e *env) images() []storedImage {
	e.t.Helper()
	var out []storedImage
	if err := json.Unmarshal([]byte(e.mustRun("image", "list", "--format=json")), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// buildACI returns a gzip-compressed ACI named name with the given labels
// and a file rootfs/data with content.
func buildACI(t *testing.T, name string, labels map[string]string, content string) []byte {
	t.Helper()
	var ls []map[string]string
	for _, k := range []string{"version", "os", "arch"} {
		if v, ok := labels[k]; ok {
			ls = append(ls, map[string]string{"name": k, "value": v})
		}
	}
	manifest, err := json.Marshal(map[string]any{
		"acKind": "ImageManifest", "acVersion": "0.8.11", "name": name, "labels": ls,
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	entries := []struct {
		hdr  tar.Header
		body string
	}{
		{hdr: tar.Header{Name: "manifest", Mode: 0o644, Typeflag: tar.TypeReg}, body: string(manifest)},
		{hdr: tar.Header{Name: "rootfs/", Mode: 0o755, Typeflag: tar.TypeDir}},
		{hdr: tar.Header{Name: "rootfs/data", Mode: 0o644, Typeflag: tar.TypeReg}, body: content},
	}
	for _, en := range entries {
		hdr := en.hdr
		hdr.Size = int64(len(en.body))
		hdr.ModTime = time.Unix(1_600_000_000, 0)
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, en.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostLabels are the os and arch labels rkt adds to name lookups on amd64
// and arm64 hosts.
func hostLabels(version string) map[string]string {
	arch := map[string]string{"amd64": "amd64", "arm64": "aarch64"}[runtime.GOARCH]
	return map[string]string{"version": version, "os": "linux", "arch": arch}
}
