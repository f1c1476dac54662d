//go:build !rktlean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/fetch"
	"github.com/rktfly/rkt/stage0/internal/trust"
)

func runTrust(cmd *cobra.Command, args []string) error {
	if trustFlags.prefix == "" && !trustFlags.root && len(args) == 0 {
		return &exitCodeError{code: exitFailure, err: errors.New("missing --prefix or --root"), usage: true}
	}
	insecureTLS := globalFlags.insecureOptions&insecureTLS != 0
	importer := newTrustImporter(trustFlags, insecureTLS, globalFlags.trustKeysFromHTTPS, os.Stdin, os.Stderr)
	// Key discovery and key URLs get the auth.d headers, as image fetches do.
	auth, err := fetch.LoadAuth(globalFlags.systemConfig, globalFlags.localConfig, globalFlags.userConfig)
	if err != nil {
		return fmt.Errorf("load configuration: %w", err)
	}
	importer.Fetcher.Authorize = auth.SetHeader
	return trustKeys(cmd.Context(), importer, trustFlags, args)
}

// newTrustImporter builds the importer of `rkt trust`. It stores keys in the
// local configuration and prompts for each review on the terminal in.
func newTrustImporter(opts trustOptions, insecureTLS, trustHTTPS bool, in *os.File, out io.Writer) *trust.Importer {
	return &trust.Importer{
		Keystore: &trust.Keystore{
			SystemConfig: globalFlags.systemConfig,
			LocalConfig:  globalFlags.localConfig,
		},
		Fetcher: &trust.KeyFetcher{
			Client:    trust.NewHTTPClient(insecureTLS),
			AllowHTTP: opts.insecureAllowHTTP,
		},
		DiscoverOverHTTP: opts.insecureAllowHTTP,
		SkipReview:       opts.skipFingerprintReview,
		TrustHTTPS:       trustHTTPS,
		Review:           trust.TerminalReview(in, out),
		Out:              out,
	}
}

// trustKeys checks the flag combination and adds the keys.
func trustKeys(ctx context.Context, importer *trust.Importer, opts trustOptions, keys []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch {
	case opts.prefix != "" && opts.root:
		return errors.New("--prefix and --root are mutually exclusive: give one of them")
	case opts.prefix == "" && !opts.root:
		return errors.New("trusting a key for no prefix would be implicit unbounded trust, which is not allowed: pass --prefix=PREFIX, or --root to trust the key for all images")
	case opts.root && len(keys) == 0:
		return errors.New("--root needs a key file or URL: keys can be discovered only for a --prefix")
	case strings.Contains(opts.prefix, "://"):
		return fmt.Errorf("prefix %q contains a URL scheme: give an image name prefix such as example.com/app", opts.prefix)
	}

	if opts.root {
		_, err := importer.AddRootKeys(ctx, keys)
		return err
	}
	_, err := importer.AddPrefixKeys(ctx, opts.prefix, keys)
	return err
}
