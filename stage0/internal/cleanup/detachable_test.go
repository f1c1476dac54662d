package cleanup

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rktfly/rkt/common/mountinfo"
)

// mnt builds a mountinfo entry; shared adds a "shared:N" field.
func mnt(id, parent int, point string, shared bool) mountinfo.Mount {
	m := mountinfo.Mount{ID: id, Parent: parent, MountPoint: point}
	if shared {
		m.Optional = []string{"shared:1"}
	}
	return m
}

func mountIDs(mounts []mountinfo.Mount) []int {
	ids := []int{}
	for _, m := range mounts {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestDetachable(t *testing.T) {
	const app = "/p/stage1/rootfs/opt/stage2/a/rootfs"
	tests := []struct {
		name  string
		below []mountinfo.Mount
		want  []int
	}{
		{
			name: "overlay root covers everything",
			below: []mountinfo.Mount{
				mnt(10, 1, "/p/stage1/rootfs", false),
				mnt(11, 10, app, false),
				mnt(12, 11, app+"/dev", true),
				mnt(13, 12, app+"/dev/shm", true),
				mnt(14, 12, app+"/dev", true), // volume stacked on the /dev bind
			},
			want: []int{10},
		},
		{
			name: "root hidden by another root's mount",
			below: []mountinfo.Mount{
				mnt(20, 1, "/p/a/b", true),
				mnt(21, 1, "/p/a", false),
			},
			want: []int{21},
		},
		{
			name: "two independent roots",
			below: []mountinfo.Mount{
				mnt(30, 1, app+"/dev", true),
				mnt(31, 30, app+"/dev/pts", true),
				mnt(32, 1, app+"/tmp", false),
			},
			want: []int{30, 32},
		},
		{
			name: "private root covered by its own child",
			below: []mountinfo.Mount{
				mnt(40, 1, app+"/dev", false),
				mnt(41, 40, app+"/dev", false),
				mnt(42, 41, app+"/dev/x", false),
			},
			want: []int{41},
		},
		{
			name: "child of a root visible below it",
			below: []mountinfo.Mount{
				mnt(50, 1, "/p/r", false),
				mnt(51, 50, "/p/r/x", true),
			},
			want: []int{50},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := detachable(tt.below)
			if err != nil {
				t.Fatalf("detachable: %v", err)
			}
			if ids := mountIDs(got); !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("detachable = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestDetachableRejectsHiddenSharedRoot(t *testing.T) {
	// fly without overlay: the /dev bind is a root and shared with the
	// host's /dev, and a volume is stacked on it. The bind cannot be reached
	// to make it private, and unmounting the volume would propagate to
	// whatever the host has mounted on its /dev.
	below := []mountinfo.Mount{
		mnt(60, 1, "/p/rootfs/dev", true),
		mnt(61, 60, "/p/rootfs/dev/shm", true),
		mnt(62, 60, "/p/rootfs/dev", true),
	}
	got, err := detachable(below)
	if !errors.Is(err, ErrMountsRemain) {
		t.Fatalf("detachable = %v, %v; want ErrMountsRemain", mountIDs(got), err)
	}
}

func TestCoveredIgnoresAncestors(t *testing.T) {
	below := []mountinfo.Mount{
		mnt(70, 1, "/p/a", false),
		mnt(71, 70, "/p/a/b", false),
		mnt(72, 71, "/p/a/b/c", false),
	}
	byID := map[int]mountinfo.Mount{70: below[0], 71: below[1], 72: below[2]}
	for _, m := range below {
		if covered(m, below, byID) {
			t.Errorf("mount %d at %s reported covered, but only its ancestors lie above it", m.ID, m.MountPoint)
		}
	}
}

func TestIsAncestorParentCycle(t *testing.T) {
	a := mnt(80, 81, "/p/a", false)
	b := mnt(81, 80, "/p/a/b", false)
	byID := map[int]mountinfo.Mount{80: a, 81: b}
	if isAncestor(99, a, byID) {
		t.Error("isAncestor found a mount that is not in the map")
	}
}
