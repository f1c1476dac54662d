package build

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/aciwriter"
	"github.com/rktfly/rkt/internal/testbuild"
)

// stage1Entrypoints are the binaries of stage1-fly.aci.
var stage1Entrypoints = []string{"run", "enter", "gc", "stop"}

func TestStage1ACIPassesActoolValidate(t *testing.T) {
	aci := testbuild.Stage1ACI(t)
	out := runCommand(t, "", nil, actool(t), "validate", aci)
	t.Logf("actool validate %s: %s", aci, out)
}

func TestStage1ManifestFields(t *testing.T) {
	entries, _ := readACI(t, testbuild.Stage1ACI(t))
	im := imageManifest(t, entries)

	if got := im.Name.String(); got != "coreos.com/rkt/stage1-fly" {
		t.Errorf("name = %q, want coreos.com/rkt/stage1-fly", got)
	}
	if got := im.ACVersion.String(); got != "0.8.11" {
		t.Errorf("acVersion = %q, want 0.8.11", got)
	}
	wantLabels := map[string]string{
		"version": rktVersion(t),
		"arch":    expectedAppcArch(t),
		"os":      "linux",
	}
	for name, want := range wantLabels {
		got, ok := im.Labels.Get(name)
		if !ok || got != want {
			t.Errorf("label %s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	if len(im.Labels) != len(wantLabels) {
		t.Errorf("labels = %v, want exactly version, arch and os", im.Labels)
	}

	wantAnnotations := map[string]string{
		"coreos.com/rkt/stage1/run":               "/run",
		"coreos.com/rkt/stage1/enter":             "/enter",
		"coreos.com/rkt/stage1/gc":                "/gc",
		"coreos.com/rkt/stage1/stop":              "/stop",
		"coreos.com/rkt/stage1/interface-version": "5",
	}
	for name, want := range wantAnnotations {
		got, ok := im.Annotations.Get(name)
		if !ok || got != want {
			t.Errorf("annotation %s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	if len(im.Annotations) != len(wantAnnotations) {
		t.Errorf("annotations = %v, want exactly run, enter, gc, stop and interface-version", im.Annotations)
	}
	if im.App != nil {
		t.Errorf("app = %+v, want none", im.App)
	}
	if len(im.Dependencies) != 0 {
		t.Errorf("dependencies = %v, want none", im.Dependencies)
	}
}

func TestStage1RootfsEntries(t *testing.T) {
	entries, order := readACI(t, testbuild.Stage1ACI(t))

	want := []string{"manifest", "rootfs", "rootfs/enter", "rootfs/flavor", "rootfs/gc",
		"rootfs/opt", "rootfs/opt/stage2", "rootfs/rkt", "rootfs/rkt/status", "rootfs/run", "rootfs/stop"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("entries = %q, want %q", order, want)
	}

	for _, name := range order {
		hdr := entries[name].header
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want 0:0", name, hdr.Uid, hdr.Gid)
		}
		if hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: uname/gname %q/%q, want none", name, hdr.Uname, hdr.Gname)
		}
		if !hdr.ModTime.Equal(entries["manifest"].header.ModTime) {
			t.Errorf("%s: mtime %v differs from the manifest's %v", name, hdr.ModTime, entries["manifest"].header.ModTime)
		}
	}

	for _, dir := range []string{"rootfs", "rootfs/opt", "rootfs/opt/stage2", "rootfs/rkt", "rootfs/rkt/status"} {
		if hdr := entries[dir].header; hdr == nil || hdr.Typeflag != tar.TypeDir {
			t.Errorf("%s is not a directory entry", dir)
		}
	}
	if hdr := entries["rootfs/flavor"].header; hdr == nil || hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "fly" {
		t.Errorf("rootfs/flavor = %+v, want a symlink to fly", hdr)
	}

	for _, name := range stage1Entrypoints {
		t.Run(name, func(t *testing.T) {
			entry := entries["rootfs/"+name]
			if entry.header == nil || entry.header.Typeflag != tar.TypeReg {
				t.Fatalf("rootfs/%s is not a regular file", name)
			}
			if entry.header.Mode != 0o755 {
				t.Errorf("mode = %o, want 755", entry.header.Mode)
			}
			checkStaticELF(t, entry.data)
		})
	}
}

// checkStaticELF fails unless data is an ELF executable without an
// interpreter (PT_INTERP) and without shared library dependencies
// (DT_NEEDED), that is a binary that runs on any Linux host.
func checkStaticELF(t *testing.T, data []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		t.Errorf("ELF type = %v, want an executable", f.Type)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Error("has a PT_INTERP program header: the binary needs a dynamic loader")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("read DT_NEEDED: %v", err)
	}
	if len(libs) != 0 {
		t.Errorf("DT_NEEDED = %q, want no shared libraries", libs)
	}
}

func TestStage1BuildIsDeterministic(t *testing.T) {
	root := testbuild.RepoRoot(t)
	env := []string{
		"RKT_VERSION=" + rktVersion(t),
		"ACIBUILD=" + filepath.Join(t.TempDir(), "acibuild"),
	}
	var ids, paths []string
	for _, run := range []string{"first", "second"} {
		dir := t.TempDir()
		output := filepath.Join(dir, "stage1-fly.aci")
		runCommand(t, root, env, filepath.Join(root, "scripts", "build-stage1"), output, filepath.Join(dir, "work-"+run))
		f, err := os.Open(output)
		if err != nil {
			t.Fatal(err)
		}
		id, err := aciwriter.ImageID(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		paths = append(paths, output)
	}
	if ids[0] != ids[1] {
		t.Fatalf("two builds of one tree have different image IDs:\n%s %s\n%s %s", ids[0], paths[0], ids[1], paths[1])
	}

	first, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("two builds have one image ID but different compressed bytes: the gzip stream is not reproducible")
	}
}
