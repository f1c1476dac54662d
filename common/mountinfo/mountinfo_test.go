package mountinfo

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func readSample(t *testing.T, name string) []Mount {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mounts, err := Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return mounts
}

func TestParseHostSample(t *testing.T) {
	mounts := readSample(t, "host.txt")
	if len(mounts) != 9 {
		t.Fatalf("got %d mounts, want 9", len(mounts))
	}
	want := Mount{
		ID:           40,
		Parent:       27,
		Major:        253,
		Minor:        1,
		Root:         "/srv/data",
		MountPoint:   "/mnt/my data",
		Options:      "rw,nosuid,nodev",
		Optional:     []string{"master:7"},
		FSType:       "ext4",
		Source:       "/dev/vdb",
		SuperOptions: "rw,errors=remount-ro",
	}
	if !reflect.DeepEqual(mounts[5], want) {
		t.Errorf("mount 40 = %+v, want %+v", mounts[5], want)
	}
	if len(mounts[7].Optional) != 0 {
		t.Errorf("mount 42 optional fields = %q, want none", mounts[7].Optional)
	}
}

func TestParseUnescapesPaths(t *testing.T) {
	mounts := readSample(t, "host.txt")
	got := mounts[7]
	if got.MountPoint != "/mnt/tab\tand\nnewline\\back" {
		t.Errorf("mount point = %q", got.MountPoint)
	}
	if got.Source != "" {
		t.Errorf("empty source parsed as %q", got.Source)
	}
	if got.FSType != "tmpfs" {
		t.Errorf("fstype = %q, want tmpfs", got.FSType)
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	cases := map[string]string{
		"no separator":       "22 27 0:21 / /proc rw,relatime shared:5 proc proc rw",
		"too few fields":     "22 27 0:21 / /proc",
		"bad mount ID":       "x 27 0:21 / /proc rw - proc proc rw",
		"bad parent ID":      "22 x 0:21 / /proc rw - proc proc rw",
		"device no colon":    "22 27 021 / /proc rw - proc proc rw",
		"device bad major":   "22 27 a:21 / /proc rw - proc proc rw",
		"nothing after dash": "22 27 0:21 / /proc rw shared:1 - proc",
	}
	for name, line := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader("27 1 253:0 / / rw - ext4 /dev/vda rw\n" + line + "\n"))
			if err == nil {
				t.Fatalf("parse %q: no error", line)
			}
			if !strings.Contains(err.Error(), "line 2") {
				t.Errorf("error %q does not name line 2", err)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{name: "plain", in: "/a/b", want: "/a/b"},
		{name: "space", in: `/a\040b`, want: "/a b"},
		{name: "tab", in: `\011`, want: "\t"},
		{name: "newline", in: `x\012y`, want: "x\ny"},
		{name: "backslash", in: `\134`, want: `\`},
		{name: "escaped backslash before digits", in: `\134040`, want: `\040`},
		{name: "short escape kept", in: `/a\04`, want: `/a\04`},
		{name: "non-octal kept", in: `/a\089`, want: `/a\089`},
		{name: "trailing backslash", in: `/a\`, want: `/a\`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Unescape(tc.in); got != tc.want {
				t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSharedAndMaster(t *testing.T) {
	mounts := readSample(t, "host.txt")
	byID := map[int]Mount{}
	for _, m := range mounts {
		byID[m.ID] = m
	}
	cases := []struct {
		name           string
		id             int
		shared, master bool
	}{
		{name: "shared only", id: 22, shared: true, master: false},
		{name: "master only", id: 40, shared: false, master: true},
		{name: "shared and master", id: 41, shared: true, master: true},
		{name: "private", id: 42, shared: false, master: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := byID[tc.id]
			if m.Shared() != tc.shared {
				t.Errorf("Shared() = %v, want %v", m.Shared(), tc.shared)
			}
			if m.Master() != tc.master {
				t.Errorf("Master() = %v, want %v", m.Master(), tc.master)
			}
		})
	}
}

func TestIsMountPoint(t *testing.T) {
	mounts := readSample(t, "host.txt")
	cases := []struct {
		path string
		want bool
	}{
		{path: "/proc", want: true},
		{path: "/proc/", want: true},
		{path: "/dev/./shm", want: true},
		{path: "/proc/sys", want: false},
		{path: "/mnt/my data", want: true},
		{path: "/mnt/my", want: false},
		{path: "/", want: true},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			if got := IsMountPoint(mounts, tc.path); got != tc.want {
				t.Errorf("IsMountPoint(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func mountPoints(mounts []Mount) []string {
	points := []string{}
	for _, m := range mounts {
		points = append(points, m.MountPoint)
	}
	return points
}

func TestUnderComparesComponents(t *testing.T) {
	mounts := readSample(t, "pod.txt")
	got := mountPoints(Under(mounts, "/var/lib/rkt/pods/run/abc"))
	want := []string{
		"/var/lib/rkt/pods/run/abc/stage1/rootfs",
		"/var/lib/rkt/pods/run/abc/stage1/rootfs/opt/stage2/app/rootfs/dev",
		"/var/lib/rkt/pods/run/abc/stage1/rootfs/opt/stage2/app/rootfs/dev/shm",
		"/var/lib/rkt/pods/run/abc/stage1/rootfs/opt/stage2/app/rootfs/proc",
		"/var/lib/rkt/pods/run/abc/stage1/rootfs/opt/stage2/app/rootfs/tmp",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Under(abc) = %q, want %q", got, want)
	}
}

func TestUnderIncludesDirItself(t *testing.T) {
	mounts := readSample(t, "pod.txt")
	got := mountPoints(Under(mounts, "/var/lib/rkt/pods/run/abcdef/"))
	want := []string{"/var/lib/rkt/pods/run/abcdef"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Under(abcdef) = %q, want %q", got, want)
	}
}

func TestUnderRoot(t *testing.T) {
	mounts := readSample(t, "pod.txt")
	if got := Under(mounts, "/"); len(got) != len(mounts) {
		t.Errorf("Under(/) returned %d mounts, want %d", len(got), len(mounts))
	}
}

func TestIsUnder(t *testing.T) {
	cases := []struct {
		path, dir string
		want      bool
	}{
		{path: "/a/b", dir: "/a", want: true},
		{path: "/a", dir: "/a", want: true},
		{path: "/ab", dir: "/a", want: false},
		{path: "/a/../b", dir: "/a", want: false},
		{path: "/x", dir: "/", want: true},
	}
	for _, tc := range cases {
		t.Run(tc.path+" in "+tc.dir, func(t *testing.T) {
			if got := IsUnder(tc.path, tc.dir); got != tc.want {
				t.Errorf("IsUnder(%q, %q) = %v, want %v", tc.path, tc.dir, got, tc.want)
			}
		})
	}
}

func TestSortChildrenFirst(t *testing.T) {
	mounts := Under(readSample(t, "pod.txt"), "/var/lib/rkt/pods/run/abc")
	SortChildrenFirst(mounts)
	var ids []int
	for _, m := range mounts {
		ids = append(ids, m.ID)
	}
	// 102 is the grandchild of 100; 101, 103 and 104 are its children.
	want := []int{102, 104, 103, 101, 100}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("order = %v, want %v", ids, want)
	}
}

func TestSortChildrenFirstParentCycle(t *testing.T) {
	mounts := []Mount{
		{ID: 1, Parent: 2, MountPoint: "/a"},
		{ID: 2, Parent: 1, MountPoint: "/b"},
		{ID: 3, Parent: 3, MountPoint: "/"},
	}
	SortChildrenFirst(mounts)
	if len(mounts) != 3 {
		t.Fatalf("got %d mounts, want 3", len(mounts))
	}
}

func TestReadSelfFindsRoot(t *testing.T) {
	mounts, err := ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	if !IsMountPoint(mounts, "/") {
		t.Errorf("/ is not a mount point in /proc/self/mountinfo")
	}
}
