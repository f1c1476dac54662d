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
	"github.com/rktfly/rkt/stage0/internal/store"
	"github.com/rktfly/rkt/stage0/internal/trust"
)

// fetchOptions are the flags of `rkt fetch`.
type fetchOptions struct {
	full       bool
	signature  string
	pullPolicy string
}

var (
	fetchFlags fetchOptions

	cmdFetch = &cobra.Command{
		Use:   "fetch IMAGE_URL_OR_NAME...",
		Short: "Fetch images into the local image store",
		Long: `Fetches each IMAGE into the image store, with its dependencies, and prints its
image ID. An IMAGE is a file path, a file://, http:// or https:// URL of an ACI,
an image ID, or an image name such as example.com/app:1.0, found through appc
discovery. Signatures are checked unless --insecure-options=image is given.`,
		Args: cobra.MinimumNArgs(1),
		RunE: runWrapper(runFetch),
	}

	// cmdImageFetch is `rkt image fetch`, a hidden alias of `rkt fetch`.
	cmdImageFetch = &cobra.Command{
		Use:    cmdFetch.Use,
		Short:  cmdFetch.Short,
		Long:   cmdFetch.Long,
		Args:   cmdFetch.Args,
		Hidden: true,
		RunE:   runWrapper(runFetch),
	}
)

func init() {
	for _, cmd := range []*cobra.Command{cmdFetch, cmdImageFetch} {
		flags := cmd.Flags()
		flags.BoolVar(&fetchFlags.full, "full", false, "print the full image ID (sha512- and 64 hex digits)")
		flags.StringVar(&fetchFlags.signature, "signature", "", "local detached signature file of the image (with one IMAGE only)")
		flags.StringVar(&fetchFlags.pullPolicy, "pull-policy", "update", "when to download: never (store only), new (if not in the store) or update (unless unchanged)")
	}
	cmdRkt.AddCommand(cmdFetch)
	cmdImage.AddCommand(cmdImageFetch)
}

func runFetch(cmd *cobra.Command, args []string) error {
	if cmd.ArgsLenAtDash() >= 0 {
		return &exitCodeError{code: exitFailure, err: errors.New("app arguments (after --) are not allowed with fetch"), usage: true}
	}
	policy, err := fetch.ParsePullPolicy(fetchFlags.pullPolicy)
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

// shortImageID returns "sha512-" and the first digits hex digits of key,
// or the whole key when full is set.
func shortImageID(key string, full bool, digits int) string {
	n := len("sha512-") + digits
	if full || len(key) <= n {
		return key
	}
	return key[:n]
}

// openImageStore opens the image store of the data directory and returns it
// with the data directory.
func openImageStore(cmd *cobra.Command) (*store.Store, string, error) {
	dir, err := dataDir()
	if err != nil {
		return nil, "", err
	}
	st, err := store.Open(poddir.CASDir(dir), store.Options{Log: debugLogger(cmd)})
	if err != nil {
		return nil, "", err
	}
	return st, dir, nil
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
