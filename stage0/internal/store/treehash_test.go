package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHashTreeCoversMetadataAndContent(t *testing.T) {
	setup := func(t *testing.T) string {
		t.Helper()
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, root, "etc/hostname", []byte("host\n"))
		if err := os.Symlink("etc/hostname", filepath.Join(root, "link")); err != nil {
			t.Fatal(err)
		}
		return root
	}
	cases := []struct {
		name    string
		change  func(root string) error
		changed bool
	}{
		{name: "content same size", changed: true, change: func(root string) error {
			return os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("HOST\n"), 0o644)
		}},
		{name: "mode", changed: true, change: func(root string) error {
			return os.Chmod(filepath.Join(root, "etc/hostname"), 0o600)
		}},
		{name: "directory mode", changed: true, change: func(root string) error {
			return os.Chmod(filepath.Join(root, "etc"), 0o700)
		}},
		{name: "symlink target", changed: true, change: func(root string) error {
			if err := os.Remove(filepath.Join(root, "link")); err != nil {
				return err
			}
			return os.Symlink("etc/passwd", filepath.Join(root, "link"))
		}},
		{name: "renamed file", changed: true, change: func(root string) error {
			return os.Rename(filepath.Join(root, "etc/hostname"), filepath.Join(root, "etc/hostnamf"))
		}},
		{name: "added empty file", changed: true, change: func(root string) error {
			return os.WriteFile(filepath.Join(root, "new"), nil, 0o644)
		}},
		{name: "owner", changed: true, change: func(root string) error {
			if os.Geteuid() != 0 {
				return errSkip
			}
			return os.Lchown(filepath.Join(root, "etc/hostname"), 1, 1)
		}},
		{name: "times only", changed: false, change: func(root string) error {
			old := time.Now().Add(-time.Hour)
			return os.Chtimes(filepath.Join(root, "etc/hostname"), old, old)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := setup(t)
			before, err := hashTree(root)
			if err != nil {
				t.Fatalf("hashTree: %v", err)
			}
			if !strings.HasPrefix(before, treeHashPrefix) || len(before) != len(treeHashPrefix)+64 {
				t.Errorf("hash = %q, want %q and 64 hex digits", before, treeHashPrefix)
			}
			if err := tc.change(root); errors.Is(err, errSkip) {
				t.Skip("changing the owner needs root")
			} else if err != nil {
				t.Fatal(err)
			}
			after, err := hashTree(root)
			if err != nil {
				t.Fatalf("hashTree after change: %v", err)
			}
			if (before != after) != tc.changed {
				t.Errorf("hash changed = %v, want %v", before != after, tc.changed)
			}
		})
	}
}

var errSkip = errors.New("skip")

// renderTestTree imports an image with one dependency and renders it.
func renderTestTree(t *testing.T, s *Store) (appKey, baseKey, treeID string) {
	t.Helper()
	baseKey = importEntries(t, s, simpleACI("example.com/base", nil, "",
		dirEntry("rootfs/etc"),
		fileEntry("rootfs/etc/os-release", "ID=base\n")), ImportOptions{})
	appKey = importEntries(t, s, simpleACI("example.com/app", nil,
		fmt.Sprintf(`,"dependencies":[{"imageName":"example.com/base","imageID":%q}]`, baseKey),
		fileEntry("rootfs/app", "app binary")), ImportOptions{})
	treeID, err := s.RenderTree(appKey)
	if err != nil {
		t.Fatalf("RenderTree: %v", err)
	}
	return appKey, baseKey, treeID
}

func TestRenderWritesTreeHash(t *testing.T) {
	s, _ := openTestStore(t)
	_, _, treeID := renderTestTree(t, s)
	recorded, err := os.ReadFile(filepath.Join(s.TreeDir(treeID), treeHashFile))
	if err != nil {
		t.Fatalf("read hash file: %v", err)
	}
	actual, err := hashTree(s.TreeRootfs(treeID))
	if err != nil {
		t.Fatal(err)
	}
	if string(recorded) != actual {
		t.Errorf("hash file = %q, rootfs hashes to %q", recorded, actual)
	}
	if err := s.VerifyTree(treeID); err != nil {
		t.Errorf("VerifyTree of a fresh tree: %v", err)
	}
}

func TestVerifyTreeAndReRender(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, s *Store, treeID string)
	}{
		{
			// The tree file is a hard link, so this also changes the
			// dependency's extracted file.
			name: "file changed in place",
			tamper: func(t *testing.T, s *Store, treeID string) {
				path := filepath.Join(s.TreeRootfs(treeID), "etc/os-release")
				if err := os.WriteFile(path, []byte("ID=evil\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "file replaced",
			tamper: func(t *testing.T, s *Store, treeID string) {
				path := filepath.Join(s.TreeRootfs(treeID), "app")
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				writeFile(t, s.TreeRootfs(treeID), "app", []byte("app binarx"))
			},
		},
		{
			name: "file removed",
			tamper: func(t *testing.T, s *Store, treeID string) {
				if err := os.Remove(filepath.Join(s.TreeRootfs(treeID), "app")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "hash file missing",
			tamper: func(t *testing.T, s *Store, treeID string) {
				if err := os.Remove(filepath.Join(s.TreeDir(treeID), treeHashFile)); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			_, baseKey, treeID := renderTestTree(t, s)
			tc.tamper(t, s, treeID)

			if err := s.VerifyTree(treeID); !errors.Is(err, ErrTreeCorrupt) {
				t.Fatalf("VerifyTree after tampering = %v, want ErrTreeCorrupt", err)
			}
			if err := s.ReRenderTree(treeID); err != nil {
				t.Fatalf("ReRenderTree: %v", err)
			}
			if err := s.VerifyTree(treeID); err != nil {
				t.Errorf("VerifyTree after ReRenderTree: %v", err)
			}
			for name, want := range map[string]string{"etc/os-release": "ID=base\n", "app": "app binary"} {
				data, err := os.ReadFile(filepath.Join(s.TreeRootfs(treeID), name))
				if err != nil || string(data) != want {
					t.Errorf("re-rendered %s = %q, %v, want %q", name, data, err, want)
				}
			}
			data, err := os.ReadFile(filepath.Join(s.imageDir(baseKey), "rootfs/etc/os-release"))
			if err != nil || string(data) != "ID=base\n" {
				t.Errorf("base image file after ReRenderTree = %q, %v, want the original", data, err)
			}
			if err := s.VerifyImage(baseKey); err != nil {
				t.Errorf("VerifyImage after ReRenderTree: %v", err)
			}
			entries, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp"))
			if len(entries) != 0 {
				t.Errorf("tmp/ has %d entries after ReRenderTree, want none", len(entries))
			}
		})
	}
}

func TestReRenderTreeCorruptBlob(t *testing.T) {
	s, _ := openTestStore(t)
	_, baseKey, treeID := renderTestTree(t, s)
	treeFile := filepath.Join(s.TreeRootfs(treeID), "etc/os-release")
	if err := os.WriteFile(treeFile, []byte("ID=evil\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A padding byte of the last file block: the tar still extracts, and
	// only the digest check can notice the change.
	flipByte(t, filepath.Join(s.imageDir(baseKey), blobName), 1024+3)

	err := s.ReRenderTree(treeID)
	if !errors.Is(err, ErrImageCorrupt) {
		t.Fatalf("ReRenderTree with a damaged dependency blob = %v, want ErrImageCorrupt", err)
	}
	if !strings.Contains(err.Error(), baseKey) {
		t.Errorf("error %q does not name the damaged image %s", err, baseKey)
	}
	if _, err := os.Stat(filepath.Join(s.imageDir(baseKey), "rootfs/etc/os-release")); err != nil {
		t.Errorf("image directory of the damaged blob was not kept: %v", err)
	}
	if err := s.VerifyTree(treeID); !errors.Is(err, ErrTreeCorrupt) {
		t.Errorf("VerifyTree after failed ReRenderTree = %v, want ErrTreeCorrupt", err)
	}
}

func TestReRenderTreeUnknown(t *testing.T) {
	s, _ := openTestStore(t)
	unknown := "deps-sha512-" + strings.Repeat("0", 64)
	if err := s.ReRenderTree(unknown); !errors.Is(err, ErrTreeNotFound) {
		t.Errorf("ReRenderTree of an unknown tree = %v, want ErrTreeNotFound", err)
	}
	if err := s.VerifyTree(unknown); !errors.Is(err, ErrTreeNotFound) {
		t.Errorf("VerifyTree of an unknown tree = %v, want ErrTreeNotFound", err)
	}
	if err := s.VerifyTree("../etc"); err == nil {
		t.Errorf("VerifyTree accepted a path as tree ID")
	}
}

func TestSweepRemovesUnrecordedImage(t *testing.T) {
	s, _ := openTestStore(t)
	key := importEntries(t, s, simpleACI("example.com/app", nil, "", fileEntry("rootfs/f", "x")), ImportOptions{})
	orphan := "sha512-" + strings.Repeat("ab", 32)
	if err := os.MkdirAll(filepath.Join(s.imageDir(orphan), "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(s.Dir(), "image", "not-a-key")
	if err := os.Mkdir(unknown, 0o755); err != nil {
		t.Fatal(err)
	}

	if err := s.Sweep(); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if _, err := os.Stat(s.imageDir(orphan)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unrecorded image directory still exists: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.imageDir(key), blobName)); err != nil {
		t.Errorf("recorded image was touched: %v", err)
	}
	if _, err := os.Stat(unknown); err != nil {
		t.Errorf("entry that is not a key was removed: %v", err)
	}
}
