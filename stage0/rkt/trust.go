package main

import (
	"github.com/spf13/cobra"
)

// trustOptions are the flags of `rkt trust`.
type trustOptions struct {
	prefix                string
	root                  bool
	skipFingerprintReview bool
	insecureAllowHTTP     bool
}

var (
	trustFlags trustOptions

	cmdTrust = &cobra.Command{
		Use:   "trust [--prefix=PREFIX | --root] [--skip-fingerprint-review] [--insecure-allow-http] [KEY_FILE_OR_URL...]",
		Short: "Trust a key for image verification",
		Long: `Adds the OpenPGP public keys to the trusted keys of the local configuration
(--local-config), for the image names under PREFIX or, with --root, for all images.
Each KEY is a file path or an https:// URL. Without KEY the keys are found through
the ac-discovery-pubkeys meta tag of the prefix. Each key's fingerprint is shown and
must be confirmed on a terminal unless --skip-fingerprint-review is given.`,
		Args: cobra.ArbitraryArgs,
		RunE: runWrapper(runTrust),
	}
)

func init() {
	flags := cmdTrust.Flags()
	flags.StringVar(&trustFlags.prefix, "prefix", "", "image name prefix the keys are trusted for")
	flags.BoolVar(&trustFlags.root, "root", false, "trust the keys for all images (needs a KEY)")
	flags.BoolVar(&trustFlags.skipFingerprintReview, "skip-fingerprint-review", false, "trust the keys without asking to confirm their fingerprints")
	flags.BoolVar(&trustFlags.insecureAllowHTTP, "insecure-allow-http", false, "allow http:// key URLs and plain http discovery")
	cmdRkt.AddCommand(cmdTrust)
}
