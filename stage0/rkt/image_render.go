package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

var (
	imageRenderOverwrite   bool
	imageRenderRootfs      bool
	imageCatManifestPretty bool

	cmdImageRender = &cobra.Command{
		Use:   "render IMAGE OUTPUT_DIR",
		Short: "Render a stored image with its dependencies to a directory",
		Args:  cobra.ExactArgs(2),
		RunE:  runWrapper(runImageRender),
	}

	cmdImageCatManifest = &cobra.Command{
		Use:   "cat-manifest IMAGE",
		Short: "Print the manifest of a stored image",
		Args:  cobra.ExactArgs(1),
		RunE:  runWrapper(runImageCatManifest),
	}
)

func init() {
	cmdImageRender.Flags().BoolVar(&imageRenderOverwrite, "overwrite", false, "replace OUTPUT_DIR if it exists")
	cmdImageRender.Flags().BoolVar(&imageRenderRootfs, "rootfs-only", false, "render the root filesystem only, without the manifest")
	cmdImageCatManifest.Flags().BoolVar(&imageCatManifestPretty, "pretty-print", true, "indent the JSON output")
	cmdImage.AddCommand(cmdImageRender, cmdImageCatManifest)
}

func runImageRender(cmd *cobra.Command, args []string) error {
	st, key, err := openStoredImage(cmd, args[0])
	if err != nil {
		return err
	}
	defer st.Close()
	treeID, err := st.RenderTree(key)
	if err != nil {
		return fmt.Errorf("render image %s: %w", key, err)
	}
	out := args[1]
	staging, err := prepareOutputDir(out, imageRenderOverwrite)
	if err != nil {
		return fmt.Errorf("render image %s: %w", key, err)
	}
	defer os.RemoveAll(staging)

	rootfs := staging
	if !imageRenderRootfs {
		rootfs = filepath.Join(staging, "rootfs")
		m, err := st.ImageManifest(key)
		if err != nil {
			return fmt.Errorf("render image %s: %w", key, err)
		}
		data, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("render image %s: encode manifest: %w", key, err)
		}
		// rkt writes the rendered manifest with mode 0700.
		if err := os.WriteFile(filepath.Join(staging, "manifest"), data, 0o700); err != nil {
			return fmt.Errorf("render image %s: %w", key, err)
		}
	}
	if err := st.CopyTree(treeID, rootfs); err != nil {
		return fmt.Errorf("render image %s: %w", key, err)
	}
	if err := replaceDir(staging, out, imageRenderOverwrite); err != nil {
		return fmt.Errorf("render image %s: %w", key, err)
	}
	return nil
}

func runImageCatManifest(cmd *cobra.Command, args []string) error {
	st, key, err := openStoredImage(cmd, args[0])
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := st.ImageManifest(key)
	if err != nil {
		return err
	}
	var data []byte
	if imageCatManifestPretty {
		data, err = json.MarshalIndent(m, "", "\t")
	} else {
		data, err = json.Marshal(m)
	}
	if err != nil {
		return fmt.Errorf("encode manifest of %s: %w", key, err)
	}
	stdout.Print(string(data))
	return nil
}
