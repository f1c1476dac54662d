//go:build !rktlean

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/fetch"
	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
	"github.com/rktfly/rkt/stage0/internal/trust"
)

func runFetch(cmd *cobra.Command, args []string) error {
	if cmd.ArgsLenAtDash() >= 0 {
		return &exitCodeError{code: exitFailure, err: errors.New("app arguments (after --) are not allowed with fetch"), usage: true}
	}
	policy, err := imageref.ParsePullPolicy(fetchFlags.pullPolicy)
	if err != nil {
		return err
	}
	if fetchFlags.signature != "" && len(args) > 1 {
		return errors.New("--signature can be used with one image only")
	}

	st, dir, err := openImageStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	fetcher, err := newImageFetcher(cmd, st, dir)
	if err != nil {
		return err
	}

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	for _, img := range args {
		key, err := fetcher.Fetch(ctx, fetch.Request{Image: img, Signature: fetchFlags.signature, Policy: policy})
		if err != nil {
			return err
		}
		stdout.Print(shortImageID(key, fetchFlags.full, 32))
	}
	return nil
}

// newImageFetcher returns the fetcher of rkt fetch, configured from the
// global flags, with notices prefixed by the subcommand name.
func newImageFetcher(cmd *cobra.Command, st *store.Store, dataDir string) (*fetch.Fetcher, error) {
	return newFetcherWithLoggers(st, dataDir, globalFlags.insecureOptions, warnLogger(cmd), debugLogger(cmd))
}

// newFetcherWithLoggers returns the fetcher that rkt fetch, run and prepare
// use to resolve image arguments and stage1 images: insecure options,
// auth.d headers, the trusted-key store and key discovery.
func newFetcherWithLoggers(st *store.Store, dataDir string, opts insecureOptions, warn, debug *log.Logger) (*fetch.Fetcher, error) {
	auth, err := fetch.LoadAuth(globalFlags.systemConfig, globalFlags.localConfig, globalFlags.userConfig)
	if err != nil {
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	keystore := &trust.Keystore{SystemConfig: globalFlags.systemConfig, LocalConfig: globalFlags.localConfig}
	f := &fetch.Fetcher{
		Store:    st,
		Verifier: keystore,
		Insecure: fetch.InsecureOptions{
			Image:  opts.has(insecureImage),
			TLS:    opts.has(insecureTLS),
			HTTP:   opts.has(insecureHTTP),
			PubKey: opts.has(insecurePubKey),
		},
		Auth:   auth,
		TmpDir: poddir.TmpDir(dataDir),
		Stderr: os.Stderr,
		Warn:   warn,
		Log:    debug,
	}
	// Keys are discovered for image names unless TLS checks are off without
	// the pubkey option, as in rkt.
	if !f.Insecure.TLS || f.Insecure.PubKey {
		importer := newTrustImporter(trustOptions{insecureAllowHTTP: f.Insecure.PubKey && f.Insecure.HTTP},
			f.Insecure.TLS, globalFlags.trustKeysFromHTTPS, os.Stdin, os.Stderr)
		importer.Keystore = keystore
		// Key discovery falls back to plain http under
		// --insecure-options=http, as image discovery does, while the key
		// URLs themselves need both http and pubkey.
		importer.DiscoverOverHTTP = f.Insecure.HTTP
		importer.Fetcher.Authorize = auth.SetHeader
		f.DiscoverKeys = func(ctx context.Context, name string) error {
			_, err := importer.DiscoverImageKeys(ctx, name)
			return err
		}
	}
	// A failed check removes an image this fetch imported, but never one
	// that a pod uses.
	f.ImageInUse = func(key string) (bool, error) {
		return imageUsedByPods(st, dataDir, key)
	}
	return f, nil
}
