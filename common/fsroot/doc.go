// Package fsroot resolves and opens paths inside a root directory, such as
// an app rootfs, so that no symlink in the tree can lead outside it.
//
// Inside the root, paths behave as if the root were "/": an absolute symlink
// target is taken relative to the root, ".." stops at the root, and at most
// 255 symlinks are followed in one resolution, as rkt's fly stage1 allowed.
// This is the resolution that chroot(2) followed by path lookup would give,
// without changing the process root.
//
// Opening uses openat2(2) with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS where the
// kernel has it (Linux 5.6 and later). Elsewhere, and for Resolve, a
// userspace walk opens one component at a time with O_PATH|O_NOFOLLOW
// relative to the previous component's fd, so a component that is swapped
// for a symlink during the walk cannot redirect it either.
package fsroot
