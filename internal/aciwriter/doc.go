// Package aciwriter writes App Container Images (ACIs) from a rootfs
// directory and an image manifest.
//
// An ACI is a tar archive with exactly two top-level entries, "manifest" and
// "rootfs/" (appc spec v0.8.11, "Image Archives"). The archives that Write
// produces depend only on the manifest bytes, the rootfs contents and the
// options: entries come in a fixed order (depth first, names sorted), every
// entry has one modification time, owners are root:root unless Options
// set others, no user or group names are stored, and the gzip header carries no
// file name and no time. Two writes of the same input therefore give the same
// image ID (the SHA-512 of the uncompressed tar, see ImageID).
//
// The package writes regular files, directories, symlinks, FIFOs and device
// nodes with their permission bits, including setuid, setgid and sticky.
// Extended attributes are not written. Sockets are skipped because a tar
// archive cannot hold them.
package aciwriter
