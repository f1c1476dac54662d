package mountplan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
)

func TestHostTreeErrorFix(t *testing.T) {
	const outside = "choose a target that exists on the host or lies outside /dev, /proc and /sys"
	cases := []struct {
		name   string
		op     Op
		inRoot string
		want   string
	}{
		{
			name:   "volume named directly",
			op:     Op{Kind: BindMount, Target: "/dev/newdir", Volume: "p"},
			inRoot: "/dev/newdir",
			want:   `can't create "/dev/newdir" for volume "p": it lies in the host's /dev bound into the pod; ` + outside,
		},
		{
			name:   "volume through symlink",
			op:     Op{Kind: BindMount, Target: "/data/x", Volume: "p"},
			inRoot: "/sys/fs/cgroup/x",
			want:   `can't create "/data/x" for volume "p": it resolves to "/sys/fs/cgroup/x", which lies in the host's /sys bound into the pod; ` + outside + `, or change the image symlink`,
		},
		{
			name:   "stage1 bind through symlink",
			op:     Op{Kind: BindMount, Source: "/etc/hosts", Target: "/etc/hosts"},
			inRoot: "/dev/etc/hosts",
			want:   `can't create "/etc/hosts" for the bind of "/etc/hosts": it resolves to "/dev/etc/hosts", which lies in the host's /dev bound into the pod; change the image symlink`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hostDir := "/dev"
			if tc.inRoot[:4] == "/sys" {
				hostDir = "/sys"
			}
			if got := hostTreeError(tc.op, tc.inRoot, hostDir).Error(); got != tc.want {
				t.Errorf("message:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCopyErrorNamesHostTree(t *testing.T) {
	root := t.TempDir()
	if err := os.Symlink("/sys/fs/cgroup", filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	f := FileOp{Kind: CopyFile, Source: "/nonexistent", Target: "/etc/resolv.conf"}
	cause := &os.PathError{Op: "open", Path: "/etc/resolv.conf", Err: unix.ENOENT}
	const want = `can't copy /etc/resolv.conf: it resolves to "/sys/fs/cgroup/resolv.conf", which lies in /sys, where the pod gets the host's /sys; change the image symlink or choose --dns=host or --dns=none`
	if got := copyError(root, f, cause).Error(); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}

	plain := t.TempDir()
	err := copyError(plain, f, cause)
	if !errors.Is(err, cause) {
		t.Errorf("copy error %q does not wrap the cause", err)
	}
}

func TestCopyRejectsFIFO(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "etc/resolv.conf")
	if err := unix.Mkfifo(target, 0o644); err != nil {
		t.Fatal(err)
	}
	source := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(source, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		done <- applyFile(root, FileOp{Kind: CopyFile, Source: source, Target: "/etc/resolv.conf", Mode: 0o644}, nil)
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("copy did not return within 5s: it opened the FIFO for writing")
	}
	if !errors.Is(err, fsroot.ErrNotRegular) {
		t.Fatalf("error = %v, want fsroot.ErrNotRegular", err)
	}
	const want = "can't copy /etc/resolv.conf: open in root "
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "/etc/resolv.conf: is a FIFO: not a regular file") {
		t.Errorf("message = %q, want %q…/etc/resolv.conf: is a FIFO: not a regular file", err, want)
	}
	var st unix.Stat_t
	if err := unix.Lstat(target, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("etc/resolv.conf has type %#o after the copy, want a FIFO", st.Mode&unix.S_IFMT)
	}
}
