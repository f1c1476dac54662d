// Package creds resolves an app's user, group and supplementary groups to
// numeric ids inside its root and switches the process to
// them before the exec.
package creds

import (
	"fmt"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/user"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

// dockerRepositoryAnnotation marks an image converted from a Docker image.
const dockerRepositoryAnnotation = "appc.io/docker/repository"

// Credentials are the ids the app runs with.
type Credentials struct {
	UID int
	GID int
	// Groups are the supplementary groups: the primary gid first, then the
	// app's supplementaryGIDs.
	Groups []int
}

// Resolve looks up app.User and app.Group inside root, the app rootfs as
// the host sees it. image is the app's image manifest; it may be nil.
func Resolve(root string, app *manifest.App, image *manifest.ImageManifest) (Credentials, error) {
	uid, err := user.LookupUser(root, app.User)
	if err != nil {
		return Credentials{}, err
	}
	gid, err := user.LookupGroup(root, app.Group)
	if err != nil {
		if !dockerGroupFallback(app, image) {
			return Credentials{}, err
		}
		// An image converted from Docker names its user as its group when
		// the Docker image had only a user. rkt then takes the uid as gid.
		gid = uid
	}
	for _, g := range app.SupplementaryGIDs {
		if err := user.CheckID(g); err != nil {
			return Credentials{}, fmt.Errorf("supplementary gid: %v", err)
		}
	}
	groups := append([]int{gid}, app.SupplementaryGIDs...)
	return Credentials{UID: uid, GID: gid, Groups: groups}, nil
}

// dockerGroupFallback reports whether a failed group lookup takes the uid
// as gid: the image was converted from Docker, its user equals its group,
// and the runtime group is the image's group.
func dockerGroupFallback(app *manifest.App, image *manifest.ImageManifest) bool {
	if image == nil || image.App == nil {
		return false
	}
	if _, ok := image.Annotations.Get(dockerRepositoryAnnotation); !ok {
		return false
	}
	return image.App.User == image.App.Group && app.Group == image.App.Group
}

// ApplyForExec sets the real, effective and saved gid, then the
// supplementary groups, then the uid, in that order: after setresuid to a
// non-root uid the thread could no longer change its groups. It changes
// only the calling OS thread, with raw system calls, for a caller that
// execs right after: execve(2) ends every other thread, and the new
// program keeps the calling thread's credentials. Before the first call it
// locks the goroutine to its thread for good (runtime.LockOSThread), so
// that the exec runs on that thread. After a failed exec the caller must
// not go on running, because its threads then have different credentials.
//
// Go's syscall.Setgroups and friends change every thread instead: they
// signal each runtime thread and wait until all of them have made the call.
// In warm runs on a 2-core VM that cost about 40 us more per app start
// than the raw calls, including the thread that LockOSThread starts.
//
// A call whose ids the process already has is skipped. A root app started
// by root then makes none of them, and the goroutine stays unlocked.
func (c Credentials) ApplyForExec() error {
	setGID, setGroups, setUID := !hasResgid(c.GID), !hasGroups(c.Groups), !hasResuid(c.UID)
	if !setGID && !setGroups && !setUID {
		return nil
	}
	runtime.LockOSThread()
	if setGID {
		if err := threadSyscall(unix.SYS_SETRESGID, uintptr(c.GID), uintptr(c.GID), uintptr(c.GID)); err != nil {
			return fmt.Errorf("setresgid %d: %w", c.GID, err)
		}
	}
	if setGroups {
		if err := setThreadGroups(c.Groups); err != nil {
			return fmt.Errorf("setgroups %v: %w", c.Groups, err)
		}
	}
	if setUID {
		if err := threadSyscall(unix.SYS_SETRESUID, uintptr(c.UID), uintptr(c.UID), uintptr(c.UID)); err != nil {
			return fmt.Errorf("setresuid %d: %w", c.UID, err)
		}
	}
	return nil
}

// threadSyscall makes the system call trap for the calling thread only.
func threadSyscall(trap, a1, a2, a3 uintptr) error {
	if _, _, errno := unix.RawSyscall(trap, a1, a2, a3); errno != 0 {
		return errno
	}
	return nil
}

// setThreadGroups sets the supplementary groups of the calling thread.
func setThreadGroups(groups []int) error {
	gids := make([]uint32, len(groups))
	for i, g := range groups {
		gids[i] = uint32(g)
	}
	var list uintptr
	if len(gids) > 0 {
		list = uintptr(unsafe.Pointer(&gids[0]))
	}
	err := threadSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), list, 0)
	runtime.KeepAlive(gids)
	return err
}

// hasResgid reports whether the real, effective and saved gid are all gid.
func hasResgid(gid int) bool {
	r, e, s := unix.Getresgid()
	return r == gid && e == gid && s == gid
}

// hasResuid reports whether the real, effective and saved uid are all uid.
func hasResuid(uid int) bool {
	r, e, s := unix.Getresuid()
	return r == uid && e == uid && s == uid
}

// hasGroups reports whether the supplementary groups are groups, ignoring
// their order, which the kernel does not keep.
func hasGroups(groups []int) bool {
	have, err := unix.Getgroups()
	if err != nil || len(have) != len(groups) {
		return false
	}
	want := slices.Clone(groups)
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
}
