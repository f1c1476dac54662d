// Package cleanup unmounts everything below a pod directory and deletes it
// without ever deleting through a mount point.
//
// fly makes its mounts in the host's mount namespace, and a pod's app rootfs
// has the host's /dev, /proc, /sys and volumes bound into it. A recursive
// delete that crosses one of those mounts deletes host data, and an unmount
// of a pod mount whose parent is still shared with a host mount also
// unmounts the host's mount at the same place. So deletion runs in three
// steps. UnmountAll makes each outermost pod mount and everything below it
// private and then detaches it. A check of mountinfo then makes sure that
// nothing is left below the pod directory. Last, RemoveTree removes the files
// with a walker that compares mount IDs and stops at any mount point.
package cleanup
