package fsroot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/internal/testns"
)

// writeHelpers are the fsroot functions that write a file inside a root.
var writeHelpers = []struct {
	name  string
	write func(root, p string) error
}{
	{name: "WriteFile", write: func(root, p string) error {
		return WriteFile(root, p, []byte("nameserver 192.0.2.1\n"), 0o644)
	}},
	{name: "CopyFile", write: func(root, p string) error {
		src := filepath.Join(filepath.Dir(root), "resolv-source")
		if err := os.WriteFile(src, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
			return err
		}
		return CopyFile(root, p, src, 0o644)
	}},
	{name: "CreateFile", write: func(root, p string) error {
		return CreateFile(root, p, 0o644)
	}},
	{name: "OpenRegularInRoot", write: func(root, p string) error {
		f, err := OpenRegularInRoot(root, p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		return f.Close()
	}},
}

// writeWithTimeout runs write and fails the test if it has not returned
// within five seconds, as an open of a FIFO without a reader would.
func writeWithTimeout(t *testing.T, write func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- write() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("write did not return within 5s: it opened the FIFO for writing")
		return nil
	}
}

// checkRejected checks that err rejects the special file at
// root/etc/resolv.conf and that the file is still of type wantType.
func checkRejected(t *testing.T, root string, err error, wantType uint32, typeName string) {
	t.Helper()
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("error = %v, want ErrNotRegular", err)
	}
	if !strings.Contains(err.Error(), "/etc/resolv.conf") {
		t.Errorf("error %q does not name the path", err)
	}
	if !strings.Contains(err.Error(), typeName) {
		t.Errorf("error %q does not name the type %q", err, typeName)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "etc/resolv.conf"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != wantType {
		t.Errorf("etc/resolv.conf has type %#o after the write, want %#o", st.Mode&unix.S_IFMT, wantType)
	}
}

func TestWriteHelpersRejectFIFO(t *testing.T) {
	for _, helper := range writeHelpers {
		t.Run(helper.name, func(t *testing.T) {
			bothPaths(t, func(t *testing.T) {
				root, _ := newTree(t)
				if err := unix.Mkfifo(filepath.Join(root, "etc/resolv.conf"), 0o644); err != nil {
					t.Fatal(err)
				}
				err := writeWithTimeout(t, func() error { return helper.write(root, "/etc/resolv.conf") })
				checkRejected(t, root, err, unix.S_IFIFO, "FIFO")
			})
		})
	}
}

func TestWriteHelpersRejectFIFOBehindLink(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		if err := unix.Mkfifo(filepath.Join(root, "etc/pipe"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/pipe", filepath.Join(root, "etc/resolv.conf")); err != nil {
			t.Fatal(err)
		}
		err := writeWithTimeout(t, func() error { return WriteFile(root, "/etc/resolv.conf", []byte("x"), 0o644) })
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("error = %v, want ErrNotRegular", err)
		}
	})
}

func TestWriteHelpersRejectDevices(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	devices := []struct {
		name     string
		fileType uint32
		typeName string
		// device is the number of the node. 1:3 is /dev/null, so that a
		// regression writes nothing that matters. Block major 240 is
		// reserved for local use, so no disk has it.
		device int
	}{
		{name: "char device", fileType: unix.S_IFCHR, typeName: "character device", device: int(unix.Mkdev(1, 3))},
		{name: "block device", fileType: unix.S_IFBLK, typeName: "block device", device: int(unix.Mkdev(240, 0))},
	}
	for _, dev := range devices {
		for _, helper := range writeHelpers {
			t.Run(dev.name+"/"+helper.name, func(t *testing.T) {
				root := filepath.Join(scratch, strings.ReplaceAll(dev.name, " ", "-")+"-"+helper.name, "root")
				if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
					t.Fatal(err)
				}
				node := filepath.Join(root, "etc/resolv.conf")
				if err := unix.Mknod(node, dev.fileType|0o644, dev.device); err != nil {
					t.Fatalf("mknod %s: %v", node, err)
				}
				err := writeWithTimeout(t, func() error { return helper.write(root, "/etc/resolv.conf") })
				checkRejected(t, root, err, dev.fileType, dev.typeName)
			})
		}
	}
}

func TestOpenRegularInRootCreates(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, outside := newTree(t)
		f, err := OpenRegularInRoot(root, "/etc/new", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		info, err := os.Lstat(root + "/etc/new")
		if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() {
			t.Errorf("created %v, want a regular file", info.Mode())
		}

		// etc/hosts is a dangling link to ../../../../etc/hosts-target.
		f, err = OpenRegularInRoot(root, "/etc/hosts", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
		if err != nil {
			t.Fatalf("create through dangling link: %v", err)
		}
		f.Close()
		if _, err := os.Stat(root + "/etc/hosts-target"); err != nil {
			t.Errorf("link target not created inside the root: %v", err)
		}
		if _, err := os.Stat(outside + "/etc/hosts-target"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("file created outside the root: %v", err)
		}
	})
}

func TestOpenRegularInRootErrors(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		root, _ := newTree(t)
		_, err := OpenRegularInRoot(root, "/etc/secret", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("O_EXCL on existing file: error = %v, want exist", err)
		}
		_, err = OpenRegularInRoot(root, "/etc/missing", unix.O_WRONLY, 0)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing file without O_CREAT: error = %v, want not exist", err)
		}
		_, err = OpenRegularInRoot(root, "/no/such/file", unix.O_WRONLY|unix.O_CREAT, 0o644)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("create below a missing dir: error = %v, want not exist", err)
		}
		_, err = OpenRegularInRoot(root, "/etc", unix.O_WRONLY|unix.O_CREAT, 0o644)
		if !errors.Is(err, unix.EISDIR) {
			t.Errorf("directory: error = %v, want EISDIR", err)
		}
	})
}
