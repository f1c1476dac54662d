package functional

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
)

const validManifest = `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/bad",
"labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],
"app":{"exec":["/bin/sh"],"user":"0","group":"0"}}`

// tarEntry is one entry of a test ACI.
type tarEntry struct {
	name     string
	body     string
	typeflag byte
	linkname string
}

// writeACI writes a gzip-compressed tar with the entries given.
func writeACI(t *testing.T, path string, entries []tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typeflag, Linkname: e.linkname}
		switch e.typeflag {
		case tar.TypeDir:
			hdr.Mode, hdr.Size = 0o755, 0
		case tar.TypeSymlink:
			hdr.Mode, hdr.Size = 0o777, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func aciWith(extra ...tarEntry) []tarEntry {
	base := []tarEntry{
		{name: "manifest", body: validManifest, typeflag: tar.TypeReg},
		{name: "rootfs/", typeflag: tar.TypeDir},
	}
	return append(base, extra...)
}

func TestRunRejectsBadInput(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	bad := filepath.Join(e.scratch, "bad")
	outside := filepath.Join(e.scratch, "outside")
	for _, dir := range []string{bad, outside} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	busybox := testbuild.Image(t, "busybox")

	if err := os.Mkdir(filepath.Join(bad, "dir.aci"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(bad, "fifo.aci"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bad, "text.aci"), "this is not an archive\n")
	writeFile(t, filepath.Join(bad, "corrupt.aci"), "\x1f\x8b\x08\x00garbage after the gzip magic")
	writeACI(t, filepath.Join(bad, "invalid-manifest.aci"), []tarEntry{
		{name: "manifest", body: `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Not Valid!"}`, typeflag: tar.TypeReg},
		{name: "rootfs/", typeflag: tar.TypeDir},
	})
	writeACI(t, filepath.Join(bad, "repeated-name.aci"), []tarEntry{
		{name: "manifest", body: `{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/a","Name":"example.com/b"}`, typeflag: tar.TypeReg},
		{name: "rootfs/", typeflag: tar.TypeDir},
	})
	writeFile(t, filepath.Join(bad, "repeated-apps.json"), `{"acKind":"PodManifest","acVersion":"0.8.11","apps":[],"apps":[]}`)
	writeACI(t, filepath.Join(bad, "dotdot.aci"), aciWith(tarEntry{name: "rootfs/../../escaped", body: "x", typeflag: tar.TypeReg}))
	writeACI(t, filepath.Join(bad, "absolute.aci"), aciWith(tarEntry{name: "/" + filepath.Join(outside, "abs"), body: "x", typeflag: tar.TypeReg}))
	writeACI(t, filepath.Join(bad, "symlink.aci"), aciWith(
		tarEntry{name: "rootfs/link", typeflag: tar.TypeSymlink, linkname: outside},
		tarEntry{name: "rootfs/link/through", body: "x", typeflag: tar.TypeReg},
	))

	cases := []struct {
		name string
		args []string
		// want is a substring of the one-line error.
		want string
	}{
		{name: "missing file", args: []string{filepath.Join(bad, "missing.aci")}, want: "missing.aci"},
		{name: "directory", args: []string{filepath.Join(bad, "dir.aci")}, want: "dir.aci"},
		{name: "fifo", args: []string{filepath.Join(bad, "fifo.aci")}, want: "fifo.aci"},
		{name: "not an ACI", args: []string{filepath.Join(bad, "text.aci")}, want: "text.aci"},
		{name: "corrupt gzip", args: []string{filepath.Join(bad, "corrupt.aci")}, want: "corrupt.aci"},
		{name: "invalid manifest", args: []string{filepath.Join(bad, "invalid-manifest.aci")}, want: "invalid-manifest.aci"},
		{name: "repeated manifest name", args: []string{filepath.Join(bad, "repeated-name.aci")}, want: `repeated-name.aci": invalid ACI: manifest: member name "Name" at "/Name" repeats`},
		{name: "repeated pod manifest name", args: []string{"--pod-manifest=" + filepath.Join(bad, "repeated-apps.json")}, want: `member name "apps" at "/apps" repeats`},
		{name: "dot-dot entry", args: []string{filepath.Join(bad, "dotdot.aci")}, want: "dotdot.aci"},
		{name: "absolute entry", args: []string{filepath.Join(bad, "absolute.aci")}, want: "absolute.aci"},
		{name: "write through symlink", args: []string{filepath.Join(bad, "symlink.aci")}, want: "symlink.aci"},
		{name: "unknown volume kind", args: []string{"--volume=v,kind=nfs", busybox}, want: "kind=nfs"},
		{name: "unknown volume option", args: []string{"--volume=v,kind=host,source=/tmp,color=red", busybox}, want: "color"},
		{name: "mount naming no volume", args: []string{busybox, "--mount=volume=nope,target=/x"}, want: "nope"},
		// The store-only policy keeps discovery off the network, which this
		// test does not isolate.
		{name: "image name not in store", args: []string{"--pull-policy=never", "example.com/absent:1.0"}, want: "pull policy is never"},
		{name: "unsigned image", args: []string{"--insecure-options=none", busybox}, want: "--insecure-options=image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.storedImages())
			res := e.run(append([]string{"run"}, tc.args...)...)

			if res.code != 254 {
				t.Errorf("exit status = %d, want 254", res.code)
			}
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), res.stderr)
			}
			if !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr %q does not name %q", res.stderr, tc.want)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing", res.stdout)
			}

			// The stage1 and busybox may be imported by earlier cases; the
			// bad image itself never is.
			if got := len(e.storedImages()); got > before+2 {
				t.Errorf("store grew from %d to %d images", before, got)
			}
			for _, state := range []string{"embryo", "prepare", "prepared", "run"} {
				if dirs := e.podDirs(state); len(dirs) != 0 {
					t.Errorf("pods left in %s: %v", state, dirs)
				}
			}
			testns.AssertNoMountsUnder(t, e.dataDir)
			entries, err := os.ReadDir(outside)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("the image wrote outside its root: %v", entries)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(e.scratch, "escaped")); err == nil {
		t.Error("a .. entry escaped the store")
	}
}

func TestRunRequiresSubcommand(t *testing.T) {
	e := newRktEnv(t)
	if e == nil {
		return
	}
	res := e.run()
	if res.code != 2 {
		t.Errorf("exit status = %d, want 2", res.code)
	}
	if !strings.Contains(res.stderr, "missing command") {
		t.Errorf("stderr = %q, want missing command", res.stderr)
	}
}
