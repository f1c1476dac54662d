package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/store"
)

var cmdImageRm = &cobra.Command{
	Use:   "rm IMAGE...",
	Short: "Remove images from the local image store",
	Long: `Removes each IMAGE, given as an image ID (or a unique prefix of at least
sha512- and two hex digits) or a name, from the image store. An image whose
rendered tree a pod still references is not removed.`,
	Args: cobra.MinimumNArgs(1),
	RunE: runWrapper(runImageRm),
}

func init() {
	cmdImage.AddCommand(cmdImageRm)
}

func runImageRm(cmd *cobra.Command, args []string) error {
	st, dir, err := openImageStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	refs, err := readPodTreeRefs(dir)
	if err != nil {
		return err
	}
	images, err := st.Images()
	if err != nil {
		return err
	}

	warn := imageLogger()
	removed, failed := 0, 0
	for _, arg := range args {
		key, err := removeStoredImage(st, arg, images, refs)
		if err != nil {
			warn.Print(err)
			failed++
			continue
		}
		warn.Printf("successfully removed aci for image: %q", key)
		removed++
	}

	if removed > 0 {
		warn.Printf("%d image(s) successfully removed", removed)
	}
	if failed > 0 {
		return &exitCodeError{code: exitFailure}
	}
	return nil
}

func removeStoredImage(st *store.Store, arg string, images []store.ImageInfo, refs podTreeRefs) (string, error) {
	key, err := resolveStoredImage(st, arg)
	if err != nil {
		return "", err
	}
	for _, img := range images {
		if img.Key != key || img.TreeID == "" {
			continue
		}
		if pods := refs[img.TreeID]; len(pods) > 0 {
			return "", fmt.Errorf("image %s is used by pod %s: remove the pod first (rkt rm) or run rkt gc", key, filepath.Base(pods[0]))
		}
	}
	if err := st.RemoveImage(key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("image %q: %w", arg, err)
		}
		return "", err
	}
	return key, nil
}
