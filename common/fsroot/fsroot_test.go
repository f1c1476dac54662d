package fsroot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// bothPaths runs fn once with openat2 and once with the userspace walk.
func bothPaths(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, mode := range []struct {
		name    string
		openat2 bool
	}{
		{name: "openat2", openat2: true},
		{name: "walk", openat2: false},
	} {
		t.Run(mode.name, func(t *testing.T) {
			if mode.openat2 && !kernelHasOpenat2() {
				t.Skip("kernel has no openat2")
			}
			useOpenat2.Store(mode.openat2)
			t.Cleanup(func() { useOpenat2.Store(true) })
			fn(t)
		})
	}
}

func kernelHasOpenat2() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// newTree makes a root and a sibling "outside" directory with a file named
// "secret" in both root/etc and outside/etc, so a test can tell which one
// was reached. It returns the root and the outside directory.
func newTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "a", "b", "root")
	outside = filepath.Join(base, "outside")
	for _, dir := range []string{root + "/etc", root + "/usr/bin", outside + "/etc"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, root+"/etc/secret", "inside")
	mustWrite(t, outside+"/etc/secret", "outside")
	mustWrite(t, root+"/usr/bin/tool", "tool")
	links := map[string]string{
		"data":       "/etc",
		"up":         "../../..",
		"uprel":      "../../../etc",
		"abs-out":    outside + "/etc",
		"bin":        "usr/bin",
		"loop1":      "loop2",
		"loop2":      "loop1",
		"dangling":   "/nonexistent/file",
		"etc/hosts":  "../../../../etc/hosts-target",
		"etc/self":   ".",
		"chain0":     "chain1",
		"usr/bin/sh": "tool",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	root, _ := newTree(t)
	cases := []struct {
		name, in, want string
	}{
		{name: "plain", in: "/etc/secret", want: "/etc/secret"},
		{name: "relative input", in: "etc/secret", want: "/etc/secret"},
		{name: "root", in: "/", want: "/"},
		{name: "absolute link", in: "/data/secret", want: "/etc/secret"},
		{name: "dotdot link clamped", in: "/up/etc/secret", want: "/etc/secret"},
		{name: "dotdot link then etc", in: "/uprel/secret", want: "/etc/secret"},
		{name: "dotdot input clamped", in: "/../../etc/secret", want: "/etc/secret"},
		{name: "relative link", in: "/bin/tool", want: "/usr/bin/tool"},
		{name: "link in last component", in: "/usr/bin/sh", want: "/usr/bin/tool"},
		{name: "missing tail", in: "/data/new/dir", want: "/etc/new/dir"},
		{name: "missing then dotdot", in: "/data/new/../secret", want: "/etc/secret"},
		{name: "dangling link", in: "/dangling", want: "/nonexistent/file"},
		{name: "link with dotdot to host", in: "/etc/hosts", want: "/etc/hosts-target"},
		{name: "self link", in: "/etc/self/self/secret", want: "/etc/secret"},
		{name: "file then more", in: "/etc/secret/x", want: "/etc/secret/x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(root, tc.in)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.in, err)
			}
			want := filepath.Join(root, tc.want)
			if got != want {
				t.Errorf("Resolve(%q) = %q, want %q", tc.in, got, want)
			}
			if !strings.HasPrefix(got, root) {
				t.Errorf("Resolve(%q) = %q is outside the root", tc.in, got)
			}
		})
	}
}

func TestResolveHostAbsoluteLink(t *testing.T) {
	root, outside := newTree(t)
	// abs-out names the outside directory by its host path, which is
	// re-rooted: root + the link target.
	got, err := Resolve(root, "/abs-out/secret")
	if err != nil {
		t.Fatal(err)
	}
	want := root + outside + "/etc/secret"
	if got != want {
		t.Errorf("Resolve(abs-out/secret) = %q, want %q", got, want)
	}
}

func TestResolveLoop(t *testing.T) {
	root, _ := newTree(t)
	_, err := Resolve(root, "/loop1/x")
	if !errors.Is(err, unix.ELOOP) {
		t.Fatalf("Resolve(loop) error = %v, want ELOOP", err)
	}
}

func TestResolveFollows255Links(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(root+"/end", 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxSymlinks; i++ {
		target := "l" + strconv.Itoa(i+1)
		if i == MaxSymlinks-1 {
			target = "end"
		}
		if err := os.Symlink(target, root+"/l"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Resolve(root, "/l0")
	if err != nil {
		t.Fatalf("resolve through %d links: %v", MaxSymlinks, err)
	}
	if got != root+"/end" {
		t.Errorf("got %q, want %q", got, root+"/end")
	}
	// One more link is one too many.
	if err := os.Symlink("l0", root+"/extra"); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(root, "/extra"); !errors.Is(err, unix.ELOOP) {
		t.Errorf("resolve through %d links: error = %v, want ELOOP", MaxSymlinks+1, err)
	}
	// OpenInRoot follows as many as Resolve, with either code path.
	bothPaths(t, func(t *testing.T) {
		f, err := OpenInRoot(root, "/l0", unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatalf("open through %d links: %v", MaxSymlinks, err)
		}
		f.Close()
	})
}

func readInRoot(t *testing.T, root, p string) (string, error) {
	t.Helper()
	f, err := OpenInRoot(root, p, unix.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, err := f.Read(buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func TestOpenInRootStaysInside(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		for _, p := range []string{"/etc/secret", "/data/secret", "/up/etc/secret", "/uprel/secret", "../../etc/secret", "/etc/self/secret"} {
			t.Run(p, func(t *testing.T) {
				got, err := readInRoot(t, root, p)
				if err != nil {
					t.Fatalf("open %q: %v", p, err)
				}
				if got != "inside" {
					t.Errorf("open %q read %q, want %q", p, got, "inside")
				}
			})
		}
	})
}

func TestOpenInRootHostAbsoluteLink(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		// abs-out names the outside directory by its host path; inside the
		// root that path does not exist.
		_, err := OpenInRoot(root, "/abs-out/secret", unix.O_RDONLY, 0)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("open through host-absolute link: error = %v, want not exist", err)
		}
	})
}

func TestOpenInRootLoop(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		if _, err := OpenInRoot(root, "/loop1", unix.O_RDONLY, 0); !errors.Is(err, unix.ELOOP) {
			t.Errorf("open loop: error = %v, want ELOOP", err)
		}
	})
}

func TestOpenInRootNoFollowPathOpensLink(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		f, err := OpenInRoot(root, "/data", unix.O_PATH|unix.O_NOFOLLOW, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var stat unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &stat); err != nil {
			t.Fatal(err)
		}
		if stat.Mode&unix.S_IFMT != unix.S_IFLNK {
			t.Errorf("mode %o is not a symlink", stat.Mode)
		}
	})
}

func TestOpenInRootCreateThroughDanglingLink(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, outside := newTree(t)
		// etc/hosts -> ../../../../etc/hosts-target: the target is created
		// in root/etc, never next to the root.
		f, err := OpenInRoot(root, "/etc/hosts", unix.O_WRONLY|unix.O_CREAT, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if _, err := os.Stat(root + "/etc/hosts-target"); err != nil {
			t.Errorf("target not created inside the root: %v", err)
		}
		if _, err := os.Stat(outside + "/etc/hosts-target"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("file created outside the root: %v", err)
		}
	})
}

func TestOpenInRootCreateMissingParent(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		_, err := OpenInRoot(root, "/no/such/file", unix.O_WRONLY|unix.O_CREAT, 0o644)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("create below a missing dir: error = %v, want not exist", err)
		}
	})
}

func TestOpenInRootExclusiveExisting(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		_, err := OpenInRoot(root, "/etc/secret", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("O_EXCL on existing file: error = %v, want exist", err)
		}
	})
}

func TestOpenInRootDirectoryFlag(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		_, err := OpenInRoot(root, "/etc/secret", unix.O_PATH|unix.O_DIRECTORY, 0)
		if !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("O_DIRECTORY on a file: error = %v, want ENOTDIR", err)
		}
	})
}

func TestOpenInRootName(t *testing.T) {
	root, _ := newTree(t)
	f, err := OpenInRoot(root, "data/secret", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name() != root+"/data/secret" {
		t.Errorf("Name() = %q", f.Name())
	}
}

func TestMkdirAllThroughLinks(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, outside := newTree(t)
		for _, p := range []string{"/data/made", "/up/etc/made2", "/dangling/dir"} {
			if err := MkdirAll(root, p, 0o755); err != nil {
				t.Fatalf("MkdirAll(%q): %v", p, err)
			}
		}
		for _, want := range []string{"/etc/made", "/etc/made2", "/nonexistent/file/dir"} {
			info, err := os.Lstat(root + want)
			if err != nil {
				t.Errorf("%s not created inside root: %v", want, err)
				continue
			}
			if !info.IsDir() {
				t.Errorf("%s is not a directory", want)
			}
		}
		if _, err := os.Stat(outside + "/etc/made"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("directory created outside the root: %v", err)
		}
		if _, err := os.Stat("/nonexistent"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("directory created on the host: %v", err)
		}
	})
}

func TestMkdirAllFileInTheWay(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		err := MkdirAll(root, "/etc/secret/sub", 0o755)
		if !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("MkdirAll below a file: error = %v, want ENOTDIR", err)
		}
		err = MkdirAll(root, "/etc/secret", 0o755)
		if !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("MkdirAll on a file: error = %v, want ENOTDIR", err)
		}
	})
}

func TestCreateFile(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		if err := CreateFile(root, "/data/sub/empty", 0o600); err != nil {
			t.Fatal(err)
		}
		info, err := os.Lstat(root + "/etc/sub/empty")
		if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() || info.Size() != 0 {
			t.Errorf("created %v size %d, want empty regular file", info.Mode(), info.Size())
		}
		if err := CreateFile(root, "/etc/secret", 0o600); err != nil {
			t.Fatalf("CreateFile on existing file: %v", err)
		}
		if got, _ := os.ReadFile(root + "/etc/secret"); string(got) != "inside" {
			t.Errorf("existing file changed to %q", got)
		}
		if err := CreateFile(root, "/etc", 0o600); !errors.Is(err, unix.EISDIR) {
			t.Errorf("CreateFile on a directory: error = %v, want EISDIR", err)
		}
	})
}

func TestWriteFileTruncates(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, outside := newTree(t)
		if err := WriteFile(root, "/up/etc/secret", []byte("new"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(root + "/etc/secret"); string(got) != "new" {
			t.Errorf("root/etc/secret = %q, want %q", got, "new")
		}
		if got, _ := os.ReadFile(outside + "/etc/secret"); string(got) != "outside" {
			t.Errorf("outside file changed to %q", got)
		}
	})
}

func TestCopyFile(t *testing.T) {
	root, _ := newTree(t)
	src := filepath.Join(t.TempDir(), "src")
	mustWrite(t, src, "copied")
	if err := CopyFile(root, "/data/copy", src, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(root + "/etc/copy"); string(got) != "copied" {
		t.Errorf("copy = %q", got)
	}
}
