// Package config reads rkt's configuration directories (system, local and
// user) and merges the "paths" and "stage1" kinds that stage0 needs to find
// its data directory and its default stage1 image.
package config
