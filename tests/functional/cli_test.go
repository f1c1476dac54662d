package functional

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// stderrLines returns the non-empty lines of stderr.
func stderrLines(stderr string) []string {
	var lines []string
	for _, line := range strings.Split(stderr, "\n") {
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// unpackBusybox extracts the busybox test image into a new directory under
// the scratch directory and returns it.
func (e *rktEnv) unpackBusybox(name string) string {
	e.t.Helper()
	dir := filepath.Join(e.scratch, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	out, err := exec.Command("tar", "-xzf", testbuild.Image(e.t, "busybox"), "-C", dir).CombinedOutput()
	if err != nil {
		e.t.Fatalf("extract busybox image: %v\n%s", err, out)
	}
	return dir
}

// tarDir archives dir the way image authors often do, with
// "tar -C dir -czf out .", which writes a "./" root entry first.
func (e *rktEnv) tarDir(dir, out string) {
	e.t.Helper()
	if output, err := exec.Command("tar", "-C", dir, "-czf", out, ".").CombinedOutput(); err != nil {
		e.t.Fatalf("tar %s: %v\n%s", dir, err, output)
	}
}

func TestUnknownCommandHint(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	res := e.run("bogus")
	if res.code != 254 {
		t.Errorf("exit status = %d, want 254", res.code)
	}
	want := []string{`rkt: unknown command "bogus" for "rkt"`, `Run 'rkt help' for usage.`}
	if got := stderrLines(res.stderr); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestMissingUUIDOneLine(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	for _, sub := range []string{"stop", "rm", "status", "cat-manifest"} {
		t.Run(sub, func(t *testing.T) {
			res := e.run(sub)
			if res.code != 254 {
				t.Errorf("exit status = %d, want 254", res.code)
			}
			want := sub + `: missing pod UUID (see "rkt ` + sub + ` --help")`
			if got := stderrLines(res.stderr); len(got) != 1 || got[0] != want {
				t.Errorf("stderr = %q, want the one line %q", got, want)
			}
		})
	}
}

func TestConfigRedactsCredentials(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	writeFile(t, filepath.Join(e.localConfig, "auth.d", "basic.json"),
		`{"rktKind":"auth","rktVersion":"v1","domains":["registry.example.com"],"type":"basic","credentials":{"user":"bob","password":"hunter2-secret"}}`)
	writeFile(t, filepath.Join(e.localConfig, "auth.d", "docker.json"),
		`{"rktKind":"dockerAuth","rktVersion":"v1","registries":["index.docker.io"],"credentials":{"user":"bob","password":"docker-secret"}}`)
	writeFile(t, filepath.Join(e.localConfig, "paths.d", "paths.json"),
		`{"rktKind":"paths","rktVersion":"v1","stage1-images":"/opt/stage1"}`)

	res := e.mustRun("config")
	for _, secret := range []string{"hunter2-secret", "docker-secret", "bob"} {
		if strings.Contains(res.stdout, secret) {
			t.Errorf("config output contains the credential value %q:\n%s", secret, res.stdout)
		}
	}
	var out struct {
		Stage0 []map[string]any `json:"stage0"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("config output is not JSON: %v\n%s", err, res.stdout)
	}
	var kinds []string
	for _, entry := range out.Stage0 {
		kind, _ := entry["rktKind"].(string)
		kinds = append(kinds, kind)
		if entry["rktVersion"] != "v1" {
			t.Errorf("entry %v has rktVersion %v, want v1", entry, entry["rktVersion"])
		}
	}
	if got, want := strings.Join(kinds, ","), "auth,dockerAuth,paths,stage1"; got != want {
		t.Errorf("entry kinds = %s, want %s", got, want)
	}
	if len(out.Stage0) == 4 {
		creds, _ := out.Stage0[0]["credentials"].(map[string]any)
		if creds["password"] != "<redacted>" || creds["user"] != "<redacted>" {
			t.Errorf("auth credentials = %v, want both values <redacted>", creds)
		}
		if out.Stage0[2]["stage1-images"] != "/opt/stage1" {
			t.Errorf("paths entry = %v, want stage1-images /opt/stage1", out.Stage0[2])
		}
	}
	if !strings.Contains(res.stdout, "\n\t") {
		t.Errorf("config output is not indented by default:\n%s", res.stdout)
	}
}

func TestRunGNUTarImage(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	dir := e.unpackBusybox("dotimg")
	image := filepath.Join(e.scratch, "dot.aci")
	e.tarDir(dir, image)

	listing, err := exec.Command("tar", "-tzf", image).Output()
	if err != nil {
		t.Fatalf("list %s: %v", image, err)
	}
	if first := strings.SplitN(string(listing), "\n", 2)[0]; first != "./" {
		t.Fatalf("first entry of the archive = %q, want \"./\"; this tar does not write the case under test", first)
	}
	e.mustRun("run", image, "--exec", "/bin/true")
}

func TestRunRejectsBeforePodExists(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	busybox := testbuild.Image(t, "busybox")

	noLabels := e.unpackBusybox("nolabels")
	manifest := readFile(t, filepath.Join(noLabels, "manifest"))
	start := strings.Index(manifest, `"labels"`)
	end := strings.Index(manifest, `],`)
	if start < 0 || end < start {
		t.Fatalf("busybox manifest has no labels list to remove:\n%s", manifest)
	}
	writeFile(t, filepath.Join(noLabels, "manifest"), manifest[:start]+`"labels": [],`+manifest[end+2:])
	noLabelsImage := filepath.Join(e.scratch, "nolabels.aci")
	e.tarDir(noLabels, noLabelsImage)

	envFile := filepath.Join(e.scratch, "env")
	writeFile(t, envFile, "OK=1\nBAD=a\x00b\n")

	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "set-env newline", args: []string{"--set-env=X=a\nb", busybox}, want: `environment variable "X": value contains a newline or NUL`},
		{name: "environment newline", args: []string{busybox, "--environment=Y=a\nb"}, want: `environment variable "Y": value contains a newline or NUL`},
		{name: "set-env-file NUL", args: []string{"--set-env-file=" + envFile, busybox}, want: `line 2: environment variable "BAD": value contains a newline or NUL`},
		{name: "no os and arch labels", args: []string{noLabelsImage}, want: `image "` + noLabelsImage + `": missing "os" and "arch" labels`},
		{name: "volume readOnly yes", args: []string{"--volume=v,kind=host,source=/tmp,readOnly=yes", busybox}, want: `run: --volume v: invalid readOnly value "yes": use true or false (see "rkt run --help")`},
		{name: "volume recursive yes", args: []string{"--volume=v,kind=host,source=/tmp,recursive=yes", busybox}, want: `run: --volume v: invalid recursive value "yes": use true or false (see "rkt run --help")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.run(append(append([]string{"run"}, tc.args...), "--exec", "/bin/true")...)
			if res.code != 254 {
				t.Errorf("exit status = %d, want 254", res.code)
			}
			lines := stderrLines(res.stderr)
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), res.stderr)
			}
			if !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", res.stderr, tc.want)
			}
			for _, state := range []string{"embryo", "prepare", "prepared", "run", "exited-garbage", "garbage"} {
				if dirs := e.podDirs(state); len(dirs) != 0 {
					t.Errorf("pods left in %s: %v", state, dirs)
				}
			}
		})
	}
}

func TestRunCredentialErrorsNameValue(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	busybox := testbuild.Image(t, "busybox")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown user", args: []string{"--user=nosuch"}, want: `failed to lookup process credentials: user "nosuch" not found in the image's /etc/passwd`},
		{name: "unknown group", args: []string{"--group=nosuchgroup"}, want: `failed to lookup process credentials: group "nosuchgroup" not found in the image's /etc/group`},
		{name: "negative user id", args: []string{"--user=-5"}, want: `user "-5" not found in the image's /etc/passwd, and it is not a valid id (0 to 4294967294)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", busybox}, tc.args...), "--exec", "/bin/true")
			res := e.run(args...)
			if res.code != 254 {
				t.Errorf("exit status = %d, want 254", res.code)
			}
			if !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", res.stderr, tc.want)
			}
		})
	}
}

func TestStage1FromDirMissingNamesFix(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	busybox := testbuild.Image(t, "busybox")
	systemConfig := filepath.Join(e.scratch, "system-config")
	if err := os.MkdirAll(systemConfig, 0o755); err != nil {
		t.Fatal(err)
	}
	imagesDir := filepath.Join(e.scratch, "stage1-images")
	fix := `: set "stage1-images" in a paths.d file under --local-config or --system-config, or use --stage1-path`

	t.Run("build default", func(t *testing.T) {
		res := e.run("run", "--system-config="+systemConfig, "--stage1-from-dir=no-such-stage1.aci", busybox, "--exec=/bin/true")
		if res.code != 254 {
			t.Errorf("exit status = %d, want 254", res.code)
		}
		if !strings.Contains(res.stderr, "(the build default)"+fix) {
			t.Errorf("stderr %q does not name the build default and the fix", res.stderr)
		}
		_, rest, found := strings.Cut(res.stderr, "not found in the stage1 images directory ")
		dir, _, _ := strings.Cut(rest, " (the build default)")
		if !found || dir == "" {
			t.Fatalf("stderr %q does not name the stage1 images directory", res.stderr)
		}
		if n := strings.Count(res.stderr, dir); n != 1 {
			t.Errorf("stderr names the directory %s %d times, want once:\n%s", dir, n, res.stderr)
		}
	})

	t.Run("configured", func(t *testing.T) {
		writeFile(t, filepath.Join(e.localConfig, "paths.d", "paths.json"),
			`{"rktKind":"paths","rktVersion":"v1","stage1-images":"`+imagesDir+`"}`)
		res := e.run("run", "--system-config="+systemConfig, "--stage1-from-dir=no-such-stage1.aci", busybox, "--exec=/bin/true")
		if res.code != 254 {
			t.Errorf("exit status = %d, want 254", res.code)
		}
		want := `run: stage1 image from --stage1-from-dir "no-such-stage1.aci": not found in the stage1 images directory ` +
			imagesDir + ` (set by "stage1-images" in a paths.d file)` + fix
		if got := stderrLines(res.stderr); len(got) != 1 || got[0] != want {
			t.Errorf("stderr = %q, want the one line %q", got, want)
		}
	})
}

// TestPrepareAcceptsMissingVolumeSource checks that stage0 leaves the check
// of a host volume's source to the stage1, so that the source can be
// created between prepare and run-prepared.
func TestPrepareAcceptsMissingVolumeSource(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	source := filepath.Join(e.scratch, "created-later")
	res := e.mustRun("prepare", "--volume=v,kind=host,source="+source, "--mount=volume=v,target=/mnt",
		testbuild.Image(t, "busybox"), "--exec=/bin/cat", "--", "/mnt/marker")
	uuid := strings.TrimSpace(res.stdout)
	if len(uuid) != 36 {
		t.Fatalf("prepare printed %q, want a UUID", res.stdout)
	}

	writeFile(t, filepath.Join(source, "marker"), "created after prepare\n")
	run := e.run("run-prepared", uuid)
	if run.code != 0 {
		t.Fatalf("run-prepared exit status = %d, want 0; stderr: %s", run.code, run.stderr)
	}
	if run.stdout != "created after prepare\n" {
		t.Errorf("app output = %q, want the marker written after prepare", run.stdout)
	}
}
