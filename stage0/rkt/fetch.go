package main

import (
	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/store"
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
