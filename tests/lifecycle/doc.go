// Package lifecycle holds functional tests of the pod lifecycle commands
// (list, status, enter, stop, rm, gc, cat-manifest, export) that run the built rkt
// and stage1-fly.aci as root, each test in its own private mount namespace.
package lifecycle
