//go:build rktlean

package main

import (
	"context"
	"errors"
	"log"
	"os"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/localfetch"
	"github.com/rktfly/rkt/stage0/internal/store"
	"github.com/rktfly/rkt/stage0/internal/trustedkeys"
)

// This file holds what the rkt binary built with the rktlean tag does in
// place of downloads, discovery and signature checks: it hands the command
// to rkt-full (see handOver). It links no HTTP, TLS or OpenPGP code, so it
// starts faster.

// runFetch hands `rkt fetch` to rkt-full.
func runFetch(*cobra.Command, []string) error {
	return &fullCommandError{command: "rkt fetch"}
}

// runTrust hands `rkt trust` to rkt-full.
func runTrust(*cobra.Command, []string) error {
	return &fullCommandError{command: "rkt trust"}
}

// newRunFetcher returns the fetcher of rkt run and prepare: it serves
// images from the store, imports local files and reuses recorded signature
// checks, and returns a *localfetch.NeedsError for anything else.
//
// NOTE: it reads no auth.d files, because only downloads use them, so an
// invalid auth.d file fails a warm run in rkt-full but not in rkt.
func newRunFetcher(st *store.Store, dataDir string, opts insecureOptions, warn, debug *log.Logger) (imageFetcher, error) {
	keys := trustedkeys.Config{SystemConfig: globalFlags.systemConfig, LocalConfig: globalFlags.localConfig}
	return &localfetch.Fetcher{
		Store:               st,
		TrustState:          keys.State,
		Insecure:            opts.has(insecureImage),
		Stderr:              os.Stderr,
		Warn:                warn,
		Log:                 debug,
		SkipInsecureWarning: true,
		ImageInUse: func(key string) (bool, error) {
			return imageUsedByPods(st, dataDir, key)
		},
	}, nil
}

// preflightImages returns a *localfetch.NeedsError when the stage1 or an app
// image of the pod needs rkt-full. It resolves them in a dry run, which
// writes and prints nothing, so that rkt hands the command over before it
// writes a pod or an image. Any other error is left to the real run, which
// reports it.
func preflightImages(s *stage1Selector, o prepareOptions) error {
	f, err := s.images.imageFetcher()
	if err != nil {
		return err
	}
	dry := *f.(*localfetch.Fetcher)
	dry.DryRun = true

	var needs *localfetch.NeedsError
	if _, err := s.stage1Key(&dry, o.flags.stage1); err != nil {
		if errors.As(err, &needs) {
			return err
		}
		return nil
	}
	if o.flags.podManifest != "" {
		// The images of a --pod-manifest come from the store only.
		return nil
	}
	policy, err := imageref.ParsePullPolicy(s.images.pullPolicy)
	if err != nil {
		return nil
	}
	for _, app := range o.apps.apps {
		req := localfetch.Request{Image: app.Image, Signature: app.Signature, Policy: policy}
		if _, err := dry.Fetch(context.Background(), req); err != nil {
			if errors.As(err, &needs) {
				return err
			}
			return nil
		}
	}
	return nil
}
