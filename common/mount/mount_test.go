package mount

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFlagString(t *testing.T) {
	cases := []struct {
		name  string
		flags uintptr
		want  string
	}{
		{name: "zero", flags: 0, want: "0"},
		{name: "bind", flags: unix.MS_BIND, want: "MS_BIND"},
		{name: "recursive bind", flags: unix.MS_BIND | unix.MS_REC, want: "MS_BIND|MS_REC"},
		{name: "read-only remount", flags: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, want: "MS_RDONLY|MS_REMOUNT|MS_BIND"},
		{name: "rshared", flags: unix.MS_REC | unix.MS_SHARED, want: "MS_REC|MS_SHARED"},
		{name: "unknown bit", flags: unix.MS_BIND | 1<<40, want: "MS_BIND|0x10000000000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FlagString(tc.flags); got != tc.want {
				t.Errorf("FlagString(%#x) = %q, want %q", tc.flags, got, tc.want)
			}
		})
	}
}

func TestUnmountFlagString(t *testing.T) {
	if got := UnmountFlagString(unix.MNT_DETACH); got != "MNT_DETACH" {
		t.Errorf("UnmountFlagString(MNT_DETACH) = %q", got)
	}
	if got := UnmountFlagString(0); got != "0" {
		t.Errorf("UnmountFlagString(0) = %q", got)
	}
}

func TestMountErrorMessage(t *testing.T) {
	err := error(&MountError{
		Op:     "bind mount",
		Source: "/srv/data",
		Target: "/pod/rootfs/data",
		FSType: "none",
		Flags:  unix.MS_BIND | unix.MS_REC,
		Err:    unix.ENOENT,
	})
	want := `bind mount "/srv/data" on "/pod/rootfs/data" (MS_BIND|MS_REC): no such file or directory`
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, unix.ENOENT) {
		t.Errorf("errors.Is(err, ENOENT) = false")
	}
}

func TestMountErrorTmpfsData(t *testing.T) {
	err := &MountError{Op: "mount tmpfs", Source: "tmpfs", Target: "/t", FSType: "tmpfs", Data: "size=1m", Err: unix.EPERM}
	got := err.Error()
	for _, part := range []string{"type tmpfs", `data "size=1m"`, "(type tmpfs, 0, "} {
		if !strings.Contains(got, part) {
			t.Errorf("message %q lacks %q", got, part)
		}
	}
}

func TestUnmountErrorMessage(t *testing.T) {
	err := Unmount("/nonexistent/rkt-test-target", unix.MNT_DETACH)
	var mountErr *MountError
	if !errors.As(err, &mountErr) {
		t.Fatalf("Unmount error %v is not a *MountError", err)
	}
	if !strings.HasPrefix(err.Error(), `unmount "/nonexistent/rkt-test-target" (MNT_DETACH): `) {
		t.Errorf("message = %q", err.Error())
	}
}

func TestStatfsToMountFlags(t *testing.T) {
	cases := []struct {
		name    string
		stFlags int64
		want    uintptr
	}{
		{name: "none", stFlags: 0, want: 0},
		{name: "read-only dropped", stFlags: unix.ST_RDONLY, want: 0},
		{name: "nosuid", stFlags: unix.ST_NOSUID, want: unix.MS_NOSUID},
		{name: "nodev", stFlags: unix.ST_NODEV, want: unix.MS_NODEV},
		{name: "noexec", stFlags: unix.ST_NOEXEC, want: unix.MS_NOEXEC},
		{name: "noatime", stFlags: unix.ST_NOATIME, want: unix.MS_NOATIME},
		{name: "nodiratime", stFlags: unix.ST_NODIRATIME, want: unix.MS_NODIRATIME},
		{name: "relatime", stFlags: unix.ST_RELATIME, want: unix.MS_RELATIME},
		{name: "nosymfollow", stFlags: 0x2000, want: unix.MS_NOSYMFOLLOW},
		{
			name:    "combined",
			stFlags: unix.ST_NOSUID | unix.ST_NODEV | unix.ST_RELATIME | 0x2000,
			want:    unix.MS_NOSUID | unix.MS_NODEV | unix.MS_RELATIME | unix.MS_NOSYMFOLLOW,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := statfsToMountFlags(tc.stFlags)
			if got != tc.want {
				t.Errorf("statfsToMountFlags(%#x) = %s, want %s", tc.stFlags, FlagString(got), FlagString(tc.want))
			}
		})
	}
}
