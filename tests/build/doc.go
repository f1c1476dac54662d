// Package build holds the tests of the build itself: they check the
// artefacts that `make` writes to build-rkt-VERSION/ (stage1-fly.aci, the
// test images, the version compiled into rkt) and the behaviour of
// ./configure and scripts/build-stage1. Run them after make, for example
// with make check; internal/testbuild finds the build directory.
package build
