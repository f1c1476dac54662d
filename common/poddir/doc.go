// Package poddir builds the paths of rkt's data directory and pod directories
// and reads and writes the pid files that stage1 publishes.
//
// The path helpers take the pod directory p as an absolute path or a path
// relative to the working directory. stage1 runs with its working directory
// set to the pod directory and passes ".". The helpers only join names: they
// do not touch the file system and do not resolve symlinks.
package poddir
