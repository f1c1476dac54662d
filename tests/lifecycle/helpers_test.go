package lifecycle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testrkt"
)

// env is one isolated rkt setup: a data dir, a local config dir and a host
// volume, all inside the test's scratch dir.
type env struct {
	t       *testing.T
	rktPath string
	stage1  string
	busybox string
	data    string
	config  string
	volume  string
	scratch string
}

func newEnv(t *testing.T, scratch string) *env {
	t.Helper()
	e := &env{
		t:       t,
		rktPath: testbuild.RktBinary(t),
		stage1:  testbuild.Stage1ACI(t),
		busybox: testbuild.Image(t, "busybox"),
		data:    filepath.Join(scratch, "data dir"),
		config:  filepath.Join(scratch, "etc"),
		volume:  filepath.Join(scratch, "host\tvolume"),
		scratch: scratch,
	}
	for _, dir := range []string{e.data, e.config, e.volume} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.volume, "keep"), []byte("host data"), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) command(args ...string) *exec.Cmd {
	full := append([]string{"--dir=" + e.data, "--local-config=" + e.config, "--insecure-options=image"}, args...)
	return exec.Command(e.rktPath, full...)
}

// rkt runs rkt to completion and returns stdout, stderr and the exit status.
func (e *env) rkt(args ...string) (string, string, int) {
	e.t.Helper()
	res := testrkt.Run(e.t, e.command(args...))
	return res.Stdout, res.Stderr, res.Code
}

// mustRkt runs rkt and fails the test unless it exits 0.
func (e *env) mustRkt(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.rkt(args...)
	if code != 0 {
		e.t.Fatalf("rkt %q exited %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// startPod starts a busybox pod running script in the background, with the
// host volume at /data, and returns its UUID once it is running.
func (e *env) startPod(script string) (string, *exec.Cmd) {
	e.t.Helper()
	uuidFile := filepath.Join(e.scratch, "uuid-"+time.Now().Format("150405.000000000"))
	cmd := e.command("run", "--stage1-path="+e.stage1, "--uuid-file-save="+uuidFile,
		"--volume=data,kind=host,source="+e.volume, e.busybox, "--mount=volume=data,target=/data",
		"--exec", "/bin/sh", "--", "-c", script)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(uuidFile)
		if err == nil && len(data) == 36 {
			id := string(data)
			if e.statusOf(id)["state"] == "running" && e.statusOf(id)["pid"] != "" {
				return id, cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("pod did not reach running within 10s; rkt stderr: %s", errOut.String())
	return "", nil
}

// statusOf returns rkt status's key=value lines as a map, or an empty map
// when rkt status fails.
func (e *env) statusOf(id string) map[string]string {
	out, _, code := e.rkt("status", id)
	values := map[string]string{}
	if code != 0 {
		return values
	}
	scanner := bufio.NewScanner(strings.NewReader(out))
	for scanner.Scan() {
		key, value, _ := strings.Cut(scanner.Text(), "=")
		values[key] = value
	}
	return values
}

func (e *env) waitState(id, want string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if e.statusOf(id)["state"] == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("pod %s did not reach state %q within 10s (status %v)", id, want, e.statusOf(id))
}

// checkHostIntact asserts that the host volume file is intact and that no
// mount is left below the data dir.
func (e *env) checkHostIntact() {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.volume, "keep"))
	if err != nil || string(data) != "host data" {
		e.t.Errorf("host volume file: %q, %v; want %q", data, err, "host data")
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		e.t.Fatal(err)
	}
	escaped := strings.NewReplacer(" ", `\040`, "\t", `\011`).Replace(e.data)
	for _, line := range strings.Split(string(mountinfo), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], escaped) {
			e.t.Errorf("mount left below the data dir: %s", line)
		}
	}
}

func decodeJSON(t *testing.T, text string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("decode JSON %q: %v", text, err)
	}
}

// execCommand runs a host command and returns its combined output.
func execCommand(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
