package mountplan

import (
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/internal/testns"
)

// TestApplyAfterMountOnRoot checks that the operations after a bind on the
// rootfs directory itself, such as a volume at "/", resolve their targets
// in that bind, as a lookup of the rootfs path does, and not in the
// directory it covers.
func TestApplyAfterMountOnRoot(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	root := filepath.Join(scratch, "pod", "rootfs")
	outer := filepath.Join(scratch, "outer")
	inner := filepath.Join(scratch, "inner")
	for _, dir := range []string{root + "/data", outer + "/data", inner} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(inner, "marker"), []byte("inner"), 0o644); err != nil {
		t.Fatal(err)
	}

	plan := Plan{
		PodDir: filepath.Join(scratch, "pod"),
		Mounts: []Op{
			{Kind: BindMount, Source: outer, Target: "/", FSType: "none", Flags: unix.MS_BIND, Create: CreateDir, Volume: "outer"},
			{Kind: BindMount, Source: inner, Target: "/data", FSType: "none", Flags: unix.MS_BIND, Create: CreateDir, Volume: "inner"},
			{Kind: RemountReadOnly, Target: "/data", FSType: "none", Flags: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, Volume: "inner"},
		},
	}
	if err := Apply(root, plan, log.New(io.Discard, "", 0)); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	data, err := os.ReadFile(filepath.Join(root, "data", "marker"))
	if err != nil {
		t.Fatalf("the inner volume is not at %s/data, in the bind on the rootfs: %v", root, err)
	}
	if string(data) != "inner" {
		t.Errorf("%s/data/marker = %q, want %q", root, data, "inner")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Join(root, "data"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("%s/data is writable, want the read-only remount there", root)
	}
}
