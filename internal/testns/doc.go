// Package testns runs a privileged test in its own mount namespace, so that
// the mounts it makes can never reach the host.
//
// A test calls Isolate first:
//
//	func TestBindMountVolume(t *testing.T) {
//		scratch, inside := testns.Isolate(t)
//		if !inside {
//			return
//		}
//		// privileged body, working under scratch
//	}
//
// In the normal test process, Isolate re-executes the test binary for this
// test alone with CLONE_NEWNS and returns inside == false, so the caller
// returns at once. In that child process, / is recursively private (Go's
// unshare makes it so, and Isolate applies MS_REC|MS_SLAVE on top). Isolate
// then replaces /dev with a decoy tmpfs that contains copies of the usual device
// nodes, mounts a fresh sysfs on /sys and returns inside == true. A pod
// rootfs binds /dev, so a test that wrongly deletes through its mounts hits
// the decoy and not the host's device nodes. The child's mounts disappear
// with its namespace when it exits. The parent then removes the scratch
// directory from outside that namespace and checks that the host's /dev/null
// is intact and that no host mount lies under the scratch directory.
//
// Keep every file and mount of the test under scratch. A t.TempDir made in
// the child is removed inside the namespace, where a mount left below it
// would be crossed.
package testns
