package mountplan

import (
	"os"
	"testing"

	"github.com/rktfly/rkt/common/mountinfo"
)

func TestReachOutside(t *testing.T) {
	const pod = "/var/lib/rkt/pods/run/p"
	const rootfs = pod + "/stage1/rootfs/opt/stage2/app/rootfs"
	host := func(id int, point string, optional ...string) mountinfo.Mount {
		return mountinfo.Mount{ID: id, MountPoint: point, Optional: optional}
	}
	cases := []struct {
		name   string
		mounts []mountinfo.Mount
		want   string // mount point reached outside the pod, "" for none
	}{
		{
			name:   "peer of host mount",
			mounts: []mountinfo.Mount{host(10, "/dev/shm", "shared:3"), host(20, rootfs+"/dev/shm", "shared:3")},
			want:   "/dev/shm",
		},
		{
			name:   "private",
			mounts: []mountinfo.Mount{host(10, "/dev/shm", "shared:3"), host(20, rootfs+"/dev/shm")},
		},
		{
			name:   "slave only",
			mounts: []mountinfo.Mount{host(10, "/dev/shm", "shared:3"), host(20, rootfs+"/dev/shm", "master:3")},
		},
		{
			name:   "peers inside the pod",
			mounts: []mountinfo.Mount{host(10, pod+"/sharedVolumes/a", "shared:4"), host(20, rootfs+"/a", "shared:4")},
		},
		{
			name:   "slave of the group outside",
			mounts: []mountinfo.Mount{host(10, "/mnt/slave", "master:5"), host(20, rootfs+"/a", "shared:5")},
			want:   "/mnt/slave",
		},
		{
			name: "through a shared slave inside the pod",
			mounts: []mountinfo.Mount{
				host(20, rootfs+"/a", "shared:5"),
				host(30, pod+"/relay", "shared:6", "master:5"),
				host(40, "/srv/far", "shared:6"),
			},
			want: "/srv/far",
		},
		{
			name:   "other group outside",
			mounts: []mountinfo.Mount{host(10, "/dev", "shared:2"), host(20, rootfs+"/a", "shared:5")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent, _ := mountByID(tc.mounts, 20)
			got, ok := reachOutside(tc.mounts, parent, pod)
			if tc.want == "" && ok {
				t.Errorf("reached %q, want no mount outside the pod", got.MountPoint)
			}
			if tc.want != "" && (!ok || got.MountPoint != tc.want) {
				t.Errorf("reached %q (found %v), want %q", got.MountPoint, ok, tc.want)
			}
		})
	}
}

func TestMountIDMatchesFdinfo(t *testing.T) {
	for _, name := range []string{"/", "/proc", t.TempDir()} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		fromStatx, err := mountID(f)
		if err != nil {
			t.Fatalf("mountID(%s): %v", name, err)
		}
		fromFdinfo, err := fdinfoMountID(int(f.Fd()))
		if err != nil {
			t.Fatalf("fdinfoMountID(%s): %v", name, err)
		}
		if fromStatx != fromFdinfo {
			t.Errorf("%s: statx mount id %d, fdinfo mount id %d", name, fromStatx, fromFdinfo)
		}
		mounts, err := mountinfo.ReadSelf()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := mountByID(mounts, fromStatx); !ok {
			t.Errorf("%s: mount id %d is not in /proc/self/mountinfo", name, fromStatx)
		}
		f.Close()
	}
}
