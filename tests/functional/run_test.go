package functional

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
)

func TestRunHostVolumesReadWrite(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	rw := filepath.Join(e.scratch, "rw")
	ro := filepath.Join(e.scratch, "ro")
	writeFile(t, filepath.Join(rw, "in"), "from host\n")
	writeFile(t, filepath.Join(ro, "keep"), "read-only\n")

	script := `cat /rw/in > /rw/copy && echo written > /rw/out && ` +
		`if echo x > /ro/new 2>/dev/null; then echo ro-writable > /rw/ro-result; else echo ro-refused > /rw/ro-result; fi && cat /ro/keep > /rw/ro-read`
	e.mustRun("run",
		"--volume", "rw,kind=host,source="+rw,
		"--volume=ro,kind=host,source="+ro+",readOnly=true",
		testbuild.Image(t, "busybox"),
		"--mount", "volume=rw,target=/rw", "--mount=volume=ro,target=/ro",
		"--exec", "/bin/sh", "--", "-c", script)

	if got := readFile(t, filepath.Join(rw, "copy")); got != "from host\n" {
		t.Errorf("copy = %q", got)
	}
	if got := readFile(t, filepath.Join(rw, "out")); got != "written\n" {
		t.Errorf("out = %q", got)
	}
	if got := readFile(t, filepath.Join(rw, "ro-result")); got != "ro-refused\n" {
		t.Errorf("write to read-only volume: %q", got)
	}
	if got := readFile(t, filepath.Join(rw, "ro-read")); got != "read-only\n" {
		t.Errorf("read from read-only volume = %q", got)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Error("the read-only volume's source got a new file")
	}
}

func TestRunEmptyVolumeAndPodMounts(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	out := filepath.Join(e.scratch, "out")
	writeFile(t, filepath.Join(out, ".keep"), "")

	// --mount before the image applies to the pod; the second --mount
	// names a volume declared later on the line.
	script := `ls -ld /scratch | cut -c1-10 > /out/mode && echo inside > /scratch/f && cat /scratch/f > /out/copy`
	e.mustRun("run",
		"--mount=volume=scratch,target=/scratch",
		testbuild.Image(t, "busybox"),
		"--mount=volume=out,target=/out",
		"--exec", "/bin/sh", "--", "-c", script, "---",
		"--volume=scratch,kind=empty,mode=0700",
		"--volume=out,kind=host,source="+out)

	if got := readFile(t, filepath.Join(out, "copy")); got != "inside\n" {
		t.Errorf("empty volume round trip = %q", got)
	}
	if got := readFile(t, filepath.Join(out, "mode")); got != "drwx------\n" {
		t.Errorf("empty volume mode = %q, want drwx------", got)
	}
}

func TestRunEnvironmentPrecedence(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	envFile := filepath.Join(e.scratch, "env")
	writeFile(t, envFile, "# comment\n; comment\n\nFROM_FILE=file\nSET_BY_ALL=file\n")
	e.extraEnv = []string{"INHERITED=inherit", "SET_BY_ALL=inherit", "PER_APP=inherit"}

	report := e.runInspect(
		[]string{"--inherit-env", "--set-env-file=" + envFile, "--set-env=SET_BY_ALL=set", "--set-env", "ONLY_SET=set"},
		"--environment=PER_APP=environment", "--environment=SET_BY_ALL=environment")
	env := report.envMap()

	want := map[string]string{
		"INHERITED":  "inherit",
		"PER_APP":    "environment",
		"FROM_FILE":  "file",
		"SET_BY_ALL": "set",
		"ONLY_SET":   "set",
		// The image sets no PATH, so the inherited one fills it.
		"PATH": os.Getenv("PATH"),
	}
	for name, value := range want {
		if env[name] != value {
			t.Errorf("%s = %q, want %q", name, env[name], value)
		}
	}
	if _, ok := env["RKT_LOCK_FD"]; ok {
		t.Error("RKT_LOCK_FD leaked into the app environment")
	}
}

func TestRunUserAndGroup(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	cases := []struct {
		name      string
		flags     []string
		uid, gid  int
		wantGroup []int
	}{
		{name: "names", flags: []string{"--user=user1", "--group=group2"}, uid: 1000, gid: 1001, wantGroup: []int{1001}},
		{name: "numbers", flags: []string{"--user=4242", "--group=4343", "--supplementary-gids=7,8"}, uid: 4242, gid: 4343, wantGroup: []int{4343, 7, 8}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			report := e.runInspect(nil, tc.flags...)
			if report.UID != tc.uid {
				t.Errorf("uid = %d, want %d", report.UID, tc.uid)
			}
			if report.GID != tc.gid {
				t.Errorf("gid = %d, want %d", report.GID, tc.gid)
			}
			groups := slices.Clone(report.Groups)
			slices.Sort(groups)
			want := slices.Clone(tc.wantGroup)
			slices.Sort(want)
			if !reflect.DeepEqual(groups, want) {
				t.Errorf("groups = %v, want %v", report.Groups, tc.wantGroup)
			}
		})
	}
}

func TestRunWorkingDirExecAndArgs(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	// Empty words are skipped; arguments after -- are appended to --exec.
	report := e.runInspect(nil, "", "--working-dir=/tmp", "--exec=/inspect", "--", "first", "second word", "---")
	if report.Cwd != "/tmp" {
		t.Errorf("cwd = %q, want /tmp", report.Cwd)
	}
	want := []string{"/inspect", "first", "second word"}
	if !reflect.DeepEqual(report.Args, want) {
		t.Errorf("args = %q, want %q", report.Args, want)
	}
}

func TestRunExitStatusPassesThrough(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	res := e.run("run", testbuild.Image(t, "busybox"), "--exec", "/bin/sh", "--", "-c", "exit 7")
	if res.code != 7 {
		t.Errorf("exit status = %d, want 7; stderr: %s", res.code, res.stderr)
	}
}

func TestRunPodLayoutAndOverlays(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	uuidFile := filepath.Join(e.scratch, "uuid")
	e.mustRun("run", "--uuid-file-save="+uuidFile, testbuild.Image(t, "true"))

	uuid := readFile(t, uuidFile)
	if len(uuid) != 36 || strings.TrimSpace(uuid) != uuid {
		t.Fatalf("uuid file = %q, want a bare UUID", uuid)
	}
	fi, err := os.Stat(uuidFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("uuid file mode = %v, want 0644", fi.Mode().Perm())
	}

	p := filepath.Join(e.dataDir, "pods", "run", uuid)
	files := map[string]os.FileMode{
		"pod":                                    0o640,
		"pod.lck":                                0o600,
		"pod-created":                            0o640,
		"stage1TreeStoreID":                      0o640,
		"overlay-prepared":                       0o640,
		"appsinfo/true/manifest":                 0o640,
		"appsinfo/true/treeStoreID":              0o640,
		"stage1/manifest":                        0o640,
		"pid":                                    0o644,
		"stage1/rootfs/opt/stage2/true/manifest": 0o640,
	}
	for name, mode := range files {
		fi, err := os.Stat(filepath.Join(p, name))
		if err != nil {
			t.Errorf("pod file %s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("pod file %s mode = %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	for _, dir := range []string{p, filepath.Join(p, "appsinfo"), filepath.Join(p, "appsinfo", "true")} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o750 {
			t.Errorf("%s mode = %v, want 0750", dir, fi.Mode().Perm())
		}
	}

	mounts := testns.MountPoints(t)
	for _, target := range []string{
		filepath.Join(p, "stage1", "rootfs"),
		filepath.Join(p, "stage1", "rootfs", "opt", "stage2", "true", "rootfs"),
	} {
		if !slices.Contains(mounts, target) {
			t.Errorf("no overlay mounted on %s", target)
		}
	}
	if len(e.podDirs("prepare")) != 0 || len(e.podDirs("embryo")) != 0 {
		t.Error("a pod was left in embryo or prepare")
	}
}

func TestRunNoOverlayCopiesTrees(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	uuidFile := filepath.Join(e.scratch, "uuid")
	e.mustRun("run", "--no-overlay", "--uuid-file-save="+uuidFile, testbuild.Image(t, "busybox"),
		"--exec=/bin/sh", "--", "-c", "echo copied > /marker")

	p := filepath.Join(e.dataDir, "pods", "run", readFile(t, uuidFile))
	if _, err := os.Stat(filepath.Join(p, "overlay-prepared")); err == nil {
		t.Error("overlay-prepared exists in copy mode")
	}
	rootfs := filepath.Join(p, "stage1", "rootfs", "opt", "stage2", "busybox", "rootfs")
	if got := readFile(t, filepath.Join(rootfs, "marker")); got != "copied\n" {
		t.Errorf("marker = %q", got)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "bin", "sh")); err != nil {
		t.Errorf("copied app rootfs: %v", err)
	}
	for _, m := range testns.MountPoints(t) {
		if m == rootfs || m == filepath.Join(p, "stage1", "rootfs") {
			t.Errorf("%s is a mount point in copy mode", m)
		}
	}
}

func TestPrepareThenRunPrepared(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	res := e.mustRun("prepare", testbuild.Image(t, "busybox"), "--exec=/bin/sh", "--", "-c", "exit 3")
	uuid := strings.TrimSpace(res.stdout)
	if len(uuid) != 36 {
		t.Fatalf("prepare printed %q, want a UUID", res.stdout)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "pods", "prepared", uuid)); err != nil {
		t.Fatalf("prepared pod: %v", err)
	}

	run := e.run("run-prepared", uuid[:8])
	if run.code != 3 {
		t.Errorf("run-prepared exit status = %d, want 3; stderr: %s", run.code, run.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "pods", "run", uuid, "pid")); err != nil {
		t.Errorf("pod did not run: %v", err)
	}

	again := e.run("run-prepared", uuid)
	if again.code != 254 || !strings.Contains(again.stderr, "is not prepared") {
		t.Errorf("second run-prepared: exit %d, stderr %q", again.code, again.stderr)
	}
}
