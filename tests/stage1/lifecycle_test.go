package stage1_test

import (
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/testns"
)

// signalOf returns the signal that ended a process, or 0 when it exited.
func signalOf(err error) syscall.Signal {
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return 0
	}
	status, ok := exitErr.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() {
		return 0
	}
	return status.Signal()
}

func TestLifecycleLockEnterGCStop(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		app := c.app()
		app.Exec = types.Exec{"/inspect", "-sleep", "1h"}
		app.User = "user1"
		app.Group = "group1"
		app.WorkingDirectory = "/etc"
		app.Environment = types.Environment{{Name: "K", Value: "V"}}
	})
	started := p.start(t)

	pid, err := poddir.ReadPid(poddir.PidPath(p.dir))
	if err != nil {
		t.Fatal(err)
	}
	if pid != started.cmd.Process.Pid {
		t.Fatalf("pid file = %d, want the run process %d", pid, started.cmd.Process.Pid)
	}

	t.Run("lock held by app", func(t *testing.T) {
		podLock, err := lock.OpenDir(p.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer podLock.Close()
		if err := podLock.TryShared(); err == nil {
			t.Errorf("shared lock on the pod succeeded while the app runs")
		}
	})

	t.Run("enter as named user", func(t *testing.T) {
		// Credentials come from the app's own /etc/passwd and /etc/group.
		res := p.entrypoint(t, "enter", "--pid="+strconv.Itoa(pid), "--appname="+appName, "--", "/inspect")
		if res.code != 0 {
			t.Fatalf("enter exit status = %d; stderr %q", res.code, res.stderr)
		}
		var rep report
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatalf("parse enter output %q: %v", res.stdout, err)
		}
		if rep.UID != 1000 || rep.GID != 1000 {
			t.Errorf("entered uid, gid = %d, %d, want 1000, 1000 (user1, group1)", rep.UID, rep.GID)
		}
		wantEnv := strings.Split(strings.TrimSuffix(readFile(t, poddir.EnvFilePath(p.dir, appName)), "\n"), "\n")
		if !slices.Equal(rep.Env, wantEnv) || !slices.Contains(rep.Env, "K=V") {
			t.Errorf("entered env = %q, want the env file's %q", rep.Env, wantEnv)
		}
		if rep.Cwd != "/" {
			t.Errorf("entered cwd = %q, want /: enter does not use the working directory", rep.Cwd)
		}
		if !slices.Equal(rep.Args, []string{"/inspect"}) {
			t.Errorf("entered argv = %q, want [/inspect]", rep.Args)
		}
	})

	t.Run("enter without PATH search", func(t *testing.T) {
		// /bin is in the app's PATH, but a bare name resolves against the
		// working directory "/" only.
		copyFile(t, p.rootfs+"/inspect", p.rootfs+"/bin/inspect-in-path", 0o755)
		res := p.entrypoint(t, "enter", "--pid="+strconv.Itoa(pid), "--appname="+appName, "--", "inspect-in-path")
		if res.code != 254 {
			t.Errorf("enter exit status = %d, want 254", res.code)
		}
		if !strings.HasPrefix(res.stderr, "enter: ") || !strings.Contains(res.stderr, "exec failed") {
			t.Errorf("stderr %q, want enter: exec failed ...", res.stderr)
		}
	})

	t.Run("gc does nothing", func(t *testing.T) {
		res := p.entrypoint(t, "gc", "--debug", "--local-config", "/etc/rkt", testUUID)
		if res.code != 0 {
			t.Fatalf("gc exit status = %d; stderr %q", res.code, res.stderr)
		}
		if want := "gc: not doing anything since stage0 is cleaning up the mounts\n"; res.stderr != want {
			t.Errorf("gc stderr = %q, want %q", res.stderr, want)
		}
	})

	res := p.entrypoint(t, "stop", testUUID)
	if res.code != 0 {
		t.Fatalf("stop exit status = %d; stderr %q", res.code, res.stderr)
	}
	if res.stdout != "" || res.stderr != "" {
		t.Errorf("stop printed stdout %q stderr %q, want nothing", res.stdout, res.stderr)
	}
	if sig := signalOf(started.wait(t, 10*time.Second)); sig != syscall.SIGTERM {
		t.Errorf("app ended by signal %v, want SIGTERM", sig)
	}
	podLock, err := lock.OpenDir(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer podLock.Close()
	if err := podLock.TryShared(); err != nil {
		t.Errorf("lock still held after the app exited: %v", err)
	}
}

func TestStopForce(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-sleep", "1h"}
	})
	started := p.start(t)
	res := p.entrypoint(t, "stop", "--force", testUUID)
	if res.code != 0 {
		t.Fatalf("stop --force exit status = %d; stderr %q", res.code, res.stderr)
	}
	if sig := signalOf(started.wait(t, 10*time.Second)); sig != syscall.SIGKILL {
		t.Errorf("app ended by signal %v, want SIGKILL", sig)
	}
}

// TestStopProcessGroupFallback checks that stop signals the process group
// in the pgid file when the pid in the pid file is gone, as rkt's fly does
// for a pod whose process group outlived the app.
func TestStopProcessGroupFallback(t *testing.T) {
	cases := []struct {
		name       string
		force      bool
		wantSignal syscall.Signal
	}{
		{name: "term", wantSignal: syscall.SIGTERM},
		{name: "force", force: true, wantSignal: syscall.SIGKILL},
	}
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod(t, filepath.Join(scratch, string(rune('a'+i))), "inspect", nil)
			// The static inspect binary runs on the host as well.
			inspect := p.rootfs + "/inspect"

			dead := exec.Command(inspect)
			if err := dead.Run(); err != nil {
				t.Fatal(err)
			}
			group := exec.Command(inspect, "-sleep", "1h")
			group.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := group.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { group.Process.Kill() })
			done := make(chan error, 1)
			go func() { done <- group.Wait() }()

			if err := poddir.WritePid(poddir.PidPath(p.dir), dead.Process.Pid); err != nil {
				t.Fatal(err)
			}
			if err := poddir.WritePid(poddir.PgidPath(p.dir), group.Process.Pid); err != nil {
				t.Fatal(err)
			}
			args := []string{testUUID}
			if tc.force {
				args = append([]string{"--force"}, args...)
			}
			res := p.entrypoint(t, "stop", args...)
			if res.code != 0 {
				t.Fatalf("stop exit status = %d; stderr %q", res.code, res.stderr)
			}
			select {
			case err := <-done:
				if sig := signalOf(err); sig != tc.wantSignal {
					t.Errorf("process group member ended by signal %v, want %v", sig, tc.wantSignal)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("process group member still running 10s after stop")
			}
		})
	}
}

func TestStopWithoutPidFile(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", nil)
	res := p.entrypoint(t, "stop", testUUID)
	if res.code != 254 {
		t.Errorf("stop exit status = %d, want 254", res.code)
	}
	if !strings.HasPrefix(res.stderr, "stop: error reading pid") {
		t.Errorf("stderr %q, want stop: error reading pid ...", res.stderr)
	}
}

// TestEnterRejectsHostRoot checks that enter never runs a command in the
// host's root: run writes the pid file before it changes root, and a pid
// whose root stays the host's is not an app.
func TestEnterRejectsHostRoot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", nil)
	// The static inspect binary runs on the host as well.
	onHost := exec.Command(p.rootfs+"/inspect", "-sleep", "1h")
	if err := onHost.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		onHost.Process.Kill()
		onHost.Wait()
	})
	mustWrite(t, poddir.EnvFilePath(p.dir, appName), "PATH=/bin\n")
	res := p.entrypoint(t, "enter", "--pid="+strconv.Itoa(onHost.Process.Pid), "--appname="+appName, "--", "/inspect")
	if res.code != 254 {
		t.Errorf("enter exit status = %d, want 254; stdout %q", res.code, res.stdout)
	}
	if !strings.Contains(res.stderr, "still has the host's root") {
		t.Errorf("stderr %q, want the host root rejected", res.stderr)
	}
}
