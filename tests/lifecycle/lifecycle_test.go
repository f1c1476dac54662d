package lifecycle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rktfly/rkt/internal/testns"
)

type podJSON struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	AppNames  []string
	CreatedAt *int64 `json:"created_at"`
	StartedAt *int64 `json:"started_at"`
	Apps      []struct {
		Name      string `json:"name"`
		State     string `json:"state"`
		CreatedAt *int64 `json:"created_at"`
		StartedAt *int64 `json:"started_at"`
		ExitCode  *int   `json:"exit_code"`
		ImageID   string `json:"image_id"`
		Mounts    []struct {
			Name          string `json:"name"`
			ContainerPath string `json:"container_path"`
			HostPath      string `json:"host_path"`
		} `json:"mounts"`
	} `json:"apps"`
}

func TestLifecycleRunningPod(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	id, _ := e.startPod("echo secret > /only-in-app; exec sleep 60")

	// list, tabular and JSON.
	table := e.mustRkt("list", "--no-legend")
	if !strings.HasPrefix(table, id[:8]+"\tbusybox\texample.com/busybox") || !strings.Contains(table, "running") {
		t.Errorf("list row = %q, want uuid, app busybox, its image and running", table)
	}
	var pods []podJSON
	decodeJSON(t, e.mustRkt("list", "--format=json"), &pods)
	if len(pods) != 1 {
		t.Fatalf("list JSON has %d pods, want 1", len(pods))
	}
	pod := pods[0]
	if pod.Name != id || pod.State != "running" {
		t.Errorf("pod name/state = %q/%q, want %q/running", pod.Name, pod.State, id)
	}
	if pod.CreatedAt == nil || pod.StartedAt == nil || *pod.StartedAt < *pod.CreatedAt {
		t.Errorf("created_at %v, started_at %v: want both, started not before created", pod.CreatedAt, pod.StartedAt)
	}
	if len(pod.Apps) != 1 || pod.Apps[0].Name != "busybox" || pod.Apps[0].State != "running" {
		t.Fatalf("apps = %+v, want one running busybox", pod.Apps)
	}
	if !strings.HasPrefix(pod.Apps[0].ImageID, "sha512-") || pod.Apps[0].ExitCode != nil {
		t.Errorf("app image_id %q exit_code %v", pod.Apps[0].ImageID, pod.Apps[0].ExitCode)
	}
	if len(pod.Apps[0].Mounts) != 1 || pod.Apps[0].Mounts[0].HostPath != e.volume || pod.Apps[0].Mounts[0].ContainerPath != "/data" {
		t.Errorf("mounts = %+v, want the host volume at /data", pod.Apps[0].Mounts)
	}

	// status, by prefix, key=value and JSON.
	status := e.statusOf(id[:6])
	if status["state"] != "running" || status["exited"] != "false" || status["pid"] == "" {
		t.Errorf("status = %v, want running with a pid", status)
	}
	var single podJSON
	decodeJSON(t, e.mustRkt("status", "--format=json", id), &single)
	if single.Name != id || single.State != "running" {
		t.Errorf("status JSON = %+v", single)
	}

	// enter reads a file that only the app's rootfs has.
	out := e.mustRkt("enter", id[:8], "/bin/cat", "/only-in-app")
	if out != "secret\n" {
		t.Errorf("enter output = %q, want %q", out, "secret\n")
	}
	if _, err := os.Stat("/only-in-app"); err == nil {
		t.Error("/only-in-app exists on the host")
	}

	// stop, then status after exit.
	out = e.mustRkt("stop", id)
	if out != fmt.Sprintf("%q\n", id) {
		t.Errorf("stop output = %q, want the quoted UUID", out)
	}
	e.waitState(id, "exited")
	status = e.statusOf(id)
	if status["exited"] != "true" {
		t.Errorf("status after stop = %v, want exited=true", status)
	}
	out = e.mustRkt("stop", id)
	if !strings.Contains(out, "is already stopped") {
		t.Errorf("second stop output = %q, want already stopped", out)
	}

	// cat-manifest prints the pod manifest.
	manifest := e.mustRkt("cat-manifest", id)
	if !strings.Contains(manifest, `"acKind": "PodManifest"`) {
		t.Errorf("cat-manifest output lacks the pod manifest kind: %s", manifest)
	}

	// gc with a grace period keeps the pod, without one deletes it.
	e.mustRkt("gc", "--grace-period=1h")
	if e.statusOf(id)["state"] != "exited garbage" {
		t.Errorf("state after gc with grace period = %v, want exited garbage", e.statusOf(id))
	}
	out = e.mustRkt("gc", "--grace-period=0s")
	if !strings.Contains(out, fmt.Sprintf("Garbage collecting pod %q", id)) {
		t.Errorf("gc output = %q", out)
	}
	if _, _, code := e.rkt("status", id); code == 0 {
		t.Error("status of a collected pod succeeded")
	}
	e.checkHostIntact()
}

func TestLifecycleStopForceThenRm(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	// The app ignores SIGTERM, so only --force stops it.
	id, _ := e.startPod("trap '' TERM; while true; do sleep 1; done")
	e.mustRkt("stop", "--force", id)
	out := e.mustRkt("rm", id)
	if out != fmt.Sprintf("%q\n", id) {
		t.Errorf("rm output = %q, want the quoted UUID", out)
	}
	if entries, err := os.ReadDir(filepath.Join(e.data, "pods", "exited-garbage")); err != nil || len(entries) != 0 {
		t.Errorf("exited-garbage after rm: %v, %v", entries, err)
	}
	e.checkHostIntact()
}

func TestLifecycleRmRunningPodFails(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	id, _ := e.startPod("exec sleep 60")
	_, errOut, code := e.rkt("rm", id)
	if code != 254 || !strings.Contains(errOut, "failed to remove one or more pods") {
		t.Errorf("rm of a running pod: exit %d, stderr %q; want 254", code, errOut)
	}
	if e.statusOf(id)["state"] != "running" {
		t.Errorf("pod state after failed rm = %v, want running", e.statusOf(id))
	}
	e.mustRkt("stop", "--force", id)
	e.mustRkt("rm", id)
	e.checkHostIntact()
}

func TestLifecycleKilledAppNestedVolume(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	// The app mounts a tmpfs inside the volume and is then killed with
	// SIGKILL: cleanup must unmount it and keep the volume's files.
	id, _ := e.startPod("mkdir -p /data/sub; mount -t tmpfs none /data/sub; echo x > /data/sub/f; exec sleep 60")
	e.mustRkt("stop", "--force", id)
	e.waitState(id, "exited")
	e.mustRkt("gc", "--grace-period=0s")
	e.checkHostIntact()
	if _, err := os.Stat(filepath.Join(e.volume, "sub")); err != nil {
		t.Errorf("volume directory created by the app is gone: %v", err)
	}
}

func TestLifecycleUUIDErrors(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	for _, args := range [][]string{{"status", ""}, {"status", "ffff"}, {"rm", ""}, {"stop", "0"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, code := e.rkt(args...)
			if code == 0 {
				t.Errorf("rkt %q exited 0, want an error", args)
			}
		})
	}
	_, _, code := e.rkt("status", "--uuid-file="+filepath.Join(scratch, "missing"))
	if code != 1 {
		t.Errorf("status with an unreadable --uuid-file exited %d, want 1", code)
	}
}

func TestLifecycleConcurrentRunGCAndList(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	const runs = 16

	// rkt list runs in two loops beside the runs and gcs, in JSON and in
	// table form. It meets pods that are being prepared or deleted and must
	// list them with exit status 0.
	stopList := make(chan struct{})
	listCalls := make(chan int)
	for _, args := range [][]string{{"list", "--format=json"}, {"list", "--full"}} {
		go func() {
			calls := 0
			defer func() { listCalls <- calls }()
			for {
				select {
				case <-stopList:
					return
				default:
				}
				calls++
				out, errOut, code := e.rkt(args...)
				if code != 0 {
					t.Errorf("rkt %q during runs and gcs exited %d: %s", args, code, errOut)
					continue
				}
				if args[1] == "--format=json" {
					var pods []podJSON
					if err := json.Unmarshal([]byte(out), &pods); err != nil {
						t.Errorf("rkt %q printed invalid JSON %q: %v", args, out, err)
					}
				}
			}
		}()
	}

	var wg sync.WaitGroup
	for i := 0; i < runs; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			cmd := e.command("run", "--stage1-path="+e.stage1, e.busybox, "--exec", "/bin/true")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("concurrent run: %v: %s", err, out)
			}
		}()
		go func() {
			defer wg.Done()
			if _, errOut, code := e.rkt("gc", "--grace-period=0s"); code != 0 {
				t.Errorf("concurrent gc exited %d: %s", code, errOut)
			}
		}()
	}
	wg.Wait()
	close(stopList)
	calls := <-listCalls + <-listCalls
	t.Logf("rkt list ran %d times during the runs", calls)
	if calls < runs {
		t.Errorf("rkt list ran %d times during the runs, want at least %d", calls, runs)
	}
	time.Sleep(100 * time.Millisecond)

	// Every pod is accounted for: each is exited or already deleted, and a
	// final gc removes all of them.
	var pods []podJSON
	decodeJSON(t, e.mustRkt("list", "--format=json"), &pods)
	for _, pod := range pods {
		if pod.State != "exited" && pod.State != "exited garbage" {
			t.Errorf("pod %s in state %q after all runs finished", pod.Name, pod.State)
		}
	}
	e.mustRkt("gc", "--grace-period=0s")
	for _, state := range []string{"embryo", "prepare", "prepared", "run", "exited-garbage", "garbage"} {
		entries, err := os.ReadDir(filepath.Join(e.data, "pods", state))
		if err != nil || len(entries) != 0 {
			t.Errorf("pods/%s after the final gc: %d entries, %v", state, len(entries), err)
		}
	}
	e.checkHostIntact()
}
