package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/podstate"
)

var (
	cmdExport = &cobra.Command{
		Use:   "export [--app=NAME] [--overwrite] UUID OUTPUT_ACI_FILE",
		Short: "Export an app from an exited pod to an ACI file",
		Long: "Export the root filesystem of one app of an exited pod, with the changes the app made, " +
			"to a gzip-compressed ACI file whose manifest is the app's image manifest.",
		Args: cobra.ExactArgs(2),
		RunE: runWrapper(runExport),
	}
	flagExportApp       string
	flagExportOverwrite bool
)

func init() {
	cmdRkt.AddCommand(cmdExport)
	cmdExport.Flags().StringVar(&flagExportApp, "app", "", "name of the app to export (required when the pod has more than one app)")
	cmdExport.Flags().BoolVar(&flagExportOverwrite, "overwrite", false, "replace OUTPUT_ACI_FILE if it exists")
}

func runExport(cmd *cobra.Command, args []string) error {
	prefix, out := args[0], args[1]
	if filepath.Ext(out) != ".aci" {
		return fmt.Errorf("output file %q must have the .aci extension", out)
	}
	if _, err := os.Lstat(out); err == nil && !flagExportOverwrite {
		return errors.New("target file exists (try --overwrite)")
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	p, err := podstate.GetByPrefix(dir, prefix)
	if err != nil {
		return fmt.Errorf("unable to resolve UUID: %w", err)
	}

	// The archive is written to a temporary file next to out and renamed at
	// the end, so out never holds a partial archive.
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return fmt.Errorf("create output file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			if err := os.Remove(tmp.Name()); err != nil {
				warnLogger(cmd).Printf("remove incomplete %s: %v", tmp.Name(), err)
			}
		}
	}()

	if err := p.ExportApp(tmp, podstate.ExportOptions{App: flagExportApp, Log: debugLogger(cmd)}); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := renameOutput(tmp.Name(), abs, flagExportOverwrite); err != nil {
		return err
	}
	committed = true
	return nil
}

// renameOutput moves the finished archive to out. Without overwrite, it
// links instead of renaming, because link(2) fails if out appeared while the
// archive was written, where rename(2) would replace it.
func renameOutput(from, out string, overwrite bool) error {
	if overwrite {
		if err := os.Rename(from, out); err != nil {
			return fmt.Errorf("move output into place: %w", err)
		}
		return nil
	}
	err := os.Link(from, out)
	if errors.Is(err, fs.ErrExist) {
		return errors.New("target file exists (try --overwrite)")
	}
	if err != nil {
		return fmt.Errorf("move output into place: %w", err)
	}
	return os.Remove(from)
}
