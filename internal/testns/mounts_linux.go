package testns

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rktfly/rkt/common/mountinfo"
)

// MountsOutside returns one line per mount whose mount point is not at or
// below dir: its ID, parent ID, mount point and propagation fields. Two
// calls compare equal when nothing outside dir was mounted, unmounted or
// changed its propagation in between.
func MountsOutside(t testing.TB, dir string) []string {
	t.Helper()
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range mounts {
		if mountinfo.IsUnder(m.MountPoint, dir) {
			continue
		}
		lines = append(lines, fmt.Sprintf("%d %d %s %s", m.ID, m.Parent, m.MountPoint, strings.Join(m.Optional, " ")))
	}
	return lines
}

// MountIDs returns the mount ID of each of points by mount point. It fails
// the test if one of them is not a mount point.
func MountIDs(t testing.TB, points ...string) map[string]int {
	t.Helper()
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, m := range mounts {
		for _, point := range points {
			if m.MountPoint == point {
				ids[point] = m.ID
			}
		}
	}
	for _, point := range points {
		if _, ok := ids[point]; !ok {
			t.Fatalf("%s is not mounted", point)
		}
	}
	return ids
}

// AssertStillMounted reports each mount of ids (mount point to mount ID)
// that is no longer mounted at its mount point.
func AssertStillMounted(t testing.TB, ids map[string]int) {
	t.Helper()
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	present := map[int]string{}
	for _, m := range mounts {
		present[m.ID] = m.MountPoint
	}
	for point, id := range ids {
		if present[id] != point {
			t.Errorf("host mount %d at %s was unmounted", id, point)
		}
	}
}
