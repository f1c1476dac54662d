// Package creds resolves an app's user, group and supplementary groups to
// numeric ids inside its root and switches the process to
// them before the exec.
package creds

import (
	"fmt"
	"slices"
	"syscall"

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

// Apply sets the real, effective and saved gid, then the supplementary
// groups, then the uid, in that order: after setresuid to a non-root uid
// the process could no longer change its groups. Since Go 1.16 these calls
// act on every thread of the process.
//
// A call whose ids the process already has is skipped, because it would
// change nothing and each call stops every thread. A root app started by
// root then makes none of them.
func (c Credentials) Apply() error {
	if !hasResgid(c.GID) {
		if err := syscall.Setresgid(c.GID, c.GID, c.GID); err != nil {
			return fmt.Errorf("setresgid %d: %w", c.GID, err)
		}
	}
	if !hasGroups(c.Groups) {
		if err := syscall.Setgroups(c.Groups); err != nil {
			return fmt.Errorf("setgroups %v: %w", c.Groups, err)
		}
	}
	if !hasResuid(c.UID) {
		if err := syscall.Setresuid(c.UID, c.UID, c.UID); err != nil {
			return fmt.Errorf("setresuid %d: %w", c.UID, err)
		}
	}
	return nil
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
