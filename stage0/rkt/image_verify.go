package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/store"
)

var cmdImageVerify = &cobra.Command{
	Use:   "verify IMAGE...",
	Short: "Verify stored images and repair their rendered trees",
	Long: `Checks each IMAGE: its stored tar must hash to its image ID, and its rendered
tree must hash to the value recorded when it was rendered. A tree that fails
is rendered again from the image, unless a pod uses it: prepared, running and
exited pods keep the tree in use until rkt gc or rkt rm deletes them. Such a
tree is reported and skipped. An image without a rendered tree is reported
and its tree is skipped.

Prints one line per image on stdout: "<image ID>: verified" or
"<image ID>: repaired", followed by the signers when a signature check of the
image was recorded. Problems go to stderr and make the exit status 254.`,
	Args: cobra.MinimumNArgs(1),
	RunE: runWrapper(runImageVerify),
}

func init() {
	cmdImage.AddCommand(cmdImageVerify)
}

func runImageVerify(cmd *cobra.Command, args []string) error {
	st, dir, err := openImageStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	images, err := st.Images()
	if err != nil {
		return err
	}
	trees := make(map[string]string, len(images))
	for _, img := range images {
		trees[img.Key] = img.TreeID
	}

	warn := imageLogger()
	failed := 0
	for _, arg := range args {
		key, err := resolveStoredImage(st, arg)
		if err != nil {
			warn.Print(err)
			failed++
			continue
		}
		result, err := verifyImage(st, dir, key, trees[key], warn)
		if err != nil {
			warn.Print(err)
			failed++
			continue
		}
		line := fmt.Sprintf("%s: %s", key, result)
		if rec, err := st.Signature(key); err == nil && len(rec.Signers) > 0 {
			line += fmt.Sprintf(" (signed by %s)", strings.Join(rec.Signers, ", "))
		}
		stdout.Print(line)
	}
	if failed > 0 {
		return &exitCodeError{code: exitFailure}
	}
	return nil
}

// verifyImage checks the blob of image key and its rendered tree treeID,
// re-rendering a corrupt tree that no pod uses. It returns
// "verified" or "repaired".
func verifyImage(st *store.Store, dataDir, key, treeID string, warn *log.Logger) (string, error) {
	if err := st.VerifyImage(key); err != nil {
		return "", fmt.Errorf("image %s is damaged (remove it with rkt image rm and fetch it again): %w", key, err)
	}
	if treeID == "" {
		warn.Printf("image %s has no rendered tree, only its stored tar was verified", key)
		return "verified", nil
	}

	err := st.VerifyTree(treeID)
	switch {
	case err == nil:
		return "verified", nil
	case errors.Is(err, store.ErrTreeNotFound):
		warn.Printf("image %s: rendered tree %s is missing, only its stored tar was verified", key, treeID)
		return "verified", nil
	case !errors.Is(err, store.ErrTreeCorrupt):
		return "", fmt.Errorf("image %s: %w", key, err)
	}

	warn.Printf("image %s: %v", key, err)
	if err := reRenderUnusedTree(st, dataDir, treeID); err != nil {
		return "", fmt.Errorf("image %s: %w", key, err)
	}
	return "repaired", nil
}

// errTreeInUse is returned, wrapped, when a corrupt tree is not re-rendered
// because a pod references it.
var errTreeInUse = errors.New("corrupt tree not re-rendered")

// reRenderUnusedTree re-renders treeID unless a pod in the prepare, prepared,
// run or exited-garbage state references it. An exited pod may still have
// its overlay mounted on the tree, so replacing the tree's files would change
// the lower layer under that mount. It holds $D/locks/prepareLock
// exclusively, so that no pod is prepared from the tree while its files are
// replaced.
func reRenderUnusedTree(st *store.Store, dataDir, treeID string) error {
	if err := os.MkdirAll(poddir.LocksDir(dataDir), poddir.DirMode); err != nil {
		return fmt.Errorf("create locks directory: %w", err)
	}
	prepareLock, err := lock.OpenFile(poddir.PrepareLockPath(dataDir))
	if err != nil {
		return fmt.Errorf("open prepare lock: %w", err)
	}
	defer prepareLock.Close()
	if err := prepareLock.Exclusive(); err != nil {
		return fmt.Errorf("lock prepare lock: %w", err)
	}

	refs, err := readPodTreeRefs(dataDir)
	if err != nil {
		return err
	}
	if pods := refs[treeID]; len(pods) > 0 {
		return fmt.Errorf("%w: tree %s is used by pod(s) %s: run rkt gc first (stop running pods before it, or delete exited pods at once with rkt rm), then run rkt image verify again",
			errTreeInUse, treeID, podNames(pods))
	}
	if err := st.ReRenderTree(treeID); err != nil {
		return err
	}
	return nil
}

// podNames returns the UUIDs of pod directories, comma-separated.
func podNames(dirs []string) string {
	names := make([]string, len(dirs))
	for i, d := range dirs {
		names[i] = filepath.Base(d)
	}
	return strings.Join(names, ", ")
}
