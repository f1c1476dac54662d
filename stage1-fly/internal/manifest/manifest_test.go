package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
)

func boolPtr(b bool) *bool       { return &b }
func intPtr(i int) *int          { return &i }
func stringPtr(s string) *string { return &s }

// appcApp is an app section with every field that fly reads.
func appcApp() *types.App {
	return &types.App{
		Exec:              types.Exec{"/bin/server", "--port", "80"},
		User:              "web",
		Group:             "www",
		SupplementaryGIDs: []int{5, 6},
		WorkingDirectory:  "/srv",
		Environment:       types.Environment{{Name: "PATH", Value: "/bin"}, {Name: "MODE", Value: "a=b"}},
		MountPoints: []types.MountPoint{
			{Name: "data", Path: "/data", ReadOnly: true},
			{Name: "cache", Path: "/var/cache"},
		},
	}
}

func wantApp() *App {
	return &App{
		Exec:              []string{"/bin/server", "--port", "80"},
		User:              "web",
		Group:             "www",
		SupplementaryGIDs: []int{5, 6},
		WorkingDirectory:  "/srv",
		Environment:       Environment{{Name: "PATH", Value: "/bin"}, {Name: "MODE", Value: "a=b"}},
		MountPoints: []MountPoint{
			{Name: "data", Path: "/data", ReadOnly: true},
			{Name: "cache", Path: "/var/cache"},
		},
	}
}

func TestDecodePodOfAppcEncoding(t *testing.T) {
	id, err := types.NewHash("sha512-" + strings.Repeat("ab", 64))
	if err != nil {
		t.Fatal(err)
	}
	imageName := types.ACIdentifier("example.com/server")
	appVolume := types.Volume{Name: "inline", Kind: "host", Source: "/srv/inline", ReadOnly: boolPtr(true)}
	pm := schema.BlankPodManifest()
	pm.Apps = schema.AppList{{
		Name:  "server",
		Image: schema.RuntimeImage{Name: &imageName, ID: *id},
		App:   appcApp(),
		Mounts: []schema.Mount{
			{Volume: "data", Path: "/data"},
			{Volume: "inline", Path: "/inline", AppVolume: &appVolume},
		},
	}}
	pm.Volumes = []types.Volume{
		{Name: "data", Kind: "host", Source: "/srv/data", ReadOnly: boolPtr(false), Recursive: boolPtr(true)},
		{Name: "scratch", Kind: "empty", Mode: stringPtr("0700"), UID: intPtr(1000), GID: intPtr(100)},
	}
	data, err := json.Marshal(pm)
	if err != nil {
		t.Fatal(err)
	}

	got, err := DecodePod(data)
	if err != nil {
		t.Fatalf("DecodePod: %v", err)
	}
	want := &PodManifest{
		ACKind: PodManifestKind,
		Apps: []RuntimeApp{{
			Name:  "server",
			Image: RuntimeImage{Name: "example.com/server", ID: "sha512-" + strings.Repeat("ab", 64)},
			App:   wantApp(),
			Mounts: []Mount{
				{Volume: "data", Path: "/data"},
				{Volume: "inline", Path: "/inline", AppVolume: &Volume{Name: "inline", Kind: "host", Source: "/srv/inline", ReadOnly: boolPtr(true)}},
			},
		}},
		Volumes: []Volume{
			{Name: "data", Kind: "host", Source: "/srv/data", ReadOnly: boolPtr(false), Recursive: boolPtr(true)},
			{Name: "scratch", Kind: "empty", Mode: stringPtr("0700"), UID: intPtr(1000), GID: intPtr(100)},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodePod =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodePodWithoutAppSection(t *testing.T) {
	got, err := DecodePod([]byte(`{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{"name":"a","image":{"id":"sha512-00"}}]}`))
	if err != nil {
		t.Fatalf("DecodePod: %v", err)
	}
	if len(got.Apps) != 1 {
		t.Fatalf("DecodePod has %d apps, want 1", len(got.Apps))
	}
	if got.Apps[0].App != nil {
		t.Errorf("App = %+v, want nil", got.Apps[0].App)
	}
}

func TestDecodeImageOfAppcEncoding(t *testing.T) {
	im := schema.BlankImageManifest()
	im.Name = "example.com/server"
	im.App = appcApp()
	im.Annotations.Set("appc.io/docker/repository", "library/server")
	data, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}

	got, err := DecodeImage(data)
	if err != nil {
		t.Fatalf("DecodeImage: %v", err)
	}
	want := &ImageManifest{
		ACKind:      ImageManifestKind,
		Name:        "example.com/server",
		App:         wantApp(),
		Annotations: Annotations{{Name: "appc.io/docker/repository", Value: "library/server"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeImage =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeWrongKind(t *testing.T) {
	image := []byte(`{"acKind":"ImageManifest","acVersion":"0.8.11","name":"x"}`)
	pod := []byte(`{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}`)
	if _, err := DecodePod(image); err == nil {
		t.Error("DecodePod of an image manifest succeeded, want error")
	}
	if _, err := DecodeImage(pod); err == nil {
		t.Error("DecodeImage of a pod manifest succeeded, want error")
	}
	if _, err := DecodePod([]byte(`{"acKind":`)); err == nil {
		t.Error("DecodePod of truncated JSON succeeded, want error")
	}
}

func TestEnvironmentAndAnnotationsGet(t *testing.T) {
	env := Environment{{Name: "A", Value: "1"}, {Name: "EMPTY", Value: ""}}
	if value, ok := env.Get("A"); !ok || value != "1" {
		t.Errorf("Get(A) = (%q, %v), want (\"1\", true)", value, ok)
	}
	if value, ok := env.Get("EMPTY"); !ok || value != "" {
		t.Errorf("Get(EMPTY) = (%q, %v), want (\"\", true)", value, ok)
	}
	if _, ok := env.Get("B"); ok {
		t.Error("Get(B) found a value, want none")
	}

	annotations := Annotations{{Name: "x/y", Value: "z"}}
	if value, ok := annotations.Get("x/y"); !ok || value != "z" {
		t.Errorf("Get(x/y) = (%q, %v), want (\"z\", true)", value, ok)
	}
	if _, ok := annotations.Get("x"); ok {
		t.Error("Get(x) found a value, want none")
	}
}

func TestDecodeRejectsPathNames(t *testing.T) {
	pods := map[string]string{
		"app name":         `{"acKind":"PodManifest","apps":[{"name":"../../etc","image":{"id":"sha512-00"}}]}`,
		"volume name":      `{"acKind":"PodManifest","volumes":[{"name":"a/b","kind":"empty"}]}`,
		"unnamed volume":   `{"acKind":"PodManifest","volumes":[{"kind":"empty"}]}`,
		"mount volume":     `{"acKind":"PodManifest","apps":[{"name":"a","mounts":[{"volume":"..","path":"/x"}]}]}`,
		"app volume name":  `{"acKind":"PodManifest","apps":[{"name":"a","mounts":[{"volume":"v","path":"/x","appVolume":{"name":"-v","kind":"empty"}}]}]}`,
		"mount point name": `{"acKind":"PodManifest","apps":[{"name":"a","app":{"mountPoints":[{"name":"Data","path":"/data"}]}}]}`,
	}
	for name, data := range pods {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodePod([]byte(data)); err == nil {
				t.Errorf("DecodePod(%s) succeeded, want an ACName error", data)
			}
		})
	}
	image := `{"acKind":"ImageManifest","name":"example.com/x","app":{"mountPoints":[{"name":"a/../b","path":"/data"}]}}`
	if _, err := DecodeImage([]byte(image)); err == nil {
		t.Errorf("DecodeImage(%s) succeeded, want an ACName error", image)
	}

	valid := `{"acKind":"PodManifest","apps":[{"name":"web-1","app":{"mountPoints":[{"name":"data--x","path":"/data"}]},"mounts":[{"volume":"v0","path":"/x"}]}],"volumes":[{"name":"v0","kind":"empty"}]}`
	if _, err := DecodePod([]byte(valid)); err != nil {
		t.Errorf("DecodePod of valid names: %v", err)
	}
}

// The names that checkACName accepts are those that the appc schema
// accepts.
func TestCheckACNameMatchesAppc(t *testing.T) {
	for _, name := range []string{"a", "web-1", "a--b", "0", "-a", "a-", "A", "a_b", "a/b", "..", "é", "a b", ""} {
		_, appcErr := types.NewACName(name)
		err := checkACName("name", name)
		if (err == nil) != (appcErr == nil) {
			t.Errorf("checkACName(%q) = %v, appc NewACName error %v", name, err, appcErr)
		}
		if appcErr != nil && err != nil && !strings.HasSuffix(err.Error(), appcErr.Error()) {
			t.Errorf("checkACName(%q) = %q, want it to end with the appc message %q", name, err, appcErr)
		}
	}
}
