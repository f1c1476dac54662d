// Package mountplan computes, as data, everything fly's run does to the
// file system before it starts the app, and then applies it.
//
// Compute needs no privileges: it reads the pod manifest, the image
// manifest, the host's mountinfo and the volume sources, and returns a Plan.
// Apply is the only privileged part. It resolves every target inside the
// app rootfs (package fsroot), creates missing targets there, and mounts
// onto the target's fd (/proc/self/fd/N), so that no symlink in the image,
// such as /data -> /etc or /data -> ../../.., can move a mount or a new
// file outside the rootfs, even if the image changes during the run.
//
// The mount order follows rkt's fly: /dev, /proc and /sys,
// each made rshared on the host and then bound recursively; a tmpfs on /tmp;
// the volumes, shallowest target first; and the DNS binds. Every mount is
// made in the host's mount namespace, as fly has no namespace of its own.
package mountplan
