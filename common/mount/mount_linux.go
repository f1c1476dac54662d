package mount

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// MountError is a failed mount(2) or umount2(2) call.
type MountError struct {
	// Op is the operation by effect, such as "bind mount" or "make rshared".
	Op     string
	Source string
	// Target is the path passed to the kernel: a host path, or the
	// /proc/self/fd path of a target opened inside a root.
	Target string
	FSType string
	// Flags are the mount(2) flags, or the umount2(2) flags for "unmount".
	Flags uintptr
	Data  string
	Err   error
}

// Error reads like
//
//	bind mount "/srv" on "/pod/rootfs/data" (MS_BIND|MS_REC): no such file or directory
func (e *MountError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Source != "" {
		fmt.Fprintf(&b, " %q on", e.Source)
	}
	fmt.Fprintf(&b, " %q (", e.Target)
	var details []string
	if e.FSType != "" && e.FSType != "none" {
		details = append(details, "type "+e.FSType)
	}
	if e.Op == "unmount" {
		details = append(details, UnmountFlagString(int(e.Flags)))
	} else {
		details = append(details, FlagString(e.Flags))
	}
	if e.Data != "" {
		details = append(details, fmt.Sprintf("data %q", e.Data))
	}
	b.WriteString(strings.Join(details, ", "))
	b.WriteString("): ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the errno.
func (e *MountError) Unwrap() error {
	return e.Err
}

// namedFlag is one bit of a flags argument with its name in the C headers.
type namedFlag[T uintptr | int] struct {
	flag T
	name string
}

var mountFlagNames = []namedFlag[uintptr]{
	{flag: unix.MS_RDONLY, name: "MS_RDONLY"},
	{flag: unix.MS_NOSUID, name: "MS_NOSUID"},
	{flag: unix.MS_NODEV, name: "MS_NODEV"},
	{flag: unix.MS_NOEXEC, name: "MS_NOEXEC"},
	{flag: unix.MS_SYNCHRONOUS, name: "MS_SYNCHRONOUS"},
	{flag: unix.MS_REMOUNT, name: "MS_REMOUNT"},
	{flag: unix.MS_MANDLOCK, name: "MS_MANDLOCK"},
	{flag: unix.MS_DIRSYNC, name: "MS_DIRSYNC"},
	{flag: unix.MS_NOSYMFOLLOW, name: "MS_NOSYMFOLLOW"},
	{flag: unix.MS_NOATIME, name: "MS_NOATIME"},
	{flag: unix.MS_NODIRATIME, name: "MS_NODIRATIME"},
	{flag: unix.MS_BIND, name: "MS_BIND"},
	{flag: unix.MS_MOVE, name: "MS_MOVE"},
	{flag: unix.MS_REC, name: "MS_REC"},
	{flag: unix.MS_SILENT, name: "MS_SILENT"},
	{flag: unix.MS_POSIXACL, name: "MS_POSIXACL"},
	{flag: unix.MS_UNBINDABLE, name: "MS_UNBINDABLE"},
	{flag: unix.MS_PRIVATE, name: "MS_PRIVATE"},
	{flag: unix.MS_SLAVE, name: "MS_SLAVE"},
	{flag: unix.MS_SHARED, name: "MS_SHARED"},
	{flag: unix.MS_RELATIME, name: "MS_RELATIME"},
	{flag: unix.MS_I_VERSION, name: "MS_I_VERSION"},
	{flag: unix.MS_STRICTATIME, name: "MS_STRICTATIME"},
	{flag: unix.MS_LAZYTIME, name: "MS_LAZYTIME"},
}

// FlagString prints mount(2) flags by name, joined with "|", such as
// "MS_BIND|MS_REC". Bits without a name are printed in hex; zero is "0".
func FlagString(flags uintptr) string {
	return joinFlagNames(flags, mountFlagNames)
}

var unmountFlagNames = []namedFlag[int]{
	{flag: unix.MNT_FORCE, name: "MNT_FORCE"},
	{flag: unix.MNT_DETACH, name: "MNT_DETACH"},
	{flag: unix.MNT_EXPIRE, name: "MNT_EXPIRE"},
	{flag: unix.UMOUNT_NOFOLLOW, name: "UMOUNT_NOFOLLOW"},
}

// UnmountFlagString prints umount2(2) flags by name, such as "MNT_DETACH".
func UnmountFlagString(flags int) string {
	return joinFlagNames(flags, unmountFlagNames)
}

// joinFlagNames names each set bit of flags found in known, in the order of
// known, and prints the remaining bits in hex. It returns "0" for no bits.
func joinFlagNames[T uintptr | int](flags T, known []namedFlag[T]) string {
	var names []string
	rest := flags
	for _, f := range known {
		if rest&f.flag != 0 {
			names = append(names, f.name)
			rest &^= f.flag
		}
	}
	if rest != 0 {
		names = append(names, fmt.Sprintf("%#x", rest))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// FdPath returns the /proc/self/fd path of f, to pass as a mount target
// or source. f must stay open until the mount call returns.
func FdPath(f *os.File) string {
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd())
}

// Mount calls mount(2) and returns a *MountError named op on failure.
func Mount(op, source, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return &MountError{Op: op, Source: source, Target: target, FSType: fstype, Flags: flags, Data: data, Err: err}
	}
	return nil
}

// BindMount binds source on target. With recursive, the mounts below
// source come along (MS_REC); without, only the source mount's own tree.
func BindMount(source, target string, recursive bool) error {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	return Mount("bind mount", source, target, "none", flags, "")
}

// MountTmpfs mounts a new tmpfs on target with the flags and options
// given (data "" gives the kernel defaults: mode 1777, size half of RAM).
func MountTmpfs(target string, flags uintptr, data string) error {
	return Mount("mount tmpfs", "tmpfs", target, "tmpfs", flags, data)
}

// stNoSymFollow is ST_NOSYMFOLLOW from <linux/statfs.h> (Linux 5.10),
// which golang.org/x/sys/unix does not define.
const stNoSymFollow = 0x2000

// statfsToMountFlags maps the ST_* bits of statfs(2) f_flags to the MS_*
// mount(2) flags that a bind remount would otherwise clear, since
// MS_REMOUNT replaces all of them with the flags given. The two sets of
// bits differ for nosymfollow (ST 0x2000, MS 0x100) and relatime
// (ST 0x1000, MS 0x200000), so every flag is mapped by name.
func statfsToMountFlags(stFlags int64) uintptr {
	mapping := []struct {
		st int64
		ms uintptr
	}{
		{st: unix.ST_NOSUID, ms: unix.MS_NOSUID},
		{st: unix.ST_NODEV, ms: unix.MS_NODEV},
		{st: unix.ST_NOEXEC, ms: unix.MS_NOEXEC},
		{st: unix.ST_NOATIME, ms: unix.MS_NOATIME},
		{st: unix.ST_NODIRATIME, ms: unix.MS_NODIRATIME},
		{st: unix.ST_RELATIME, ms: unix.MS_RELATIME},
		{st: stNoSymFollow, ms: unix.MS_NOSYMFOLLOW},
	}
	var flags uintptr
	for _, m := range mapping {
		if stFlags&m.st != 0 {
			flags |= m.ms
		}
	}
	return flags
}

// RemountReadOnly makes the bind mount at target read-only. A bind mount
// only becomes read-only through a second call with MS_REMOUNT: MS_RDONLY
// on the first bind is ignored by the kernel. The remount replaces every
// per-mount flag, so the nosuid, nodev, noexec, nosymfollow and atime flags
// that target has now are read with statfs(2) and passed again. With
// recursive, MS_REC is passed, but the kernel still changes only the mount
// at target (see mount(2)): remount each submount to make a whole tree
// read-only.
func RemountReadOnly(target string, recursive bool) error {
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return &MountError{Op: "remount read-only", Target: target, FSType: "none", Flags: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, Err: fmt.Errorf("statfs: %w", err)}
	}
	flags := uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY) | statfsToMountFlags(int64(st.Flags))
	if recursive {
		flags |= unix.MS_REC
	}
	return Mount("remount read-only", "", target, "none", flags, "")
}

// MakeRShared makes the mount at path and every mount below it shared, so
// that mounts made below path, or below a bind of it, propagate to peers.
// path must be a mount point.
func MakeRShared(path string) error {
	return Mount("make rshared", "", path, "none", unix.MS_REC|unix.MS_SHARED, "")
}

// MakeRPrivate makes the mount at path and every mount below it private,
// so that no mount or unmount below path propagates to or from peers.
func MakeRPrivate(path string) error {
	return Mount("make rprivate", "", path, "none", unix.MS_REC|unix.MS_PRIVATE, "")
}

// MakeRSlave makes the mount at path and every mount below it slaves:
// they keep receiving propagation from their peers but send none back.
func MakeRSlave(path string) error {
	return Mount("make rslave", "", path, "none", unix.MS_REC|unix.MS_SLAVE, "")
}

// Unmount calls umount2(2) on path with flags such as unix.MNT_DETACH.
func Unmount(path string, flags int) error {
	if err := unix.Unmount(path, flags); err != nil {
		return &MountError{Op: "unmount", Target: path, Flags: uintptr(flags), Err: err}
	}
	return nil
}
