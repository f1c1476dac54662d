package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rktfly/rkt/internal/testns"
)

// podDir returns the directory of pod id in the given state directory.
func (e *env) podDir(state, id string) string {
	return filepath.Join(e.data, "pods", state, id)
}

func TestGCRemountsStage1OverlayAfterReboot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	id := e.runToExit("echo after reboot > /newfile")
	dir := e.podDir("run", id)
	if _, err := os.Stat(filepath.Join(dir, "overlay-prepared")); err != nil {
		t.Fatalf("pod is not in overlay mode: %v", err)
	}
	unmountPodByHand(t, filepath.Join(dir, "stage1", "rootfs"))

	// Export reads the app's overlay layers when its rootfs is not mounted.
	out := filepath.Join(scratch, "after-reboot.aci")
	e.mustRkt("export", id, out)
	checkExportedRootfs(t, out, "after reboot\n")
	e.checkTmpClean()

	e.mustRkt("gc", "--mark-only")
	stdout, stderr, code := e.rkt("--debug", "gc", "--grace-period=0s")
	if code != 0 {
		t.Fatalf("gc exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("mounted stage1 overlay of pod %q again", id)) {
		t.Errorf("gc did not mount the stage1 overlay again; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "gc: not doing anything since stage0 is cleaning up the mounts") {
		t.Errorf("gc did not run the stage1 gc entrypoint with --debug; stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, fmt.Sprintf("Garbage collecting pod %q", id)) {
		t.Errorf("gc stdout = %q, want the pod collected", stdout)
	}
	if _, err := os.Stat(e.podDir("exited-garbage", id)); !os.IsNotExist(err) {
		t.Errorf("pod directory after gc: %v, want it deleted", err)
	}
	e.checkHostIntact()
}

func TestStatusWait(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	id, _ := e.startPod("sleep 2")

	t.Run("bounded wait times out", func(t *testing.T) {
		start := time.Now()
		_, errOut, code := e.rkt("status", "--wait=300ms", id)
		elapsed := time.Since(start)
		if code != 254 {
			t.Errorf("status --wait=300ms on a running pod exited %d, want 254; stderr %q", code, errOut)
		}
		if !strings.Contains(errOut, "still running after 300ms") {
			t.Errorf("stderr %q, want a timeout message", errOut)
		}
		if elapsed < 300*time.Millisecond || elapsed > 5*time.Second {
			t.Errorf("status --wait=300ms took %v", elapsed)
		}
	})

	t.Run("wait-ready times out with fly", func(t *testing.T) {
		_, errOut, code := e.rkt("status", "--wait-ready=300ms", id)
		if code != 254 || !strings.Contains(errOut, "ready") {
			t.Errorf("status --wait-ready=300ms: exit %d, stderr %q; want 254", code, errOut)
		}
	})

	t.Run("wait returns after exit", func(t *testing.T) {
		start := time.Now()
		out := e.mustRkt("status", "--wait", id)
		if !strings.HasPrefix(out, "state=exited\n") || !strings.Contains(out, "exited=true") {
			t.Errorf("status --wait output = %q, want exited", out)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("status --wait took %v for a pod that sleeps 2s", elapsed)
		}
	})
	e.mustRkt("gc", "--grace-period=0s")
	e.checkHostIntact()
}

func TestPreparedPodListStatusGC(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	out := e.mustRkt("prepare", "--stage1-path="+e.stage1, e.busybox, "--exec", "/bin/true")
	id := strings.TrimSpace(out)
	if len(id) != 36 {
		t.Fatalf("prepare output %q is not a UUID", out)
	}

	table := e.mustRkt("list", "--no-legend")
	if !strings.HasPrefix(table, id[:8]+"\tbusybox\t") || !strings.Contains(table, "prepared") {
		t.Errorf("list row = %q, want the pod as prepared", table)
	}
	status := e.statusOf(id)
	if status["state"] != "prepared" {
		t.Errorf("status state = %q, want prepared", status["state"])
	}
	for _, key := range []string{"started", "pid", "exited", "networks"} {
		if _, ok := status[key]; ok {
			t.Errorf("status of a prepared pod has %s=%q", key, status[key])
		}
	}
	var pod podJSON
	decodeJSON(t, e.mustRkt("status", "--format=json", id), &pod)
	if pod.State != "prepared" || pod.StartedAt != nil {
		t.Errorf("status JSON state %q started_at %v, want prepared and no start", pod.State, pod.StartedAt)
	}
	if len(pod.Apps) != 1 || pod.Apps[0].State != "created" {
		t.Errorf("status JSON apps = %+v, want one created app", pod.Apps)
	}

	e.mustRkt("gc", "--expire-prepared=1h")
	if e.statusOf(id)["state"] != "prepared" {
		t.Errorf("gc with a 1h expiry changed the prepared pod to %v", e.statusOf(id))
	}
	e.mustRkt("gc", "--expire-prepared=0s")
	if _, _, code := e.rkt("status", id); code == 0 {
		t.Error("status of an expired prepared pod succeeded after gc")
	}
	e.checkHostIntact()
}

func TestRmPreparedPod(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	id := strings.TrimSpace(e.mustRkt("prepare", "--stage1-path="+e.stage1, e.busybox, "--exec", "/bin/true"))
	out, errOut, code := e.rkt("rm", id)
	if code != 0 {
		t.Fatalf("rm of a prepared pod exited %d: %s", code, errOut)
	}
	if want := fmt.Sprintf("%q\n", id); out != want {
		t.Errorf("rm stdout = %q, want %q", out, want)
	}
	if errOut != "" {
		t.Errorf("rm stderr = %q, want nothing", errOut)
	}
	if _, _, code := e.rkt("status", id); code == 0 {
		t.Error("status of the removed pod succeeded")
	}
	e.checkHostIntact()
}

// TestGCKilledDuringPrepare simulates a rkt killed with SIGKILL while it
// held a pod in prepare/ with mounts below it: a tmpfs in place of the stage1
// overlay and a bind of the host volume. The pod is left unlocked in
// prepare/, and gc must unmount everything and keep the volume's files.
func TestGCKilledDuringPrepare(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	id := strings.TrimSpace(e.mustRkt("prepare", "--stage1-path="+e.stage1, e.busybox, "--exec", "/bin/true"))
	dir := e.podDir("prepare", id)
	if err := os.Rename(e.podDir("prepared", id), dir); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "stage1", "rootfs")
	appData := filepath.Join(rootfs, "opt", "stage2", "busybox", "rootfs", "data")
	mounts := [][]string{
		{"-t", "tmpfs", "stage1", rootfs},
		{"--bind", e.volume, appData},
	}
	for i, args := range mounts {
		// The app's data dir is created on the tmpfs, after it is mounted.
		target := []string{rootfs, appData}[i]
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := execCommand("mount", args...); err != nil {
			t.Fatalf("mount %q: %v: %s", args, err, out)
		}
	}
	if e.statusOf(id)["state"] != "aborted prepare" {
		t.Fatalf("state = %v, want aborted prepare", e.statusOf(id))
	}

	e.mustRkt("gc")
	for _, state := range []string{"prepare", "garbage"} {
		if _, err := os.Stat(e.podDir(state, id)); !os.IsNotExist(err) {
			t.Errorf("pods/%s/%s after gc: %v, want it deleted", state, id, err)
		}
	}
	e.checkHostIntact()
}
