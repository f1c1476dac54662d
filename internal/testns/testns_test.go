package testns

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestIsolateTmpfsInScratch(t *testing.T) {
	scratch, inside := Isolate(t)
	if !inside {
		return
	}

	target := filepath.Join(scratch, "mnt with space")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("testns-test", target, "tmpfs", 0, ""); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", target, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(target, 0); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})

	if !slices.Contains(MountPoints(t), target) {
		t.Errorf("mountinfo of the child lacks %s", target)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.TMPFS_MAGIC {
		t.Errorf("%s has file system type %#x, want tmpfs", target, st.Type)
	}
}

func TestIsolateDecoyDev(t *testing.T) {
	_, inside := Isolate(t)
	if !inside {
		return
	}

	var st unix.Statfs_t
	if err := unix.Statfs("/dev", &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.TMPFS_MAGIC {
		t.Errorf("/dev has file system type %#x, want tmpfs", st.Type)
	}
	if _, err := os.Stat(filepath.Join("/dev", decoyMarker)); err != nil {
		t.Errorf("decoy marker: %v", err)
	}

	// The copied nodes must work, because tests bind /dev into pods.
	null, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := null.WriteString("discarded"); err != nil {
		t.Errorf("write /dev/null: %v", err)
	}
	if err := null.Close(); err != nil {
		t.Error(err)
	}

	if err := unix.Statfs("/sys", &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.SYSFS_MAGIC {
		t.Errorf("/sys has file system type %#x, want sysfs", st.Type)
	}
	for _, point := range MountPoints(t) {
		if filepath.Dir(point) == "/sys/fs" || filepath.Dir(point) == "/sys/fs/cgroup" {
			t.Errorf("%s is still mounted below the fresh /sys", point)
		}
	}
}

func TestIsolateRootIsSlave(t *testing.T) {
	_, inside := Isolate(t)
	if !inside {
		return
	}

	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range splitLines(data) {
		if fieldsOf(line)[4] == "/" && containsShared(line) {
			t.Errorf("root mount is still shared: %s", line)
		}
	}
}

func TestIsolateSubtests(t *testing.T) {
	for _, name := range []string{"first case", "second/nested"} {
		t.Run(name, func(t *testing.T) {
			scratch, inside := Isolate(t)
			if !inside {
				return
			}
			if os.Getenv(envTestName) != t.Name() {
				t.Errorf("child for %q runs test %q", os.Getenv(envTestName), t.Name())
			}
			if _, err := os.Stat(scratch); err != nil {
				t.Errorf("scratch dir: %v", err)
			}
		})
	}
}

func TestRunPatternQuotesLevels(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{name: "TestA", want: "^TestA$"},
		{name: "TestA/case_one", want: "^TestA$/^case_one$"},
		{name: "TestA/x.y(z)", want: `^TestA$/^x\.y\(z\)$`},
		{name: "TestA/b#01", want: "^TestA$/^b#01$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RunPattern(tt.name); got != tt.want {
				t.Errorf("RunPattern(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestParseMountPointsUnescapes(t *testing.T) {
	data := []byte("22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
		"40 22 0:35 / /mnt/a\\040b\\011c\\134d rw - tmpfs tmpfs rw\n")
	got, err := parseMountPoints(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/", "/mnt/a b\tc\\d"}
	if !slices.Equal(got, want) {
		t.Errorf("parseMountPoints = %q, want %q", got, want)
	}
}

func TestParseMountPointsRejectsBadLines(t *testing.T) {
	for name, line := range map[string]string{
		"short line":       "22 1 0:21 /\n",
		"truncated escape": "40 22 0:35 / /mnt/a\\04 rw - tmpfs tmpfs rw\n",
		"non-octal escape": "40 22 0:35 / /mnt/a\\09x rw - tmpfs tmpfs rw\n",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := parseMountPoints([]byte(line)); err == nil {
				t.Errorf("parseMountPoints(%q) = %q, want error", line, got)
			}
		})
	}
}
