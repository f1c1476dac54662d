package build

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// configureCopy copies ./configure and the files it reads into a temporary
// directory, so that a test run does not overwrite the build's config.mk.
func configureCopy(t *testing.T) string {
	t.Helper()
	root := testbuild.RepoRoot(t)
	dir := t.TempDir()
	files := []string{"configure", "config.mk.in", "go.mod", "stage0/internal/buildinfo/buildinfo.go"}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatalf("%v (run ./autogen.sh to generate ./configure)", err)
		}
		target := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runConfigure runs the copied configure with args and returns its output
// and whether it succeeded.
func runConfigure(t *testing.T, dir string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("./configure", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("run configure: %v", err)
		}
		return string(out), false
	}
	return string(out), true
}

// readConfig returns the variables of dir/config.mk.
func readConfig(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config.mk"))
	if err != nil {
		t.Fatal(err)
	}
	config := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if name, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			config[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	return config
}

func TestConfigureSettings(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{
			name: "fly flavor defaults",
			args: []string{"--with-stage1-flavors=fly"},
			want: map[string]string{
				"PACKAGE_VERSION":               "1.31.0+git",
				"RKT_STAGE1_FLAVORS":            "fly",
				"RKT_STAGE1_DEFAULT_NAME":       "coreos.com/rkt/stage1-fly",
				"RKT_STAGE1_DEFAULT_VERSION":    "1.31.0+git",
				"RKT_STAGE1_DEFAULT_LOCATION":   "",
				"RKT_STAGE1_DEFAULT_FILENAME":   "stage1-fly.aci",
				"RKT_STAGE1_DEFAULT_IMAGES_DIR": "/usr/local/lib/rkt/stage1-images",
				"APPC_VERSION":                  "0.8.11",
			},
		},
		{
			name: "detailed setup with path location",
			args: []string{"--with-stage1-default-name=example.com/stage1", "--with-stage1-default-version=2.0.0",
				"--with-stage1-default-location=/opt/rkt/my-stage1.aci"},
			want: map[string]string{
				"RKT_STAGE1_FLAVORS":          "",
				"RKT_STAGE1_DEFAULT_NAME":     "example.com/stage1",
				"RKT_STAGE1_DEFAULT_VERSION":  "2.0.0",
				"RKT_STAGE1_DEFAULT_LOCATION": "/opt/rkt/my-stage1.aci",
				"RKT_STAGE1_DEFAULT_FILENAME": "my-stage1.aci",
			},
		},
		{
			name: "version override and prefix",
			args: []string{"--with-stage1-flavors=fly,fly", "--with-stage1-flavors-version-override=9.9.9", "--prefix=/opt/rkt",
				"--with-stage1-default-location=https://example.com/stage1-fly.aci"},
			want: map[string]string{
				"RKT_STAGE1_FLAVORS":            "fly",
				"RKT_STAGE1_DEFAULT_VERSION":    "9.9.9",
				"RKT_STAGE1_DEFAULT_IMAGES_DIR": "/opt/rkt/lib/rkt/stage1-images",
				"RKT_STAGE1_DEFAULT_LOCATION":   "https://example.com/stage1-fly.aci",
				"RKT_STAGE1_DEFAULT_FILENAME":   "stage1-fly.aci",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := configureCopy(t)
			out, ok := runConfigure(t, dir, tt.args...)
			if !ok {
				t.Fatalf("configure %q failed:\n%s", tt.args, out)
			}
			config := readConfig(t, dir)
			for key, want := range tt.want {
				if got, present := config[key]; !present || got != want {
					t.Errorf("%s = %q (present %v), want %q", key, got, present, want)
				}
			}
			if !strings.HasPrefix(config["RKT_VERSION"], config["PACKAGE_VERSION"]) {
				t.Errorf("RKT_VERSION %q does not start with PACKAGE_VERSION %q", config["RKT_VERSION"], config["PACKAGE_VERSION"])
			}
		})
	}
}

func TestConfigureRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "coreos flavor", args: []string{"--with-stage1-flavors=coreos"}, wantErr: "the only supported flavor is fly"},
		{name: "unknown flavor in list", args: []string{"--with-stage1-flavors=fly,kvm"}, wantErr: "the only supported flavor is fly"},
		{name: "name without version", args: []string{"--with-stage1-default-name=example.com/s1"}, wantErr: "must be given together"},
		{name: "flavor with name", args: []string{"--with-stage1-default-flavor=fly", "--with-stage1-default-name=a", "--with-stage1-default-version=1"},
			wantErr: "cannot be combined"},
		{name: "relative location", args: []string{"--with-stage1-default-location=stage1.aci"}, wantErr: "nor an absolute path"},
		{name: "relative images directory", args: []string{"--with-stage1-default-images-directory=images"}, wantErr: "not an absolute path"},
		{name: "no flavor and no default", args: []string{"--without-stage1-flavors"}, wantErr: "no stage1 flavor to build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ok := runConfigure(t, configureCopy(t), tt.args...)
			if ok {
				t.Fatalf("configure %q succeeded, want an error containing %q", tt.args, tt.wantErr)
			}
			if !strings.Contains(out, tt.wantErr) {
				t.Errorf("configure %q output lacks %q:\n%s", tt.args, tt.wantErr, out)
			}
		})
	}
}

func TestConfigureHelpListsStage1Options(t *testing.T) {
	out, ok := runConfigure(t, configureCopy(t), "--help")
	if !ok {
		t.Fatalf("configure --help failed:\n%s", out)
	}
	for _, option := range []string{"--with-stage1-flavors=LIST", "--with-stage1-default-flavor", "--with-stage1-default-name",
		"--with-stage1-default-version", "--with-stage1-default-location", "--with-stage1-default-images-directory",
		"--with-stage1-flavors-version-override", "/usr/local/lib/rkt/stage1-images"} {
		if !strings.Contains(out, option) {
			t.Errorf("configure --help does not mention %s", option)
		}
	}
}
