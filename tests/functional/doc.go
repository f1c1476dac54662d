// Package functional runs the built rkt binary as root against the built
// stage1-fly.aci and test images: rkt run, prepare and run-prepared end to
// end. Each test runs in its own mount namespace (internal/testns) with a
// scratch data directory and local configuration directory, never the
// default /var/lib/rkt or /etc/rkt.
package functional
