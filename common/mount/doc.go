// Package mount wraps mount(2) and umount(2) in functions named by their
// effect (BindMount, RemountReadOnly, MakeRShared, ...) and reports every
// failure as one *MountError that names the operation, the source, the
// target, the filesystem type, the flags (by name, such as MS_BIND|MS_REC)
// and the data.
//
// To mount onto a target that was opened inside a root (see package
// fsroot), pass FdPath(f) as the target: the kernel then mounts onto the
// file the fd refers to, and a symlink swapped into the path after the
// lookup cannot redirect the mount.
package mount
