package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/store"
)

func TestHumanBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{n: 0, want: "0 B"},
		{n: 1023, want: "1023 B"},
		{n: 1536, want: "1.5 KiB"},
		{n: 23 << 20, want: "23 MiB"},
		{n: 3 << 30, want: "3.0 GiB"},
	}
	for _, tc := range cases {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestHumanTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		ago  time.Duration
		want string
	}{
		{ago: 0, want: "now"},
		{ago: time.Second, want: "1 second ago"},
		{ago: 3 * time.Minute, want: "3 minutes ago"},
		{ago: 49 * time.Hour, want: "2 days ago"},
	}
	for _, tc := range cases {
		if got := humanTime(now.Add(-tc.ago), false, now); got != tc.want {
			t.Errorf("humanTime(-%s) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := humanTime(now, true, now); got != "2026-01-02 03:04:05 +0000 UTC" {
		t.Errorf("full time = %q", got)
	}
}

func TestSortImagesByFields(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	version := func(v string) types.Labels { return types.Labels{{Name: "version", Value: v}} }
	images := []store.ImageInfo{
		{Key: "c", Name: "b", Labels: version("1"), ImportTime: t0.Add(2 * time.Second), Size: 1},
		{Key: "a", Name: "a", ImportTime: t0, Size: 3},
		{Key: "b", Name: "b", Labels: version("0"), ImportTime: t0.Add(time.Second), Size: 2},
	}
	order := func() string {
		s := ""
		for _, img := range images {
			s += img.Key
		}
		return s
	}
	sortImages(images, []string{"importtime"}, false)
	if got := order(); got != "abc" {
		t.Errorf("by import time: %s, want abc", got)
	}
	sortImages(images, []string{"size"}, true)
	if got := order(); got != "abc" {
		t.Errorf("by size descending: %s, want abc", got)
	}
	sortImages(images, []string{"name"}, false)
	if got := order(); got != "abc" {
		t.Errorf("by name: %s, want abc (b:0 before b:1)", got)
	}
	if got := imageDisplayName(images[1]); got != "b:0" {
		t.Errorf("display name = %q, want b:0", got)
	}
}

func TestReadPodTreeRefs(t *testing.T) {
	dir := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	running := poddir.PodDir(dir, poddir.StateDirRun, "11111111-1111-1111-1111-111111111111")
	prepared := poddir.PodDir(dir, poddir.StateDirPrepared, "22222222-2222-2222-2222-222222222222")
	garbage := poddir.PodDir(dir, poddir.StateDirGarbage, "33333333-3333-3333-3333-333333333333")
	write(poddir.Stage1TreeStoreIDPath(running), "deps-stage1\n")
	write(poddir.AppInfoTreeStoreIDPath(running, "app"), "deps-app")
	write(poddir.Stage1TreeStoreIDPath(prepared), "deps-stage1")
	write(poddir.Stage1TreeStoreIDPath(garbage), "deps-garbage")

	refs, err := readPodTreeRefs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(refs["deps-stage1"]); n != 2 {
		t.Errorf("deps-stage1 referenced by %d pods, want 2", n)
	}
	if n := len(refs["deps-app"]); n != 1 {
		t.Errorf("deps-app referenced by %d pods, want 1", n)
	}
	if _, ok := refs["deps-garbage"]; ok {
		t.Error("a pod in garbage counts as a reference")
	}
	inRun := refs.inState(dir, poddir.StateDirRun)
	if n := len(inRun["deps-stage1"]); n != 1 {
		t.Errorf("run-state references of deps-stage1 = %d, want 1", n)
	}
}
