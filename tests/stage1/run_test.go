package stage1_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/internal/testns"
)

func TestRunExitStatusAndPidFiles(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-exit", "7"}
	})
	res := p.run(t)
	if res.code != 7 {
		t.Fatalf("exit status = %d, want 7; stderr %q", res.code, res.stderr)
	}
	rep := res.report(t)
	pid, err := poddir.ReadPid(poddir.PidPath(p.dir))
	if err != nil {
		t.Errorf("pid file: %v", err)
	} else if pid != rep.PID {
		t.Errorf("pid file = %d, want the app's pid %d", pid, rep.PID)
	}
	pgid, err := poddir.ReadPid(poddir.PgidPath(p.dir))
	if err != nil {
		t.Errorf("pgid file: %v", err)
	} else if pgid != syscall.Getpgrp() {
		t.Errorf("pgid file = %d, want the test's process group %d", pgid, syscall.Getpgrp())
	}
	if res.stderr != "" {
		t.Errorf("stderr = %q, want nothing", res.stderr)
	}
}

func TestRunRuntimeConfig(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", nil)
	if res := p.run(t, "--debug", "--dns-conf-mode=resolv=none,hosts=default"); res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	path := filepath.Join(p.dir, "runtime-config")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("runtime-config mode = %v, want 0644", info.Mode().Perm())
	}
	var config map[string]any
	if err := json.Unmarshal([]byte(readFile(t, path)), &config); err != nil {
		t.Fatalf("parse runtime-config: %v", err)
	}
	var keys []string
	for key := range config {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	wantKeys := []string{"Debug", "EtcHostsMode", "Hostname", "IPCMode", "InsecureOptions", "Interactive", "MDSToken", "MetadataServiceURL", "Mutable", "NetList", "PrivateUsers", "ResolvConfMode"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("runtime-config keys = %q, want %q", keys, wantKeys)
	}
	if config["Debug"] != true {
		t.Errorf("Debug = %v, want true", config["Debug"])
	}
	if config["ResolvConfMode"] != "none" {
		t.Errorf("ResolvConfMode = %v, want none", config["ResolvConfMode"])
	}
	if config["EtcHostsMode"] != "default" {
		t.Errorf("EtcHostsMode = %v, want default", config["EtcHostsMode"])
	}
	insecure, ok := config["InsecureOptions"].(map[string]any)
	if !ok {
		t.Fatalf("InsecureOptions = %v, want an object", config["InsecureOptions"])
	}
	var insecureKeys []string
	for key := range insecure {
		insecureKeys = append(insecureKeys, key)
	}
	sort.Strings(insecureKeys)
	if want := []string{"DisableCapabilities", "DisablePaths", "DisableSeccomp"}; !slices.Equal(insecureKeys, want) {
		t.Errorf("InsecureOptions keys = %q, want %q", insecureKeys, want)
	}
}

func TestRunCredentialsEnvAndCwd(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		app := c.app()
		app.User = "user1"
		app.Group = "group2"
		app.SupplementaryGIDs = []int{2000, 5}
		app.WorkingDirectory = "/etc"
		app.Environment = types.Environment{{Name: "K", Value: "V"}, {Name: "HOME", Value: "/home/user1"}}
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	rep := res.report(t)
	if rep.UID != 1000 || rep.EUID != 1000 {
		t.Errorf("uid, euid = %d, %d, want 1000 (user1)", rep.UID, rep.EUID)
	}
	if rep.GID != 1001 || rep.EGID != 1001 {
		t.Errorf("gid, egid = %d, %d, want 1001 (group2)", rep.GID, rep.EGID)
	}
	groups := slices.Clone(rep.Groups)
	slices.Sort(groups)
	if want := []int{5, 1001, 2000}; !slices.Equal(groups, want) {
		t.Errorf("groups = %v, want %v: the primary gid and the supplementary gids", rep.Groups, want)
	}
	if rep.Cwd != "/etc" {
		t.Errorf("cwd = %q, want /etc", rep.Cwd)
	}
	wantEnv := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SHELL=/bin/sh",
		"USER=root",
		"LOGNAME=root",
		"K=V",
		"HOME=/home/user1",
	}
	if !slices.Equal(rep.Env, wantEnv) {
		t.Errorf("env = %q, want %q: defaults the app lacks, then its own, and nothing of rkt's", rep.Env, wantEnv)
	}
	wantFile := strings.Join(wantEnv, "\n") + "\n"
	if got := readFile(t, poddir.EnvFilePath(p.dir, appName)); got != wantFile {
		t.Errorf("env file = %q, want %q", got, wantFile)
	}
	hostNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Namespaces["net"] != hostNet {
		t.Errorf("app net namespace %q, want the host's %q", rep.Namespaces["net"], hostNet)
	}
	hostMnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Namespaces["mnt"] != hostMnt {
		t.Errorf("app mount namespace %q, want the host's %q", rep.Namespaces["mnt"], hostMnt)
	}
}

func TestRunUserFromPathOwner(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	// busybox.aci ships /owned-by-1000 with owner 1000:2000.
	p := newPod(t, scratch, "busybox", func(c *podConfig) {
		app := c.app()
		app.Exec = types.Exec{"/bin/sh", "-c", "id -u; id -g; id -G"}
		app.User = "/owned-by-1000"
		app.Group = "/owned-by-1000"
	})
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	if want := "1000\n2000\n2000\n"; res.stdout != want {
		t.Errorf("id -u, -g, -G printed %q, want %q", res.stdout, want)
	}
}

func TestRunExecSearch(t *testing.T) {
	cases := []struct {
		name    string
		exec    string
		workDir string
		path    string // the app's PATH, unset when empty
		// links are symlinks to create in the rootfs, name to target.
		links    map[string]string
		wantArg0 string
	}{
		{name: "bare name in working directory", exec: "inspect", workDir: "/", wantArg0: "/inspect"},
		{name: "relative path", exec: "./inspect", workDir: "/", wantArg0: "/inspect"},
		{name: "relative path without working directory", exec: "inspect", wantArg0: "/inspect"},
		{name: "app PATH", exec: "inspect", workDir: "/etc", path: "/nothere:/sub/bin", wantArg0: "/sub/bin/inspect"},
		{name: "relative PATH entry", exec: "inspect", workDir: "/sub", path: "bin", wantArg0: "/sub/bin/inspect"},
		// /links points at an absolute path: resolved inside the rootfs it
		// is the copy at /sub/bin, on the host it would be nothing.
		{name: "PATH through absolute symlink", exec: "inspect", workDir: "/", path: "/links", links: map[string]string{"links": "/sub/bin"}, wantArg0: "/links/inspect"},
	}
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod(t, filepath.Join(scratch, string(rune('a'+i))), "inspect", func(c *podConfig) {
				app := c.app()
				app.Exec = types.Exec{tc.exec}
				app.WorkingDirectory = tc.workDir
				if tc.path != "" {
					app.Environment.Set("PATH", tc.path)
				}
			})
			copyFile(t, p.rootfs+"/inspect", p.rootfs+"/sub/bin/inspect", 0o755)
			for name, target := range tc.links {
				if err := os.Symlink(target, filepath.Join(p.rootfs, name)); err != nil {
					t.Fatal(err)
				}
			}
			res := p.run(t)
			if res.code != 0 {
				t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
			}
			if got := res.report(t).Args[0]; got != tc.wantArg0 {
				t.Errorf("argv[0] = %q, want %q", got, tc.wantArg0)
			}
		})
	}
}

func TestRunMountsDevProcSysTmp(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", nil)
	res := p.run(t)
	if res.code != 0 {
		t.Fatalf("exit status = %d; stderr %q", res.code, res.stderr)
	}
	mounts := hostMounts(t)
	for _, dir := range []string{"/dev", "/proc", "/sys"} {
		host, ok := mountAt(mounts, dir)
		if !ok {
			t.Errorf("host %s is not a mount point", dir)
			continue
		}
		if !host.Shared() {
			t.Errorf("host %s optional fields %q, want shared: fly makes it rshared", dir, host.Optional)
		}
		bound, ok := mountAt(mounts, p.rootfs+dir)
		if !ok {
			t.Errorf("rootfs%s is not a mount point", dir)
			continue
		}
		if bound.FSType != host.FSType || bound.Root != host.Root {
			t.Errorf("rootfs%s is %s root %q, want a bind of host %s (%s root %q)", dir, bound.FSType, bound.Root, dir, host.FSType, host.Root)
		}
		if !bound.Shared() {
			t.Errorf("rootfs%s optional fields %q, want shared with the host", dir, bound.Optional)
		}
	}
	tmp, ok := mountAt(mounts, p.rootfs+"/tmp")
	if !ok {
		t.Fatal("rootfs/tmp is not a mount point")
	}
	if tmp.FSType != "tmpfs" {
		t.Errorf("rootfs/tmp has type %q, want tmpfs", tmp.FSType)
	}
	// The app sees the same table: fly has no mount namespace.
	rep := res.report(t)
	if !containsField(rep.Mountinfo, 4, "/tmp") {
		t.Errorf("app mountinfo has no /tmp mount:\n%s", strings.Join(rep.Mountinfo, "\n"))
	}
}

// containsField reports whether a mountinfo line has value in field index.
func containsField(lines []string, index int, value string) bool {
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) > index && fields[index] == value {
			return true
		}
	}
	return false
}

func TestRunAcceptsEveryStage0Flag(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	p := newPod(t, scratch, "inspect", func(c *podConfig) {
		c.app().Exec = types.Exec{"/inspect", "-exit", "5"}
	})
	res := p.run(t,
		"--interactive",
		"--private-users=65536:65536",
		"--mds-token=secret-token",
		"--hostname=podhost",
		"--disable-capabilities-restriction",
		"--disable-paths",
		"--disable-seccomp",
		"--mutable",
		"--ipc=private",
	)
	if res.code != 5 {
		t.Fatalf("exit status = %d, want the app's 5; stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	lines := strings.Split(res.stdout, "\n")
	wantWarnings := []string{"Warning: -mds-token not supported; ignoring", "Warning: -hostname not supported; ignoring"}
	if len(lines) < 3 || !slices.Equal(lines[:2], wantWarnings) {
		t.Errorf("stdout starts %q, want the warnings %q", lines, wantWarnings)
	}
	if res.stderr != "" {
		t.Errorf("stderr = %q, want nothing without --debug", res.stderr)
	}
	if rep := res.report(t); rep.Args[0] != "/inspect" {
		t.Errorf("app argv = %q", rep.Args)
	}
}
