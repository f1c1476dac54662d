package functional

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
	"github.com/rktfly/rkt/internal/testrkt"
)

// rktEnv is one test's rkt: the binary, a scratch data directory and a
// scratch local configuration directory.
type rktEnv struct {
	t           *testing.T
	scratch     string
	rkt         string
	dataDir     string
	localConfig string
	// extraEnv is added to rkt's environment.
	extraEnv []string
}

// newRktEnv isolates the test in a private mount namespace and returns its
// environment, or nil in the supervising parent process, which must return.
func newRktEnv(t *testing.T) *rktEnv {
	t.Helper()
	scratch, inside := testns.Isolate(t)
	if !inside {
		return nil
	}
	e := &rktEnv{
		t:           t,
		scratch:     scratch,
		rkt:         testbuild.RktBinary(t),
		dataDir:     filepath.Join(scratch, "data"),
		localConfig: filepath.Join(scratch, "etc-rkt"),
	}
	for _, dir := range []string{e.dataDir, e.localConfig} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// result is what one rkt invocation produced.
type result struct {
	stdout string
	stderr string
	code   int
}

// command returns an exec.Cmd for rkt with the scratch directories and
// --insecure-options=image before args.
func (e *rktEnv) command(args ...string) *exec.Cmd {
	full := append([]string{"--dir=" + e.dataDir, "--local-config=" + e.localConfig, "--insecure-options=image"}, args...)
	cmd := exec.Command(e.rkt, full...)
	cmd.Env = append(os.Environ(), e.extraEnv...)
	return cmd
}

// run runs rkt and returns its output and exit status.
func (e *rktEnv) run(args ...string) result {
	e.t.Helper()
	return e.runCmd(e.command(args...))
}

func (e *rktEnv) runCmd(cmd *exec.Cmd) result {
	e.t.Helper()
	res := testrkt.Run(e.t, cmd)
	return result{stdout: res.Stdout, stderr: res.Stderr, code: res.Code}
}

// mustRun runs rkt and fails the test unless it exits 0.
func (e *rktEnv) mustRun(args ...string) result {
	e.t.Helper()
	res := e.run(args...)
	if res.code != 0 {
		e.t.Fatalf("rkt %q exited %d\nstdout: %s\nstderr: %s", args, res.code, res.stdout, res.stderr)
	}
	return res
}

// podDirs returns the pod directories in one state directory.
func (e *rktEnv) podDirs(state string) []string {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.dataDir, "pods", state))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var dirs []string
	for _, entry := range entries {
		dirs = append(dirs, filepath.Join(e.dataDir, "pods", state, entry.Name()))
	}
	return dirs
}

// storedImages returns the image keys in the store.
func (e *rktEnv) storedImages() []string {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.dataDir, "cas", "image"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []string
	for _, entry := range entries {
		keys = append(keys, entry.Name())
	}
	return keys
}

// inspectReport is the part of the inspect image's JSON report that the
// tests read.
type inspectReport struct {
	UID    int      `json:"uid"`
	GID    int      `json:"gid"`
	Groups []int    `json:"groups"`
	Env    []string `json:"env"`
	Cwd    string   `json:"cwd"`
	Args   []string `json:"args"`
	Writes []struct {
		Path  string `json:"path"`
		Error string `json:"error"`
	} `json:"writes"`
}

// envMap returns the report's environment as a map.
func (r inspectReport) envMap() map[string]string {
	m := map[string]string{}
	for _, kv := range r.Env {
		name, value, _ := strings.Cut(kv, "=")
		m[name] = value
	}
	return m
}

// runInspect runs the inspect image with the given rkt arguments around it
// and decodes its report from stdout.
func (e *rktEnv) runInspect(before []string, after ...string) inspectReport {
	e.t.Helper()
	args := append([]string{"run"}, before...)
	args = append(args, testbuild.Image(e.t, "inspect"))
	args = append(args, after...)
	res := e.mustRun(args...)

	var report inspectReport
	if err := json.Unmarshal([]byte(lastJSONLine(res.stdout)), &report); err != nil {
		e.t.Fatalf("decode inspect report: %v\nstdout: %s", err, res.stdout)
	}
	return report
}

func lastJSONLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "{") {
			return lines[i]
		}
	}
	return ""
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
