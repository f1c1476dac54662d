package main

import (
	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/podstate"
)

var (
	cmdCatManifest = &cobra.Command{
		Use:   "cat-manifest --uuid-file=FILE | UUID",
		Short: "Inspect and print the pod manifest",
		RunE:  runWrapper(runCatManifest),
	}
	flagCatManifestPretty   bool
	flagCatManifestUUIDFile string
)

func init() {
	cmdRkt.AddCommand(cmdCatManifest)
	cmdCatManifest.Flags().BoolVar(&flagCatManifestPretty, "pretty-print", true, "apply indent to format the output")
	cmdCatManifest.Flags().StringVar(&flagCatManifestUUIDFile, "uuid-file", "", "read pod UUID from file instead of argument")
}

func runCatManifest(cmd *cobra.Command, args []string) error {
	prefix, err := onePodUUIDArg(args, flagCatManifestUUIDFile)
	if err != nil {
		return err
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	p, err := podstate.GetByPrefix(dir, prefix)
	if err != nil {
		return err
	}
	manifest, err := p.Manifest()
	if err != nil {
		return err
	}
	format := formatJSON
	if flagCatManifestPretty {
		format = formatJSONPretty
	}
	return printJSON(manifest, format)
}
