// Package store is the content-addressed image store of stage0.
//
// Layout below the store directory ($D/cas):
//
//	index.db               bbolt index: images, file stat cache, trees
//	image/<key>/           an image: manifest, rootfs/ and blob
//	tree/<treeID>/         rendered trees: rootfs/, manifest, image, hash, rendered
//	locks/                 flock files, one per image key and per tree ID
//	tmp/                   staging directories and directories being removed
//
// An image is read once: it is decompressed, hashed and extracted into a
// staging directory under tmp/ while the input bytes, compressed or not, are
// copied to its blob. The staging directory is renamed to image/<key> when
// whole, and only then is the image recorded in the index. The blob is
// fsynced, the extracted files are not. ImageTar decompresses the blob again
// for export and checks its SHA-512 against the key.
//
// A rendered tree hard-links the files of its images, so it is built in time
// proportional to the number of files, not their size, and stays valid after
// its images are removed. Its hash file holds a SHA-256 over the paths,
// types, modes, owners, xattrs, sizes, link targets and contents of its
// rootfs, computed once at render time. A cached tree is reused after a stat
// of its rendered marker, without hashing.
//
// Images are hashed only when imported, not again when rendered as a
// dependency. A render links the extracted files, not the blob, so hashing
// the blob then would not check what the tree receives. VerifyImage re-hashes
// a blob and VerifyTree a rendered rootfs. ReRenderTree extracts each image of
// a tree again from its blob, checking every key, before it renders the tree
// anew: a tree file changed in place is also changed in its image, because
// both are the same inode.
//
// A crash between moving an image into place and recording it leaves an
// unrecorded image directory. The next import of the same key replaces it,
// and Sweep, which image gc calls, removes all of them. Every import that
// reads an image first removes the stale staging directories under tmp/,
// which a killed import, render or removal leaves.
package store
