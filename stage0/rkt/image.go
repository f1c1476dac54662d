package main

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// cmdImage groups the image store subcommands.
var cmdImage = &cobra.Command{
	Use:   "image [command]",
	Short: "Operate on images in the local image store",
	RunE: func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			// cobra passes an unknown subcommand name of a non-root command
			// as an argument. Report it as rkt reports an unknown command.
			return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
		}
		return &exitCodeError{code: exitFailure, err: errors.New("missing image subcommand"), usage: true}
	},
}

func init() {
	cmdRkt.AddCommand(cmdImage)
}

// imageLogger returns the logger of the image subcommands' notices, which
// carry the top-level subcommand as prefix, "image: ".
func imageLogger() *log.Logger {
	return log.New(os.Stderr, "image: ", 0)
}

// openStoredImage opens the image store and resolves arg, an image argument
// of the image subcommands, to its store key. The caller closes the store.
func openStoredImage(cmd *cobra.Command, arg string) (*store.Store, string, error) {
	st, _, err := openImageStore(cmd)
	if err != nil {
		return nil, "", err
	}
	key, err := resolveStoredImage(st, arg)
	if err != nil {
		st.Close()
		return nil, "", err
	}
	return st, key, nil
}

// resolveStoredImage returns the store key of an image argument of the image
// subcommands: an image ID (a unique prefix of at least "sha512-" and two hex
// digits) or a name "name[:version][,label=value…]" matched in the store.
// Nothing is downloaded.
func resolveStoredImage(st *store.Store, arg string) (string, error) {
	if imageref.IsHash(arg) {
		if len(arg) < len("sha512-")+2 {
			return "", fmt.Errorf("image ID %q is too short: give at least sha512- and two hex digits", arg)
		}
		key, err := st.ResolveKey(arg)
		if err != nil {
			return "", fmt.Errorf("image %q: %w", arg, err)
		}
		return key, nil
	}
	app, err := imageref.ParseApp(arg)
	if err != nil {
		return "", fmt.Errorf("invalid image %q: %w", arg, err)
	}
	key, err := st.FindByName(app.Name.String(), app.LabelList())
	if err != nil {
		return "", fmt.Errorf("image %q: %w", arg, err)
	}
	return key, nil
}
