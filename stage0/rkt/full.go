//go:build !rktlean

package main

import (
	"log"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/store"
)

// This file holds the parts of rkt-full, the rkt built without the rktlean
// tag, that differ from rkt: it does every download, discovery and
// signature check itself and never hands a command over.

// newRunFetcher returns the fetcher of rkt run and prepare, which prints no
// warning per image under --insecure-options=image: the caller prints one.
func newRunFetcher(st *store.Store, dataDir string, opts insecureOptions, warn, debug *log.Logger) (imageFetcher, error) {
	f, err := newFetcherWithLoggers(st, dataDir, opts, warn, debug)
	if err != nil {
		return nil, err
	}
	f.SkipInsecureWarning = true
	return f, nil
}

// preflightImages does nothing in rkt-full, which does every fetch itself.
func preflightImages(*stage1Selector, prepareOptions) error {
	return nil
}

// readsHandedOverFrom is true in rkt-full, which rkt starts with its own
// path in RKT_HANDED_OVER_FROM.
const readsHandedOverFrom = true

// handOver returns ok false: rkt-full serves every command itself.
func handOver(*cobra.Command, error) (code int, ok bool) {
	return 0, false
}
