package mount

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/internal/testns"
)

func TestRemountReadOnlyKeepsFlags(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	source := filepath.Join(scratch, "source")
	target := filepath.Join(scratch, "target")
	for _, dir := range []string{source, target} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOSYMFOLLOW)
	if err := unix.Mount("tmpfs", source, "tmpfs", flags, ""); err != nil {
		t.Fatalf("mount tmpfs with %s on %s: %v", FlagString(flags), source, err)
	}
	t.Cleanup(func() { unix.Unmount(source, unix.MNT_DETACH) })
	if err := BindMount(source, target, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(target, unix.MNT_DETACH) })

	if err := RemountReadOnly(target, false); err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"ST_RDONLY":      unix.ST_RDONLY,
		"ST_NOSUID":      unix.ST_NOSUID,
		"ST_NODEV":       unix.ST_NODEV,
		"ST_NOSYMFOLLOW": stNoSymFollow,
	}
	for name, bit := range want {
		if int64(st.Flags)&bit == 0 {
			t.Errorf("%s lacks %s after the remount (f_flags %#x)", target, name, st.Flags)
		}
	}
}
