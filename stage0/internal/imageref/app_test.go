package imageref

import (
	"maps"
	"testing"

	"github.com/appc/spec/discovery"
	"github.com/appc/spec/schema/types"
)

func TestParseApp(t *testing.T) {
	cases := []struct {
		arg    string
		name   string
		labels map[types.ACIdentifier]string
	}{
		{arg: "example.com/app", name: "example.com/app", labels: map[types.ACIdentifier]string{}},
		{arg: "example.com/app:1.0", name: "example.com/app", labels: map[types.ACIdentifier]string{"version": "1.0"}},
		{
			arg:    "example.com/app:1.0,os=linux,channel=beta",
			name:   "example.com/app",
			labels: map[types.ACIdentifier]string{"version": "1.0", "os": "linux", "channel": "beta"},
		},
		{arg: "example.com/app,version=2", name: "example.com/app", labels: map[types.ACIdentifier]string{"version": "2"}},
	}
	for _, tc := range cases {
		t.Run(tc.arg, func(t *testing.T) {
			app, err := ParseApp(tc.arg)
			if err != nil {
				t.Fatal(err)
			}
			if app.Name.String() != tc.name {
				t.Errorf("name = %q, want %q", app.Name, tc.name)
			}
			if len(app.Labels) != len(tc.labels) {
				t.Errorf("labels = %v, want %v", app.Labels, tc.labels)
			}
			for name, want := range tc.labels {
				if got := app.Labels[name]; got != want {
					t.Errorf("label %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestParseAppRejects(t *testing.T) {
	cases := []struct {
		name string
		arg  string
	}{
		{name: "two colons", arg: "example.com/app:1:2"},
		{name: "colon after label", arg: "example.com/app,os=linux:1.0"},
		{name: "repeated label", arg: "example.com/app,os=linux,os=darwin"},
		{name: "invalid name", arg: "Example.com/App"},
		{name: "empty name", arg: ":1.0"},
		{name: "invalid label name", arg: "example.com/app,Bad_Label=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if app, err := ParseApp(tc.arg); err == nil {
				t.Errorf("ParseApp(%q) = %+v, want an error", tc.arg, app)
			}
		})
	}
}

func TestAppStringLabelOrder(t *testing.T) {
	app, err := ParseApp("example.com/hello:3.0,channel=beta,arch=amd64,os=linux,build=7")
	if err != nil {
		t.Fatal(err)
	}
	const want = "example.com/hello,version=3.0,os=linux,arch=amd64,build=7,channel=beta"
	// Map iteration order varies between runs, so one call could pass by luck.
	for range 20 {
		if got := app.String(); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	}
}

func TestAppLabelListSorted(t *testing.T) {
	app, err := ParseApp("example.com/hello:3.0,os=linux,arch=amd64")
	if err != nil {
		t.Fatal(err)
	}
	got := app.LabelList()
	want := []string{"arch", "os", "version"}
	if len(got) != len(want) {
		t.Fatalf("LabelList() = %v, want names %v", got, want)
	}
	for i, name := range want {
		if got[i].Name.String() != name {
			t.Errorf("LabelList()[%d] = %s, want %s", i, got[i].Name, name)
		}
	}
}

// TestParseAppMatchesDiscovery compares ParseApp with the appc discovery
// parser that it replaces, on accepted and rejected arguments.
func TestParseAppMatchesDiscovery(t *testing.T) {
	args := []string{
		"example.com/app",
		"example.com/app:1.0",
		"example.com/app:1.0,os=linux,arch=amd64",
		"example.com/app,version=2,channel=alpha",
		"example.com/app:1:2",
		"example.com/app,os=linux:1.0",
		"example.com/app,os=linux,os=darwin",
		"Example.com/App",
		":1.0",
		"example.com/app,Bad_Label=1",
		"example.com/app,label=a%20b",
		"example.com/app,empty=",
	}
	for _, arg := range args {
		t.Run(arg, func(t *testing.T) {
			want, wantErr := discovery.NewAppFromString(arg)
			got, gotErr := ParseApp(arg)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("ParseApp error = %v, discovery error = %v", gotErr, wantErr)
			}
			if wantErr != nil {
				if gotErr.Error() != wantErr.Error() {
					t.Errorf("ParseApp error = %q, discovery error = %q", gotErr, wantErr)
				}
				return
			}
			if got.Name != want.Name {
				t.Errorf("name = %q, discovery name = %q", got.Name, want.Name)
			}
			if !maps.Equal(got.Labels, want.Labels) {
				t.Errorf("labels = %v, discovery labels = %v", got.Labels, want.Labels)
			}
		})
	}
}
