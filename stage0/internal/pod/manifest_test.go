package pod

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
)

const testKey = "sha512-" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testImage(t *testing.T, manifest string) *schema.ImageManifest {
	t.Helper()
	var im schema.ImageManifest
	if err := json.Unmarshal([]byte(manifest), &im); err != nil {
		t.Fatal(err)
	}
	return &im
}

const busyboxManifest = `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/busy_box",
 "labels":[{"name":"os","value":"linux"}],
 "app":{"exec":["/bin/sh","-x"],"user":"0","group":"0",
        "environment":[{"name":"A","value":"image"},{"name":"B","value":"image"},{"name":"C","value":"image"},{"name":"D","value":"image"}],
        "mountPoints":[{"name":"data","path":"/data"}]}}`

func TestGenerateManifestEnvironmentPrecedence(t *testing.T) {
	var appEnv, fileEnv, setEnv types.Environment
	appEnv.Set("B", "environment")
	appEnv.Set("E", "environment")
	fileEnv.Set("C", "file")
	fileEnv.Set("F", "file")
	setEnv.Set("D", "set")
	setEnv.Set("F", "set")

	app := &App{Image: "busybox.aci", Key: testKey, Manifest: testImage(t, busyboxManifest), Environment: appEnv}
	pm, err := GenerateManifest(ManifestConfig{
		Version:    "1.30.0+git",
		Apps:       []*App{app},
		InheritEnv: []string{"A=inherit", "E=inherit", "G=inherit", "BASH_FUNC_x%%=()", "NOEQUALS"},
		EnvFile:    fileEnv,
		SetEnv:     setEnv,
	})
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]string{"A": "image", "B": "environment", "C": "file", "D": "set", "E": "environment", "F": "set", "G": "inherit"}
	env := pm.Apps[0].App.Environment
	for name, value := range want {
		got, ok := env.Get(name)
		if !ok || got != value {
			t.Errorf("%s = %q (set %v), want %q", name, got, ok, value)
		}
	}
	if len(env) != len(want) {
		t.Errorf("environment has %d names, want %d: %+v", len(env), len(want), env)
	}
	if v, _ := app.Manifest.App.Environment.Get("B"); v != "image" {
		t.Errorf("image manifest environment changed: B = %q", v)
	}
}

func TestGenerateManifestOverridesAndMounts(t *testing.T) {
	app := &App{
		Image:             "busybox.aci",
		Key:               testKey,
		Manifest:          testImage(t, busyboxManifest),
		Exec:              "/bin/echo",
		Args:              []string{"hello"},
		User:              "nobody",
		Group:             "/etc",
		SupplementaryGIDs: []int{5, 6},
		WorkingDir:        "/tmp",
		Mounts:            []schema.Mount{{Volume: "a", Path: "/x/"}},
	}
	pm, err := GenerateManifest(ManifestConfig{
		Version: "1.30.0+git",
		Apps:    []*App{app},
		Mounts:  []schema.Mount{{Volume: "b", Path: "/x"}, {Volume: "c", Path: "/y"}},
		Volumes: []types.Volume{{Name: "a", Kind: "host", Source: "/srv"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	ra := pm.Apps[0]
	if ra.Name != "busy-box" {
		t.Errorf("app name = %q, want busy-box", ra.Name)
	}
	if !reflect.DeepEqual([]string(ra.App.Exec), []string{"/bin/echo", "hello"}) {
		t.Errorf("exec = %q", ra.App.Exec)
	}
	if ra.App.User != "nobody" || ra.App.Group != "/etc" || ra.App.WorkingDirectory != "/tmp" {
		t.Errorf("user/group/workdir = %q/%q/%q", ra.App.User, ra.App.Group, ra.App.WorkingDirectory)
	}
	if !reflect.DeepEqual(ra.App.SupplementaryGIDs, []int{5, 6}) {
		t.Errorf("supplementary gids = %v", ra.App.SupplementaryGIDs)
	}
	wantMounts := []schema.Mount{{Volume: "a", Path: "/x/"}, {Volume: "c", Path: "/y"}}
	if !reflect.DeepEqual(ra.Mounts, wantMounts) {
		t.Errorf("mounts = %+v, want %+v", ra.Mounts, wantMounts)
	}
	if ra.Image.ID.String() != testKey {
		t.Errorf("image id = %s", ra.Image.ID)
	}
	if v, ok := pm.Annotations.Get("coreos.com/rkt/stage1/mutable"); !ok || v != "false" {
		t.Errorf("mutable annotation = %q, %v", v, ok)
	}

	data, err := json.Marshal(pm)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"acVersion":"1.30.0+git"`, `"isolators":null`, `"ports":null`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("manifest JSON lacks %s: %s", want, data)
		}
	}
}

func TestGenerateManifestErrors(t *testing.T) {
	noApp := `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/noapp"}`
	cases := []struct {
		name    string
		cfg     func(t *testing.T) ManifestConfig
		wantErr string
	}{
		{name: "duplicate volume", wantErr: "duplicate volume name", cfg: func(t *testing.T) ManifestConfig {
			return ManifestConfig{Version: "1.0.0", Volumes: []types.Volume{{Name: "v", Kind: "host", Source: "/a"}, {Name: "v", Kind: "host", Source: "/b"}}}
		}},
		{name: "duplicate app name", wantErr: "multiple apps with name", cfg: func(t *testing.T) ManifestConfig {
			im := testImage(t, busyboxManifest)
			return ManifestConfig{Version: "1.0.0", Apps: []*App{{Key: testKey, Manifest: im}, {Key: testKey, Manifest: im}}}
		}},
		{name: "args without app section", wantErr: "has no app section", cfg: func(t *testing.T) ManifestConfig {
			return ManifestConfig{Version: "1.0.0", Apps: []*App{{Image: "noapp.aci", Key: testKey, Manifest: testImage(t, noApp), Args: []string{"x"}}}}
		}},
		{name: "newline in image env", wantErr: `app "busy-box": environment variable "NL": value contains a newline or NUL`, cfg: func(t *testing.T) ManifestConfig {
			im := testImage(t, `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/busy_box",
 "app":{"exec":["/bin/sh"],"user":"0","group":"0","environment":[{"name":"NL","value":"a\nb"}]}}`)
			return ManifestConfig{Version: "1.0.0", Apps: []*App{{Key: testKey, Manifest: im}}}
		}},
		{name: "NUL in set-env", wantErr: `environment variable "Z": value contains a newline or NUL`, cfg: func(t *testing.T) ManifestConfig {
			var setEnv types.Environment
			setEnv.Set("Z", "a\x00b")
			return ManifestConfig{Version: "1.0.0", Apps: []*App{{Key: testKey, Manifest: testImage(t, busyboxManifest)}}, SetEnv: setEnv}
		}},
		{name: "newline in inherited env", wantErr: `--inherit-env: environment variable "MULTI": value contains a newline or NUL`, cfg: func(t *testing.T) ManifestConfig {
			return ManifestConfig{Version: "1.0.0", Apps: []*App{{Key: testKey, Manifest: testImage(t, busyboxManifest)}}, InheritEnv: []string{"MULTI=a\nb"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := GenerateManifest(tc.cfg(t))
			if err == nil {
				t.Fatal("GenerateManifest succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestGenerateManifestExecWithoutAppSection(t *testing.T) {
	getuid = func() int { return 1234 }
	getgid = func() int { return 5678 }
	t.Cleanup(func() {
		getuid = defaultGetuid
		getgid = defaultGetgid
	})
	noApp := `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/noapp"}`
	app := &App{Image: "noapp.aci", Key: testKey, Manifest: testImage(t, noApp), Exec: "/x"}
	pm, err := GenerateManifest(ManifestConfig{Version: "1.0.0", Apps: []*App{app}})
	if err != nil {
		t.Fatal(err)
	}
	ra := pm.Apps[0].App
	if ra.User != "1234" || ra.Group != "5678" || !reflect.DeepEqual([]string(ra.Exec), []string{"/x"}) {
		t.Errorf("app = %+v", ra)
	}
}

// TestInheritedNewlineOverridden checks that an inherited value that is
// never used, because a flag sets the name, does not fail the manifest.
func TestInheritedNewlineOverridden(t *testing.T) {
	var setEnv types.Environment
	setEnv.Set("MULTI", "one line")
	pm, err := GenerateManifest(ManifestConfig{
		Version:    "1.0.0",
		Apps:       []*App{{Key: testKey, Manifest: testImage(t, busyboxManifest)}},
		InheritEnv: []string{"MULTI=a\nb"},
		SetEnv:     setEnv,
	})
	if err != nil {
		t.Fatalf("GenerateManifest: %v", err)
	}
	if got, _ := pm.Apps[0].App.Environment.Get("MULTI"); got != "one line" {
		t.Errorf("MULTI = %q, want %q", got, "one line")
	}
}
