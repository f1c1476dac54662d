// Package cleanup unmounts everything below a pod directory and deletes it
// without ever deleting through a mount point (abi.md 2.13).
//
// fly makes its mounts in the host's mount namespace, and a pod's app rootfs
// has the host's /dev, /proc, /sys and volumes bound into it. A recursive
// delete that crosses one of those mounts deletes host data. So deletion runs
// in three steps: unmount children first (UnmountAll), check mountinfo that
// nothing is left below the pod directory, and then remove files with a
// walker that compares mount IDs and stops at any mount point (RemoveTree).
package cleanup
