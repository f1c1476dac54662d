package imageref

import (
	"os"
	"path/filepath"
	"testing"
)

func TestClassify(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "busybox")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	cases := []struct {
		arg  string
		want Kind
	}{
		{arg: "sha512-1a2b", want: KindHash},
		{arg: "file:///tmp/x.aci", want: KindFile},
		{arg: "https://example.com/x.aci", want: KindHTTP},
		{arg: "http://example.com/x.aci", want: KindHTTP},
		{arg: "docker://busybox", want: KindDocker},
		{arg: "/abs/no-suffix", want: KindFile},
		{arg: "busybox", want: KindFile},
		{arg: "example.com/app:1.0", want: KindName},
		{arg: "app:1.0", want: KindName},
		{arg: "./app", want: KindFile},
		{arg: "images/app.aci", want: KindFile},
		{arg: "example.com/app,version=1.0,os=linux", want: KindName},
		{arg: "coreos.com/rkt/stage1-fly", want: KindName},
	}
	for _, tc := range cases {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := Classify(tc.arg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Classify(%q) = %s, want %s", tc.arg, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "https://example.com/x", "file:///tmp/x.tar"} {
		if _, err := Classify(bad); err == nil {
			t.Errorf("Classify(%q) succeeded, want an error", bad)
		}
	}
}

func TestParsePullPolicy(t *testing.T) {
	for _, p := range []PullPolicy{PullNew, PullUpdate, PullNever} {
		got, err := ParsePullPolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePullPolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParsePullPolicy("always"); err == nil {
		t.Error("ParsePullPolicy(always) succeeded")
	}
}
