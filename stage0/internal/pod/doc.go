// Package pod creates, prepares and runs pods for stage0. It generates the
// pod manifest and lays out the pod directory. At run time it mounts the
// overlay root filesystems, writes the DNS files and executes the stage1 run
// entrypoint with the arguments that its interface version allows.
package pod
