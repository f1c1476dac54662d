package flyrun

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

func TestResolveHostVolumes(t *testing.T) {
	base := t.TempDir()
	realBase, err := filepath.EvalSymlinks(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(base, "run", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	// var/run -> ../run, as on most distributions.
	if err := os.MkdirAll(filepath.Join(base, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../run", filepath.Join(base, "var", "run")); err != nil {
		t.Fatal(err)
	}

	linked := filepath.Join(base, "var", "run", "x")
	missing := filepath.Join(base, "var", "run", "missing")
	volumes := []manifest.Volume{
		{Name: "linked", Kind: "host", Source: linked},
		{Name: "missing", Kind: "host", Source: missing},
		{Name: "scratch", Kind: "empty", Source: linked},
	}
	got := resolveHostVolumes(volumes)

	want := []string{filepath.Join(realBase, "run", "x"), missing, linked}
	if len(got) != len(want) {
		t.Fatalf("got %d volumes, want %d", len(got), len(want))
	}
	for i, source := range want {
		t.Run(string(volumes[i].Name), func(t *testing.T) {
			if got[i].Source != source {
				t.Errorf("source = %q, want %q", got[i].Source, source)
			}
		})
	}
	if volumes[0].Source != linked {
		t.Errorf("input volume changed to %q, want it left as %q", volumes[0].Source, linked)
	}
}
