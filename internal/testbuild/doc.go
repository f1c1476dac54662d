// Package testbuild locates the built artefacts that the functional tests
// run: the rkt and rkt-full binaries, stage1-fly.aci and the test images under
// build-rkt-VERSION/.
package testbuild
