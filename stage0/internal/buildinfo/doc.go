// Package buildinfo holds the values that the build records in the rkt
// binary: its version and the defaults chosen by ./configure.
//
// The Makefile sets each variable with
// -ldflags "-X github.com/rktfly/rkt/stage0/internal/buildinfo.NAME=VALUE".
// The initial values in buildinfo.go are what a plain `go build` or `go test` gets.
// They match `./configure --with-stage1-flavors=fly` with the default prefix,
// except that Version has no git hash.
package buildinfo
