package fetch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestClassifyImage(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "busybox")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	cases := []struct {
		arg  string
		want ImageKind
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
			got, err := ClassifyImage(tc.arg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ClassifyImage(%q) = %s, want %s", tc.arg, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "https://example.com/x", "file:///tmp/x.tar"} {
		if _, err := ClassifyImage(bad); err == nil {
			t.Errorf("ClassifyImage(%q) succeeded, want an error", bad)
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

func TestParseMaxAge(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   time.Duration
	}{
		{name: "absent", values: nil, want: 0},
		{name: "max-age", values: []string{"public, max-age=60"}, want: time.Minute},
		{name: "no-cache wins", values: []string{"max-age=60", "no-cache"}, want: 0},
		{name: "no-store", values: []string{"no-store, max-age=60"}, want: 0},
		{name: "garbage", values: []string{"max-age=abc"}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseMaxAge(tc.values); got != tc.want {
				t.Errorf("parseMaxAge(%q) = %s, want %s", tc.values, got, tc.want)
			}
		})
	}
}
