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
//
// Because of that order, the rootfs copies of /dev, /proc, /sys and their
// submounts (such as /dev/shm) are peers of the host's mounts, and so is a
// volume whose source is a host mount point or lies in a shared mount. A
// mount made inside such a copy would also appear on the host: a volume at
// /dev would cover the host's /dev. Before each bind or tmpfs mount, Apply
// looks up the mount that contains the open target (statx STATX_MNT_ID).
// If that mount lies strictly inside the rootfs and a mount event in it
// reaches a mount outside the pod directory (a peer, a slave of its peer
// group, or further along the chain), Apply decides as follows:
//
//   - A copy of the host's /dev, /proc or /sys, or of one of their
//     submounts, always becomes a slave (MS_SLAVE, not recursive) first.
//   - A user volume whose target lies, at its literal path, inside another
//     user volume's shared copy leaves that copy shared, as in rkt's fly,
//     because the operator set up both volumes. The nested bind then also
//     appears on the host, at the matching path below the outer volume's
//     source, and so do the app's later mounts in the outer volume. A
//     kubelet relies on the latter for its pod secrets and volumes.
//   - The stage1's own mounts (the /tmp tmpfs, the DNS binds, an implicit
//     empty volume for an image mount point) and any mount whose target an
//     image symlink redirected (the resolved path differs from the cleaned
//     literal one) make a shared user volume copy a slave too, so that an
//     image cannot place a mount over a host directory.
//
// A slave still receives the host's mount events, and the new mount stays
// in the pod. The app's own mounts inside that one mount no longer reach
// the host, while its mounts anywhere else under /dev, /proc, /sys or a
// shared volume still do, as in rkt's fly. --debug logs each decision.
// Apply never changes a mount at or above the rootfs, and it reads
// mountinfo only for a target outside the rootfs's own mount. Op.Within
// shows in the plan which earlier mount a target lies in, as far as paths
// tell, but a symlink in the image can move a target, so the decision is
// made on the live mount table.
//
// Unlike rkt's fly, Apply creates no missing mount target inside its binds
// of the host's /dev, /proc and /sys, or inside the submounts they copied,
// because such a file or directory would be created in the host's own tree
// (on a cgroup file system, a new directory is a new cgroup). It checks the
// mount of each directory it would create in (statx STATX_MNT_ID) and
// fails with a message that names the target instead. An existing target
// there, such as /dev/shm, is still mounted on. The DNS files are written
// before any mount, so they land in the image's own directories.
package mountplan
