package testbuild

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRootHasGoMod(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("RepoRoot = %s without go.mod: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testbuild")); err != nil {
		t.Errorf("RepoRoot = %s does not contain internal/testbuild: %v", root, err)
	}
}

func TestArtefactsFromBuildBinEnv(t *testing.T) {
	build := t.TempDir()
	bin := filepath.Join(build, "bin")
	images := filepath.Join(build, "images")
	for _, dir := range []string{bin, images} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, file := range []string{
		filepath.Join(bin, "rkt"),
		filepath.Join(bin, "rkt-full"),
		filepath.Join(bin, "stage1-fly.aci"),
		filepath.Join(images, "busybox.aci"),
	} {
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(EnvBuildBin, bin)

	checks := []struct {
		name string
		got  string
		want string
	}{
		{name: "bin dir", got: BinDir(t), want: bin},
		{name: "rkt binary", got: RktBinary(t), want: filepath.Join(bin, "rkt")},
		{name: "rkt-full binary", got: FullBinary(t), want: filepath.Join(bin, "rkt-full")},
		{name: "stage1 aci", got: Stage1ACI(t), want: filepath.Join(bin, "stage1-fly.aci")},
		{name: "images dir", got: ImagesDir(t), want: images},
		{name: "image", got: Image(t, "busybox"), want: filepath.Join(images, "busybox.aci")},
	}
	for _, check := range checks {
		t.Run(check.name, func(t *testing.T) {
			if check.got != check.want {
				t.Errorf("got %s, want %s", check.got, check.want)
			}
		})
	}
}

func TestRktWithoutFullLeavesOutRktFull(t *testing.T) {
	bin := t.TempDir()
	for name, content := range map[string]string{"rkt": "lean", "rkt-full": "full", "stage1-fly.aci": "stage1"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(EnvBuildBin, bin)

	dir := filepath.Join(t.TempDir(), "copy")
	rkt := RktWithoutFull(t, dir)
	if rkt != filepath.Join(dir, "rkt") {
		t.Errorf("RktWithoutFull = %s, want %s", rkt, filepath.Join(dir, "rkt"))
	}
	for name, want := range map[string]string{"rkt": "lean", "stage1-fly.aci": "stage1"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("copied %s = %q, want %q", name, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "rkt-full")); !os.IsNotExist(err) {
		t.Errorf("rkt-full was copied (stat error %v)", err)
	}
}
