package abi

// ExitFailure is the exit status of a stage1 entrypoint, or of rkt, that
// fails on its own account.
const ExitFailure = 254

// Environment variables that stage0 sets for the stage1 run entrypoint.
const (
	// EnvLockFd names the decimal fd of the pod directory that holds LOCK_EX.
	EnvLockFd = "RKT_LOCK_FD"
	// EnvSELinuxContext is the process label, possibly empty.
	EnvSELinuxContext = "RKT_SELINUX_CONTEXT"
	// EnvSELinuxMountContext is the mount label, possibly empty.
	EnvSELinuxMountContext = "RKT_SELINUX_MOUNT_CONTEXT"
)

// IPC modes of run --ipc= (interface version 6 and later).
const (
	IPCAuto    = "auto"
	IPCPrivate = "private"
	IPCParent  = "parent"
)
