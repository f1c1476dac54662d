// Package store is the content-addressed image store of stage0.
//
// Layout below the store directory ($D/cas):
//
//	index.db               bbolt index: images, file stat cache, trees
//	image/<key>/           an image's own files: manifest and rootfs/
//	tree/<treeID>/         rendered trees: rootfs/, manifest, image, rendered
//	locks/                 flock files, one per image key and per tree ID
//	tmp/                   staging directories and directories being removed
//
// An image is extracted into a staging directory under tmp/ and renamed to
// image/<key> when whole; only then is it recorded in the index. A rendered
// tree hard-links the files of its images, so it is built in time
// proportional to the number of files, not their size, and stays valid after
// its images are removed.
package store
