package lifecycle

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testns"
)

// aciEntries returns the entry names and the regular file contents of a
// gzip-compressed ACI.
func aciEntries(t *testing.T, path string) ([]string, map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip-compressed: %v", path, err)
	}
	tr := tar.NewReader(zr)
	var names []string
	contents := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, contents
		}
		if err != nil {
			t.Fatalf("read tar %s: %v", path, err)
		}
		names = append(names, hdr.Name)
		if hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			contents[hdr.Name] = string(data)
		}
	}
}

// runToExit runs a busybox pod with the host volume at /data to completion
// and returns its UUID.
func (e *env) runToExit(script string, extra ...string) string {
	e.t.Helper()
	uuidFile := filepath.Join(e.scratch, "uuid-exit")
	args := append([]string{"run", "--stage1-path=" + e.stage1, "--uuid-file-save=" + uuidFile}, extra...)
	args = append(args, "--volume=data,kind=host,source="+e.volume, e.busybox, "--mount=volume=data,target=/data",
		"--exec", "/bin/sh", "--", "-c", script)
	e.mustRkt(args...)
	id, err := os.ReadFile(uuidFile)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(id)
}

// checkExportedRootfs asserts that an exported ACI holds the file the app
// wrote and nothing from the mounts fly left in the app rootfs.
func checkExportedRootfs(t *testing.T, aci, want string) {
	t.Helper()
	names, contents := aciEntries(t, aci)
	if len(names) == 0 || names[0] != "manifest" {
		t.Errorf("first entries %q, want the manifest first", names[:min(len(names), 3)])
	}
	if got := contents["rootfs/newfile"]; got != want {
		t.Errorf("rootfs/newfile = %q, want %q", got, want)
	}
	if _, ok := contents["rootfs/bin/busybox"]; !ok {
		t.Error("export lacks rootfs/bin/busybox from the image")
	}
	for _, name := range names {
		for _, mounted := range []string{"rootfs/proc/", "rootfs/dev/", "rootfs/sys/", "rootfs/data/"} {
			if strings.HasPrefix(name, mounted) && name != mounted {
				t.Errorf("export contains %q from a mount below the app rootfs", name)
			}
		}
	}
}

// checkTmpClean asserts that rkt export left no mount and no view directory
// in the data dir's tmp directory.
func (e *env) checkTmpClean() {
	e.t.Helper()
	tmp := filepath.Join(e.data, "tmp")
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		e.t.Fatal(err)
	}
	escaped := strings.NewReplacer(" ", `\040`, "\t", `\011`).Replace(tmp)
	for _, line := range strings.Split(string(mountinfo), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], escaped) {
			e.t.Errorf("mount left below %s: %s", tmp, line)
		}
	}
	entries, _ := os.ReadDir(tmp)
	for _, entry := range entries {
		e.t.Errorf("entry left in %s: %s", tmp, entry.Name())
	}
}

func TestExportExitedPod(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	for _, mode := range []struct {
		name  string
		flags []string
	}{
		{name: "overlay"},
		{name: "copy", flags: []string{"--no-overlay"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			e.t = t
			content := "written in " + mode.name + " mode\n"
			id := e.runToExit("echo '"+strings.TrimSuffix(content, "\n")+"' > /newfile", mode.flags...)
			out := filepath.Join(scratch, mode.name+".aci")

			_, errOut, code := e.rkt("export", id, filepath.Join(scratch, "out.tar"))
			if code != 254 || !strings.Contains(errOut, ".aci") {
				t.Errorf("export to a non-.aci name: exit %d, stderr %q; want 254 naming .aci", code, errOut)
			}
			e.mustRkt("export", id, out)
			checkExportedRootfs(t, out, content)
			e.checkTmpClean()

			_, errOut, code = e.rkt("export", id, out)
			if code != 254 || !strings.Contains(errOut, "target file exists (try --overwrite)") {
				t.Errorf("export over an existing file: exit %d, stderr %q", code, errOut)
			}
			e.mustRkt("export", "--overwrite", id, out)
			checkExportedRootfs(t, out, content)

			// The exported image runs and has the app's file.
			got := e.mustRkt("run", "--stage1-path="+e.stage1, out, "--exec", "/bin/cat", "--", "/newfile")
			if got != content {
				t.Errorf("cat /newfile in the exported image = %q, want %q", got, content)
			}
			e.checkTmpClean()
		})
	}
	e.t = t
	e.mustRkt("gc", "--grace-period=0s")
	e.checkHostIntact()
}

func TestExportRunningPodFails(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	id, _ := e.startPod("exec sleep 60")
	out := filepath.Join(scratch, "running.aci")
	_, errOut, code := e.rkt("export", id, out)
	if code != 254 || !strings.Contains(errOut, "running") {
		t.Errorf("export of a running pod: exit %d, stderr %q; want 254", code, errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("export of a running pod created the output file")
	}
	e.mustRkt("stop", "--force", id)
	e.waitState(id, "exited")
	e.mustRkt("gc", "--grace-period=0s")
	e.checkHostIntact()
}

func TestExportAppOvermountedRoot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	e := newEnv(t, scratch)
	const content = "written before the overmount\n"
	script := "echo 'written before the overmount' > /newfile && mount -t tmpfs tmpfs /"

	t.Run("overlay", func(t *testing.T) {
		e.t = t
		id := e.runToExit(script)
		out := filepath.Join(scratch, "overlay.aci")
		e.mustRkt("export", id, out)
		// The view skips the tmpfs and shows the app's own files.
		checkExportedRootfs(t, out, content)
		e.checkTmpClean()
	})
	t.Run("copy", func(t *testing.T) {
		e.t = t
		id := e.runToExit(script, "--no-overlay")
		out := filepath.Join(scratch, "copy.aci")
		_, errOut, code := e.rkt("export", id, out)
		if code != 254 {
			t.Errorf("export exit status = %d, want 254", code)
		}
		if !strings.Contains(errOut, "is a mount point") {
			t.Errorf("export stderr = %q, want it to name the mount point", errOut)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("rejected export left the output file: %v", err)
		}
		e.checkTmpClean()
	})
	e.t = t
	e.mustRkt("gc", "--grace-period=0s")
	e.checkHostIntact()
}

// unmountPodByHand removes every mount below dir as a reboot would, making
// the mounts private first so that nothing propagates.
func unmountPodByHand(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"--make-rprivate", dir}, {"-R", dir}} {
		name := "mount"
		if args[0] == "-R" {
			name = "umount"
		}
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v: %s", name, args, err, out)
		}
	}
}
