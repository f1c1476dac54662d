package fetch

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// withoutFull points e at a copy of rkt and the stage1 without rkt-full
// and returns the directory of the copy.
func (e *env) withoutFull() string {
	e.t.Helper()
	dir := filepath.Join(e.scratch, "bin-without-full")
	e.rkt = testbuild.RktWithoutFull(e.t, dir)
	return dir
}

// mountsBelow returns the mount points below dir in this mount namespace.
func mountsBelow(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}

// TestWarmRunWithoutRktFull runs stored images with an rkt that has no
// rkt-full to hand work to: a warm run needs none.
func TestWarmRunWithoutRktFull(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	aci := filepath.Join(e.scratch, "true.aci")
	if err := os.WriteFile(aci, trueImage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRun("--insecure-options=image", "fetch", aci)

	e.withoutFull()
	for _, image := range []string{"example.com/true:1.0.0", aci} {
		t.Run(filepath.Base(image), func(t *testing.T) {
			r := e.run("--insecure-options=image", "run", image)
			if r.code != 0 {
				t.Fatalf("warm run of %s without rkt-full: exit %d\nstderr: %s", image, r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "rkt-full") {
				t.Errorf("warm run of %s mentions rkt-full: %s", image, r.stderr)
			}
		})
	}
}

// TestColdFetchWithoutRktFull checks that work that needs rkt-full fails
// with one message naming what needed it and where rkt-full was looked for,
// before any change: no pod, no image, no mount, no request.
func TestColdFetchWithoutRktFull(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	image := trueImage(t)
	e.mux.HandleFunc("/images/true.aci", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(image)
	})
	aci := filepath.Join(e.scratch, "true.aci")
	if err := os.WriteFile(aci, image, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := e.withoutFull()
	dataDir := filepath.Join(e.scratch, "data")

	cases := []struct {
		name   string
		args   []string
		reason string
	}{
		{
			name:   "run URL",
			args:   []string{"--insecure-options=image", "run", "https://example.com/images/true.aci"},
			reason: "run: image https://example.com/images/true.aci needs a download",
		},
		{
			name:   "run name",
			args:   []string{"--insecure-options=image", "run", "example.com/true:1.0.0"},
			reason: "needs discovery and a download",
		},
		{
			name:   "run signed file",
			args:   []string{"run", aci, "--signature=" + aci},
			reason: "run: image " + aci + " needs a signature check",
		},
		{
			name:   "prepare URL",
			args:   []string{"--insecure-options=image", "prepare", "https://example.com/images/true.aci"},
			reason: "prepare: image https://example.com/images/true.aci needs a download",
		},
		{
			name:   "fetch file",
			args:   []string{"--insecure-options=image", "fetch", aci},
			reason: "fetch: rkt fetch runs in rkt-full, but rkt-full was not found",
		},
		{
			name:   "trust",
			args:   []string{"trust", "--prefix=example.com/true", "--skip-fingerprint-review", aci},
			reason: "trust: rkt trust runs in rkt-full, but rkt-full was not found",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.args...)
			if r.code != 254 {
				t.Fatalf("exit %d, want 254 (is rkt-full installed at the configured path?)\nstderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.reason) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.reason)
			}
			if !strings.Contains(r.stderr, "rkt-full was not found at "+filepath.Join(dir, "rkt-full")) {
				t.Errorf("stderr %q does not name %s", r.stderr, filepath.Join(dir, "rkt-full"))
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines != 1 {
				t.Errorf("stderr has %d lines, want 1: %q", lines, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}

	if out := e.mustRun("list", "--no-legend"); out != "" {
		t.Errorf("rkt list after the failed commands: %q, want no pod", out)
	}
	if images := e.images(); len(images) != 0 {
		t.Errorf("store has %d images after the failed commands, want 0: %+v", len(images), images)
	}
	if mounts := mountsBelow(t, dataDir); len(mounts) > 0 {
		t.Errorf("mounts below the data directory: %q", mounts)
	}
	if n := e.countRequests("/images/true.aci"); n != 0 {
		t.Errorf("image requests = %d, want 0", n)
	}
}

// TestHandOverFindsStage1NextToRkt installs rkt-full away from rkt, at the
// path rkt is built with, and checks that rkt-full, started by rkt, looks
// for the default stage1 image next to rkt and not next to itself.
func TestHandOverFindsStage1NextToRkt(t *testing.T) {
	e := isolate(t)
	if e == nil {
		return
	}
	bin := filepath.Join(e.scratch, "bin")
	full := filepath.Join(e.scratch, "libexec", "rkt-full")
	copyFile(t, testbuild.FullBinary(t), full, 0o755)
	copyFile(t, testbuild.Stage1ACI(t), filepath.Join(bin, "stage1-fly.aci"), 0o644)
	build := exec.Command("go", "build", "-trimpath", "-tags", "rktlean",
		"-ldflags", "-X main.fullBinaryPath="+full, "-o", filepath.Join(bin, "rkt"), "./stage0/rkt")
	build.Dir = testbuild.RepoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build rkt with rkt-full at %s: %v\n%s", full, err, out)
	}
	e.rkt = filepath.Join(bin, "rkt")

	// The signature is not one, so that rkt hands the run over and
	// rkt-full fails after it has chosen the stage1.
	aci := filepath.Join(e.scratch, "true.aci")
	if err := os.WriteFile(aci, trueImage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run("run", aci, "--signature="+aci)
	if r.code == 0 {
		t.Fatalf("run with a file that is no signature exited 0\nstderr: %s", r.stderr)
	}
	if strings.Contains(r.stderr, "next to the rkt binary") {
		t.Errorf("rkt-full did not find the stage1 next to rkt: %s", r.stderr)
	}
	if !strings.Contains(r.stderr, "signature") {
		t.Errorf("stderr %q does not name the signature", r.stderr)
	}
	var names []string
	for _, image := range e.images() {
		names = append(names, image.Name)
	}
	if !slices.ContainsFunc(names, func(name string) bool { return strings.HasPrefix(name, "coreos.com/rkt/stage1-fly:") }) {
		t.Errorf("stored images %q, want the stage1 from %s", names, bin)
	}
}

// copyFile copies src to dst with mode, creating dst's directory.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}
