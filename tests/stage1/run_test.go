package stage1_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/mountinfo"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/testns"
)

type probeInfo struct {
	UID    int      `json:"uid"`
	GID    int      `json:"gid"`
	Groups []int    `json:"groups"`
	Env    []string `json:"env"`
	Cwd    string   `json:"cwd"`
	Args   []string `json:"args"`
	NetNS  string   `json:"netns"`
}

func TestRunExitStatusAndPidFiles(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, podManifest([]string{"/probe", "exit", "7"}, "", "", ""), imageManifest(""))
	res := p.run(t, true)
	if res.code != 7 {
		t.Fatalf("exit status = %d, want 7; stderr %q", res.code, res.stderr)
	}
	pid, err := poddir.ReadPid(poddir.PidPath(p.dir))
	if err != nil {
		t.Errorf("pid file: %v", err)
	} else if pid <= 1 {
		t.Errorf("pid = %d", pid)
	}
	pgid, err := poddir.ReadPid(poddir.PgidPath(p.dir))
	if err != nil {
		t.Errorf("pgid file: %v", err)
	} else if pgid <= 0 {
		t.Errorf("pgid = %d", pgid)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "runtime-config")); err != nil {
		t.Errorf("runtime-config: %v", err)
	}
}

func TestRunCredentialsEnvAndCwd(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	app := `"workingDirectory":"/etc","supplementaryGIDs":[5],"environment":[{"name":"K","value":"V"}]`
	manifest := strings.Replace(podManifest([]string{"probe", "info"}, app, "", ""), `"user":"0","group":"0"`, `"user":"user","group":"users"`, 1)
	p := newPod(t, scratch, manifest, imageManifest(""))
	// A bare exec name is searched in the working directory, /bin and /usr/bin.
	copyFile(t, p.rootfs+"/probe", p.rootfs+"/bin/probe", 0o755)
	res := p.run(t, true)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	var info probeInfo
	if err := json.Unmarshal([]byte(res.stdout), &info); err != nil {
		t.Fatalf("parse probe output %q: %v", res.stdout, err)
	}
	if info.UID != 1000 {
		t.Errorf("uid = %d, want 1000", info.UID)
	}
	if info.GID != 100 {
		t.Errorf("gid = %d, want 100", info.GID)
	}
	if len(info.Groups) != 2 || !containsInt(info.Groups, 100) || !containsInt(info.Groups, 5) {
		t.Errorf("groups = %v, want [100 5]", info.Groups)
	}
	if info.Cwd != "/etc" {
		t.Errorf("cwd = %q, want /etc", info.Cwd)
	}
	if info.Args[0] != "/bin/probe" {
		t.Errorf("argv[0] = %q, want /bin/probe", info.Args[0])
	}
	for _, want := range []string{"K=V", "HOME=/root", "USER=root", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"} {
		if !containsString(info.Env, want) {
			t.Errorf("env %q lacks %q", info.Env, want)
		}
	}
	for _, name := range []string{"RKT_LOCK_FD=", "RKT_SELINUX_CONTEXT="} {
		for _, v := range info.Env {
			if strings.HasPrefix(v, name) {
				t.Errorf("env has %q: rkt's environment leaked", v)
			}
		}
	}
	hostNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if info.NetNS != hostNet {
		t.Errorf("app net namespace %q, want the host's %q", info.NetNS, hostNet)
	}
	envFile, err := os.ReadFile(poddir.EnvFilePath(p.dir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(envFile), "K=V\n") {
		t.Errorf("env file %q lacks K=V", envFile)
	}
}

func TestRunMountsDevProcSysTmp(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, podManifest([]string{"/probe", "exit", "0"}, "", "", ""), imageManifest(""))
	if res := p.run(t, true); res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	byPoint := map[string]mountinfo.Mount{}
	for _, m := range mounts {
		byPoint[m.MountPoint] = m
	}
	for _, dir := range []string{"dev", "proc", "sys", "tmp"} {
		m, ok := byPoint[filepath.Join(p.rootfs, dir)]
		if !ok {
			t.Errorf("rootfs/%s is not a mount point", dir)
			continue
		}
		if dir == "tmp" && m.FSType != "tmpfs" {
			t.Errorf("rootfs/tmp has type %q, want tmpfs", m.FSType)
		}
		if dir != "tmp" && !m.Shared() {
			t.Errorf("rootfs/%s optional fields %q, want shared", dir, m.Optional)
		}
	}
	if _, err := os.Stat(p.rootfs + "/etc/hosts"); err != nil {
		t.Errorf("default /etc/hosts: %v", err)
	}
}

func hostVolumeJSON(name, source string, readOnly, recursive bool) string {
	return `{"name":"` + name + `","kind":"host","source":"` + source + `","readOnly":` + strconv.FormatBool(readOnly) + `,"recursive":` + strconv.FormatBool(recursive) + `}`
}

func TestRunHostVolumeWritesReachHost(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "volume")
	mustMkdir(t, source)
	p := newPod(t, scratch,
		podManifest([]string{"/probe", "write", "/data/out", "hello"}, "", `[{"volume":"data","path":"/data"}]`, "["+hostVolumeJSON("data", source, false, false)+"]"),
		imageManifest(""))
	if res := p.run(t, true); res.code != 0 {
		t.Fatalf("exit status = %d; stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	got, err := os.ReadFile(source + "/out")
	if err != nil {
		t.Fatalf("file written through the volume: %v", err)
	}
	if string(got) != "hello" {
		t.Errorf("host file = %q, want hello", got)
	}
}

func TestRunReadOnlyVolume(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "volume")
	mustMkdir(t, source+"/sub")
	// A submount inside the source: a recursive read-only volume must make
	// it read-only too.
	if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", source+"/sub").CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	for _, target := range []string{"/data/out", "/data/sub/out"} {
		t.Run(target, func(t *testing.T) {
			dir := filepath.Join(scratch, strings.ReplaceAll(target, "/", "_"))
			mustMkdir(t, dir)
			p := newPod(t, dir,
				podManifest([]string{"/probe", "write", target, "x"}, "", `[{"volume":"data","path":"/data"}]`, "["+hostVolumeJSON("data", source, true, true)+"]"),
				imageManifest(""))
			res := p.run(t, true)
			if res.code != 3 {
				t.Fatalf("exit status = %d, want 3 (write failed); stdout %q stderr %q", res.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, "read-only file system") {
				t.Errorf("probe output %q, want EROFS", res.stdout)
			}
		})
	}
}

func TestRunSymlinkTargetStaysInRoot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "volume")
	mustMkdir(t, source)
	p := newPod(t, scratch,
		podManifest([]string{"/probe", "exit", "0"}, "", `[{"volume":"data","path":"/data/x"}]`, "["+hostVolumeJSON("data", source, false, false)+"]"),
		imageManifest(""))
	// /data -> ../../../escape would reach the stage2 directory next to the
	// rootfs through a host lookup; inside the root it is /escape.
	if err := os.Symlink("../../../escape", p.rootfs+"/data"); err != nil {
		t.Fatal(err)
	}
	if res := p.run(t, true); res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	if !mountinfo.IsMountPoint(mounts, p.rootfs+"/escape/x") {
		t.Errorf("volume not mounted at rootfs/escape/x")
	}
	for _, outside := range []string{filepath.Join(p.rootfs, "..", "..", "..", "escape"), filepath.Join(p.stage1, "opt", "escape")} {
		if _, err := os.Lstat(outside); err == nil {
			t.Errorf("%s was created outside the rootfs", outside)
		}
	}
}

func TestRunFailures(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "volume")
	mustMkdir(t, source)
	twoApps := strings.Replace(podManifest([]string{"/probe"}, "", "", ""), `"apps":[{`, `"apps":[{"name":"other","image":{"id":"sha512-`+strings.Repeat("1", 64)+`"},"app":{"exec":["/probe"],"user":"0","group":"0"}},{`, 1)
	cases := []struct {
		name      string
		pod       string
		image     string
		noLockFd  bool
		badUUID   bool
		setup     func(p *pod)
		wantError string
	}{
		{name: "two apps", pod: twoApps, wantError: "fly only supports 1 application per Pod for now",
			setup: func(p *pod) {
				mustWrite(t, filepath.Join(p.stage1, "opt", "stage2", "other", "manifest"), imageManifest(""))
			}},
		{name: "empty exec", pod: podManifest([]string{}, "", "", ""), image: `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/probe","app":{"exec":[],"user":"0","group":"0"}}`, wantError: `has an empty "exec"`},
		{name: "missing exec", pod: podManifest([]string{"missing-binary"}, "", "", ""), wantError: `can't find the absolute executable for "missing-binary"`},
		{name: "missing lock fd", pod: podManifest([]string{"/probe"}, "", "", ""), noLockFd: true, wantError: "can't get rkt lock fd"},
		{name: "malformed uuid", pod: podManifest([]string{"/probe"}, "", "", ""), badUUID: true, wantError: "UUID is missing or malformed"},
		{name: "conflicting mount path", pod: podManifest([]string{"/probe"}, "", `[{"volume":"data","path":"/other"}]`, "["+hostVolumeJSON("data", source, false, false)+"]"),
			image: imageManifest(`"mountPoints":[{"name":"data","path":"/data"}]`), wantError: `conflicting path information from mount and mountpoint "data"`},
		{name: "directory on file", pod: podManifest([]string{"/probe"}, "", `[{"volume":"data","path":"/etc/passwd"}]`, "["+hostVolumeJSON("data", source, false, false)+"]"),
			wantError: "is a directory while"},
		{name: "unknown user", pod: strings.Replace(podManifest([]string{"/probe"}, "", "", ""), `"user":"0"`, `"user":"ghost"`, 1), wantError: "failed to lookup process credentials"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			image := tc.image
			if image == "" {
				image = imageManifest("")
			}
			p := newPod(t, filepath.Join(scratch, strconv.Itoa(i)), tc.pod, image)
			if tc.setup != nil {
				tc.setup(p)
			}
			var res result
			if tc.badUUID {
				res = p.runRaw(t, "--net=default", "not-a-uuid")
			} else {
				res = p.run(t, !tc.noLockFd)
			}
			if res.code != 254 {
				t.Errorf("exit status = %d, want 254; stderr %q", res.code, res.stderr)
			}
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1: %q", len(lines), res.stderr)
			}
			if !strings.HasPrefix(res.stderr, "run: ") || !strings.Contains(res.stderr, tc.wantError) {
				t.Errorf("stderr %q, want run: ...%s", res.stderr, tc.wantError)
			}
		})
	}
}

// runRaw runs $S1/run with exactly args and a valid lock fd.
func (p *pod) runRaw(t *testing.T, args ...string) result {
	t.Helper()
	cmd, podLock := p.command(t, true)
	defer podLock.Close()
	cmd.Args = append([]string{cmd.Path}, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if exitErr, ok := err.(*exec.ExitError); ok {
		res.code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunLockHeldEnterStopGC(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, podManifest([]string{"/probe", "sleep"}, `"environment":[{"name":"K","value":"V"}]`, "", ""), imageManifest(""))
	cmd, podLock := p.command(t, true)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Only the app holds the lock from here on.
	podLock.Close()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	var pid int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n, err := poddir.ReadPid(poddir.PidPath(p.dir)); err == nil {
			pid = n
			break
		}
	}
	if pid != cmd.Process.Pid {
		t.Fatalf("pid file = %d, want the run process %d", pid, cmd.Process.Pid)
	}

	probeLock, err := lock.OpenDir(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer probeLock.Close()
	if err := probeLock.TryShared(); err == nil {
		t.Errorf("shared lock on the pod succeeded while the app runs")
	}

	enter := exec.Command(filepath.Join(p.stage1, "enter"), "--pid="+strconv.Itoa(pid), "--appname=app", "--", "/probe", "info")
	enter.Dir = p.dir
	out, err := enter.Output()
	if err != nil {
		t.Errorf("enter: %v", err)
	} else {
		var info probeInfo
		if err := json.Unmarshal(out, &info); err != nil {
			t.Errorf("parse enter output %q: %v", out, err)
		} else if !containsString(info.Env, "K=V") {
			t.Errorf("entered env %q lacks K=V", info.Env)
		}
	}

	gc := exec.Command(filepath.Join(p.stage1, "gc"), "--debug", "--local-config", "/etc/rkt", testUUID)
	gc.Dir = p.dir
	if out, err := gc.CombinedOutput(); err != nil {
		t.Errorf("gc: %v %s", err, out)
	} else if !strings.Contains(string(out), "not doing anything") {
		t.Errorf("gc output %q", out)
	}

	stop := exec.Command(filepath.Join(p.stage1, "stop"), testUUID)
	stop.Dir = p.dir
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("stop: %v %s", err, out)
	}
	select {
	case err := <-done:
		exitErr, ok := err.(*exec.ExitError)
		if !ok || exitErr.ExitCode() != -1 {
			t.Errorf("app ended with %v, want death by SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("app still running 10s after stop")
	}
	if err := probeLock.TryShared(); err != nil {
		t.Errorf("lock still held after the app exited: %v", err)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
