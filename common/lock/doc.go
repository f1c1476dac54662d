// Package lock implements rkt's lock protocol: flock(2) on an fd
// of a pod directory, or of a regular file such as $D/locks/prepareLock.
//
// A flock belongs to the open file description, so a Lock survives a rename
// of its directory and is inherited across fork and exec while the fd stays
// open. Two Locks opened separately on the same path conflict with each other
// even in one process. A Lock has no finalizer: its fd, and with it the lock,
// stays open until Close or process exit.
package lock
