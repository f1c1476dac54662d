package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/store"
	"github.com/rktfly/rkt/stage0/internal/store/aci"
)

var (
	imageExportOverwrite  bool
	imageExtractOverwrite bool
	imageExtractRootfs    bool

	cmdImageExport = &cobra.Command{
		Use:   "export IMAGE OUTPUT_ACI_FILE",
		Short: "Export a stored image as the uncompressed ACI it was imported from",
		Args:  cobra.ExactArgs(2),
		RunE:  runWrapper(runImageExport),
	}

	cmdImageExtract = &cobra.Command{
		Use:   "extract IMAGE OUTPUT_DIR",
		Short: "Extract a stored image, without its dependencies, to a directory",
		Args:  cobra.ExactArgs(2),
		RunE:  runWrapper(runImageExtract),
	}
)

func init() {
	cmdImageExport.Flags().BoolVar(&imageExportOverwrite, "overwrite", false, "replace OUTPUT_ACI_FILE if it exists")
	cmdImageExtract.Flags().BoolVar(&imageExtractOverwrite, "overwrite", false, "replace OUTPUT_DIR if it exists")
	cmdImageExtract.Flags().BoolVar(&imageExtractRootfs, "rootfs-only", false, "extract the root filesystem only, without the manifest")
	cmdImage.AddCommand(cmdImageExport, cmdImageExtract)
}

func runImageExport(cmd *cobra.Command, args []string) error {
	st, key, err := openStoredImage(cmd, args[0])
	if err != nil {
		return err
	}
	defer st.Close()
	if err := exportImage(st, key, args[1], imageExportOverwrite); err != nil {
		return fmt.Errorf("export image %s: %w", key, err)
	}
	return nil
}

// exportImage writes the stored uncompressed tar of image key to out, whose
// SHA-512 is therefore the image ID. The tar goes to a temporary file next
// to out, which is renamed into place only once the whole tar was read and
// its hash checked. Without overwrite, an existing out is an error, also
// when it appears during the export.
func exportImage(st *store.Store, key, out string, overwrite bool) error {
	if _, err := os.Lstat(out); err == nil && !overwrite {
		return fmt.Errorf("%s already exists (use --overwrite to replace it)", out)
	}
	rc, err := st.ImageTar(key)
	if err != nil {
		return err
	}
	defer rc.Close()

	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	if _, err := io.Copy(tmp, rc); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if overwrite {
		if err := os.Rename(tmp.Name(), abs); err != nil {
			return fmt.Errorf("move export into place: %w", err)
		}
	} else {
		// A hard link fails when out exists, where a rename would replace it.
		err := os.Link(tmp.Name(), abs)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists (use --overwrite to replace it)", out)
		}
		if err != nil {
			return fmt.Errorf("move export into place: %w", err)
		}
		os.Remove(tmp.Name())
	}
	committed = true
	return nil
}

func runImageExtract(cmd *cobra.Command, args []string) error {
	st, key, err := openStoredImage(cmd, args[0])
	if err != nil {
		return err
	}
	defer st.Close()
	out := args[1]
	staging, err := prepareOutputDir(out, imageExtractOverwrite)
	if err != nil {
		return fmt.Errorf("extract image %s: %w", key, err)
	}
	defer os.RemoveAll(staging)

	rc, err := st.ImageTar(key)
	if err != nil {
		return fmt.Errorf("extract image %s: %w", key, err)
	}
	_, err = aci.Extract(rc, staging, aci.ExtractOptions{Log: debugLogger(cmd)})
	rc.Close()
	if err != nil {
		return fmt.Errorf("extract image %s: %w", key, err)
	}
	src := staging
	if imageExtractRootfs {
		src = filepath.Join(staging, "rootfs")
	}
	if err := replaceDir(src, out, imageExtractOverwrite); err != nil {
		return fmt.Errorf("extract image %s: %w", key, err)
	}
	return nil
}

// prepareOutputDir checks that out may be written and returns an empty
// staging directory next to it, so that out appears only when complete.
func prepareOutputDir(out string, overwrite bool) (string, error) {
	if _, err := os.Lstat(out); err == nil && !overwrite {
		return "", fmt.Errorf("%s already exists (use --overwrite to replace it)", out)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	return os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
}

// replaceDir renames src to out, first removing out when overwrite is set.
// out gets mode 0755, since the staging directory was made 0700.
func replaceDir(src, out string, overwrite bool) error {
	if err := os.Chmod(src, 0o755); err != nil {
		return err
	}
	if overwrite {
		if err := os.RemoveAll(out); err != nil {
			return fmt.Errorf("remove old %s: %w", out, err)
		}
	}
	if err := os.Rename(src, out); err != nil {
		return fmt.Errorf("move output into place: %w", err)
	}
	return nil
}
