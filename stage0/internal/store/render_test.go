package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/appc/spec/schema/types"
)

func importEntries(t *testing.T, s *Store, entries []testEntry, opts ImportOptions) string {
	t.Helper()
	key, err := s.Import(bytes.NewReader(buildTar(t, entries)), opts)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return key
}

func TestRenderDependencyOrder(t *testing.T) {
	s, _ := openTestStore(t)
	// Every image writes /owner and its own /from-X; D also writes a file
	// that C's whitelist excludes.
	image := func(name, extra string, files ...testEntry) string {
		entries := simpleACI("example.com/"+name, nil, extra,
			fileEntry("rootfs/owner", name),
			fileEntry("rootfs/from-"+name, name))
		return importEntries(t, s, append(entries, files...), ImportOptions{})
	}
	keyB := image("b", "", fileEntry("rootfs/b-only", "b"))
	keyD := image("d", "", fileEntry("rootfs/hidden", "d"))
	keyC := image("c", `,"dependencies":[{"imageName":"example.com/d"}],"pathWhitelist":["/owner","/from-c","/from-d","/b-only"]`)
	keyA := image("a", fmt.Sprintf(`,"dependencies":[{"imageName":"example.com/b","imageID":%q},{"imageName":"example.com/c"}]`, keyB[:20]))

	images, err := s.dependencyList(keyA)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, image := range images {
		order = append(order, image.key)
	}
	want := []string{keyA, keyC, keyD, keyB}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("render list = %v, want A, C, D, B (overrides B, D, C, A)", order)
	}

	treeID, err := s.RenderTree(keyA)
	if err != nil {
		t.Fatalf("RenderTree: %v", err)
	}
	if treeID != treeIDOf(images) || !strings.HasPrefix(treeID, "deps-sha512-") || len(treeID) != len("deps-sha512-")+64 {
		t.Errorf("tree ID = %s", treeID)
	}
	root := s.TreeRootfs(treeID)
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(data)
	}
	checks := map[string]string{
		"owner":  "a",
		"from-a": "a",
		"from-b": "b",
		"from-c": "c",
		"from-d": "d",
		"b-only": "b",
	}
	for name, want := range checks {
		if got := read(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "hidden")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("D's /hidden was placed although C's whitelist excludes it: %v", err)
	}
	imageFile, err := os.ReadFile(filepath.Join(s.TreeDir(treeID), "image"))
	if err != nil || string(imageFile) != keyA {
		t.Errorf("tree image file = %q, %v", imageFile, err)
	}

	again, err := s.RenderTree(keyA)
	if err != nil || again != treeID {
		t.Errorf("second RenderTree = %s, %v; want cached %s", again, err, treeID)
	}
}

func TestRenderNonDirectoryBlocksLowerSubtree(t *testing.T) {
	s, _ := openTestStore(t)
	importEntries(t, s, simpleACI("example.com/base", nil, "",
		dirEntry("rootfs/lib"),
		fileEntry("rootfs/lib/libc.so", "base")), ImportOptions{})
	top := importEntries(t, s, simpleACI("example.com/top", nil, `,"dependencies":[{"imageName":"example.com/base"}]`,
		symlinkEntry("rootfs/lib", "/outside")), ImportOptions{})

	treeID, err := s.RenderTree(top)
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(filepath.Join(s.TreeRootfs(treeID), "lib"))
	if err != nil || target != "/outside" {
		t.Errorf("lib = %q, %v; want the top image's symlink", target, err)
	}
}

func TestRenderMissingDependency(t *testing.T) {
	s, _ := openTestStore(t)
	key := importEntries(t, s, simpleACI("example.com/top", nil, `,"dependencies":[{"imageName":"example.com/absent"}]`), ImportOptions{})
	_, err := s.RenderTree(key)
	if err == nil || !strings.Contains(err.Error(), `dependency "example.com/absent" not in store`) {
		t.Errorf("RenderTree error = %v, want dependency not in store", err)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("error does not wrap ErrNotFound")
	}
	trees, err := s.Trees()
	if err != nil || len(trees) != 0 {
		t.Errorf("Trees() = %v, %v; want none", trees, err)
	}
}

func TestResolveKeyPrefixes(t *testing.T) {
	s, _ := openTestStore(t)
	var keys []string
	// Import until two keys share their first hex digit.
	for i := 0; ; i++ {
		key := importEntries(t, s, simpleACI(fmt.Sprintf("example.com/app%d", i), nil, ""), ImportOptions{})
		keys = append(keys, key)
		if i > 0 && sharedPrefix(keys) != "" {
			break
		}
	}
	shared := sharedPrefix(keys)

	full, err := s.ResolveKey(keys[0][:len("sha512-")+10])
	if err != nil || full != keys[0] {
		t.Errorf("ResolveKey(10 digits) = %s, %v; want %s", full, err, keys[0])
	}
	long := keys[0] + strings.Repeat("0", 64)
	if full, err := s.ResolveKey(strings.ToUpper(long[:7]) + long[7:]); err != nil || full != keys[0] {
		t.Errorf("ResolveKey(full digest) = %s, %v", full, err)
	}
	if _, err := s.ResolveKey(shared); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("ResolveKey(%s) error = %v, want ErrAmbiguous", shared, err)
	}
	if _, err := s.ResolveKey("sha512-"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveKey without digits error = %v, want invalid image ID", err)
	}
	missing := "sha512-" + strings.Repeat("0", 64)
	if keys[0] != missing {
		if _, err := s.ResolveKey(missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("ResolveKey(missing) error = %v, want ErrNotFound", err)
		}
	}
}

// sharedPrefix returns "sha512-" and two hex digits if two keys start with them.
func sharedPrefix(keys []string) string {
	seen := make(map[string]bool)
	for _, key := range keys {
		prefix := key[:len("sha512-")+2]
		if seen[prefix] {
			return prefix
		}
		seen[prefix] = true
	}
	return ""
}

func TestFindByNameBestMatch(t *testing.T) {
	s, _ := openTestStore(t)
	linux := map[string]string{"os": "linux", "arch": "amd64"}
	labels := func(version string) map[string]string {
		m := map[string]string{"version": version}
		for k, v := range linux {
			m[k] = v
		}
		return m
	}
	v1 := importEntries(t, s, simpleACI("example.com/app", labels("1.0"), ""), ImportOptions{})
	time.Sleep(2 * time.Millisecond)
	latest := importEntries(t, s, simpleACI("example.com/app", labels("1.1"), ""), ImportOptions{Latest: true})
	time.Sleep(2 * time.Millisecond)
	v2 := importEntries(t, s, simpleACI("example.com/app", labels("2.0"), ""), ImportOptions{})
	importEntries(t, s, simpleACI("example.com/app", map[string]string{"version": "9", "os": "linux", "arch": "aarch64"}, ""), ImportOptions{})

	osArch := types.Labels{{Name: "os", Value: "linux"}, {Name: "arch", Value: "amd64"}}
	withVersion := func(v string) types.Labels {
		return append(types.Labels{{Name: "version", Value: v}}, osArch...)
	}
	cases := []struct {
		name   string
		labels types.Labels
		want   string
	}{
		{name: "no version prefers latest", labels: osArch, want: latest},
		{name: "explicit version", labels: withVersion("1.0"), want: v1},
		{name: "explicit newest version", labels: withVersion("2.0"), want: v2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindByName("example.com/app", tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("FindByName = %s, want %s", got, tc.want)
			}
		})
	}

	if _, err := s.FindByName("example.com/app", withVersion("3.0")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing version error = %v, want ErrNotFound", err)
	}
	if _, err := s.FindByName("example.com/other", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing name error = %v, want ErrNotFound", err)
	}

	// Without a latest image, the most recently imported one wins.
	if err := s.RemoveImage(latest); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindByName("example.com/app", osArch)
	if err != nil || got != v2 {
		t.Errorf("FindByName after removing latest = %s, %v; want newest import %s", got, err, v2)
	}
}

func TestRemoveImageKeepsTree(t *testing.T) {
	s, _ := openTestStore(t)
	key := importEntries(t, s, simpleACI("example.com/app", nil, "", fileEntry("rootfs/f", "content")), ImportOptions{})
	treeID, err := s.RenderTree(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveImage(key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveKey(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed image still resolves: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(s.TreeRootfs(treeID), "f")); err != nil || string(data) != "content" {
		t.Errorf("tree file after image removal = %q, %v", data, err)
	}
	if err := s.RemoveTree(treeID); err != nil {
		t.Fatal(err)
	}
	requireEmptyStore(t, s)
	if err := s.RemoveTree("../../etc"); err == nil {
		t.Errorf("RemoveTree accepted a path as tree ID")
	}
}
