package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/appc/spec/schema/types"
	"github.com/spf13/pflag"
)

// newTestFlags builds a flag set like run's, with fresh state.
func newTestFlags() (*pflag.FlagSet, *appList, *podFlags, *runtimeFlags) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	al := newAppList()
	pf := &podFlags{}
	rf := &runtimeFlags{}
	addPodFlags(fs, pf)
	addRuntimeFlags(fs, rf)
	addAppFlags(fs, al)
	fs.Bool("debug", false, "")
	return fs, al, pf, rf
}

func TestParseAppsBindsFlagsToPrecedingImage(t *testing.T) {
	fs, al, pf, rf := newTestFlags()
	args := []string{
		"--mount=volume=pod,target=/pod",
		"a.aci", "--exec", "/bin/sh", "--user=1000", "--", "-c", "echo hi", "---",
		"", "--volume", "data,kind=host,source=/srv", "--debug",
		"b.aci", "--mount", "volume=data,target=/data", "--net=host", "--name=bee", "--", "x",
	}
	// cobra parses the flags before the first image. Here the first word is
	// a --mount, which parseApps must treat as pod-level.
	if err := parseApps(al, args, fs, true); err != nil {
		t.Fatal(err)
	}

	if len(al.apps) != 2 {
		t.Fatalf("got %d apps, want 2", len(al.apps))
	}
	a, b := al.apps[0], al.apps[1]
	if a.Image != "a.aci" || a.Exec != "/bin/sh" || a.User != "1000" {
		t.Errorf("app a = image %q exec %q user %q", a.Image, a.Exec, a.User)
	}
	if !reflect.DeepEqual(a.Args, []string{"-c", "echo hi"}) {
		t.Errorf("app a args = %q", a.Args)
	}
	if b.Name != "bee" || !reflect.DeepEqual(b.Args, []string{"x"}) {
		t.Errorf("app b = name %q args %q", b.Name, b.Args)
	}
	if len(b.Mounts) != 1 || b.Mounts[0].Path != "/data" {
		t.Errorf("app b mounts = %+v", b.Mounts)
	}
	if len(al.mounts) != 1 || al.mounts[0].Volume != "pod" {
		t.Errorf("pod mounts = %+v", al.mounts)
	}
	if len(pf.volumes) != 1 || pf.volumes[0].Source != "/srv" {
		t.Errorf("volumes = %+v", pf.volumes)
	}
	if !reflect.DeepEqual([]string(rf.net), []string{"host"}) {
		t.Errorf("net = %q", rf.net)
	}
}

func TestParseAppsNetValueMustBeAttached(t *testing.T) {
	fs, al, _, rf := newTestFlags()
	if err := parseApps(al, []string{"a.aci", "--net", "host"}, fs, true); err != nil {
		t.Fatal(err)
	}
	if len(al.apps) != 2 || al.apps[1].Image != "host" {
		t.Errorf("apps = %d, want the detached value read as a second image", len(al.apps))
	}
	if !reflect.DeepEqual([]string(rf.net), []string{"default"}) {
		t.Errorf("net = %q, want [default]", rf.net)
	}
}

func TestParseAppsErrors(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "exec before image", args: []string{"--exec=/x", "a.aci"}, wantErr: "--exec must follow an image"},
		{name: "two argument lists", args: []string{"a.aci", "--", "x", "---", "--", "y"}, wantErr: "only one set of app arguments"},
		{name: "exec twice", args: []string{"a.aci", "--exec=/x", "--exec=/y"}, wantErr: "multiple times"},
		{name: "no image", args: []string{"", "---"}, wantErr: "at least one image"},
		{name: "mount unknown key", args: []string{"a.aci", "--mount=volume=v,target=/t,foo=1"}, wantErr: "unknown key"},
		{name: "mount repeated key", args: []string{"a.aci", "--mount=volume=v,volume=w,target=/t"}, wantErr: "given more than once"},
		{name: "volume unknown kind", args: []string{"a.aci", "--volume=v,kind=nfs"}, wantErr: "unrecognized volume kind"},
		{name: "volume unknown option", args: []string{"a.aci", "--volume=v,kind=host,source=/x,color=red"}, wantErr: "unknown volume parameter"},
		{name: "host volume relative source", args: []string{"a.aci", "--volume=v,kind=host,source=rel"}, wantErr: "absolute"},
		{name: "set-env twice", args: []string{"a.aci", "--set-env=A=1", "--set-env=A=2"}, wantErr: "given more than once"},
		{name: "set-env newline", args: []string{"a.aci", "--set-env=X=a\nb"}, wantErr: `environment variable "X": value contains a newline or NUL`},
		{name: "set-env NUL", args: []string{"a.aci", "--set-env=X=a\x00b"}, wantErr: `environment variable "X": value contains a newline or NUL`},
		{name: "environment newline", args: []string{"a.aci", "--environment=Y=a\nb"}, wantErr: `environment variable "Y": value contains a newline or NUL`},
		{name: "stage1 flags exclusive", args: []string{"a.aci", "--stage1-path=/a", "--stage1-name=b"}, wantErr: "mutually exclusive"},
		{name: "bad supplementary gids", args: []string{"a.aci", "--supplementary-gids=1,x"}, wantErr: "not an integer"},
		{name: "supplementary gid above the id range", args: []string{"a.aci", "--supplementary-gids=1,4294967296"}, wantErr: "4294967296 is not a valid id (0 to 4294967294)"},
		{name: "negative supplementary gid", args: []string{"a.aci", "--supplementary-gids=-1"}, wantErr: "-1 is not a valid id (0 to 4294967294)"},
		{name: "supplementary gid beyond int64", args: []string{"a.aci", "--supplementary-gids=18446744073709551616"}, wantErr: `"18446744073709551616" is out of range`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, al, _, _ := newTestFlags()
			err := parseApps(al, tc.args, fs, true)
			if err == nil {
				t.Fatal("parseApps succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckMountsRequiresVolume(t *testing.T) {
	fs, al, pf, _ := newTestFlags()
	args := []string{"a.aci", "--mount=volume=later,target=/x", "--volume=later,kind=empty"}
	if err := parseApps(al, args, fs, true); err != nil {
		t.Fatal(err)
	}
	if err := checkMounts(al, pf.volumes); err != nil {
		t.Errorf("mount naming a later volume: %v", err)
	}

	al.apps[0].Mounts[0].Volume = "missing"
	err := checkMounts(al, pf.volumes)
	if err == nil || !strings.Contains(err.Error(), "dangling mount point") {
		t.Errorf("mount naming no volume: error %v, want dangling mount point", err)
	}
}

func TestInsecureOptionsSet(t *testing.T) {
	var o insecureOptions
	if err := o.Set("Image,all-run"); err != nil {
		t.Fatal(err)
	}
	if !o.has(insecureImage) || !o.has(insecureSeccomp) || o.has(insecureTLS) {
		t.Errorf("options = %s", o.String())
	}
	if err := o.Set("tls"); err != nil {
		t.Fatal(err)
	}
	if o.has(insecureImage) {
		t.Error("a second --insecure-options must replace the first")
	}
	if err := o.Set("image,image"); err == nil {
		t.Error("duplicate option: no error")
	}
	if err := o.Set("bogus"); err == nil {
		t.Error("unknown option: no error")
	}
}

func TestReadEnvFileRejectsNUL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, []byte("A=1\nB=x\x00y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var env types.Environment
	err := readEnvFile(path, &env)
	if err == nil {
		t.Fatal("readEnvFile succeeded, want an error")
	}
	want := path + ` line 2: environment variable "B": value contains a newline or NUL`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
