package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/internal/aciwriter"
	"github.com/rktfly/rkt/stage0/internal/store"
	"github.com/rktfly/rkt/stage0/internal/store/aci"
)

var (
	imageExportOverwrite  bool
	imageExtractOverwrite bool
	imageExtractRootfs    bool

	cmdImageExport = &cobra.Command{
		Use:   "export IMAGE OUTPUT_ACI_FILE",
		Short: "Export a stored image to an uncompressed ACI file",
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
	st, _, err := openImageStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := resolveStoredImage(st, args[0])
	if err != nil {
		return err
	}

	out := args[1]
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if imageExportOverwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(out, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("export image %s: %s already exists (use --overwrite to replace it)", key, out)
	}
	if err != nil {
		return fmt.Errorf("export image %s: %w", key, err)
	}

	if err := writeStoredACI(st, key, f); err != nil {
		f.Close()
		if rmErr := os.Remove(out); rmErr != nil {
			imageLogger().Printf("remove incomplete %s: %v", out, rmErr)
		}
		return fmt.Errorf("export image %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export image %s: %w", key, err)
	}
	return nil
}

// writeStoredACI writes the stored image key as an uncompressed ACI,
// keeping owners, times and hard links.
//
// NOTE: the store keeps the extracted files, not the original tar, so the
// archive is written again and its SHA-512 can differ from the image ID when
// the original used another entry order or header format.
func writeStoredACI(st *store.Store, key string, w io.Writer) error {
	dir, err := st.ImageDir(key)
	if err != nil {
		return err
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest"))
	if err != nil {
		return fmt.Errorf("read stored manifest: %w", err)
	}
	return aciwriter.Write(w, manifest, filepath.Join(dir, "rootfs"), aciwriter.Options{
		Compression:  aciwriter.None,
		KeepOwners:   true,
		KeepModTimes: true,
		HardLinks:    true,
	})
}

func runImageExtract(cmd *cobra.Command, args []string) error {
	st, _, err := openImageStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := resolveStoredImage(st, args[0])
	if err != nil {
		return err
	}
	out := args[1]
	staging, err := prepareOutputDir(out, imageExtractOverwrite)
	if err != nil {
		return fmt.Errorf("extract image %s: %w", key, err)
	}
	defer os.RemoveAll(staging)

	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeStoredACI(st, key, pw))
	}()
	_, err = aci.Extract(pr, staging, aci.ExtractOptions{Log: debugLogger(cmd)})
	pr.CloseWithError(err)
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
