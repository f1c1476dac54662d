package main

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/localfetch"
	"github.com/rktfly/rkt/stage0/internal/store"
)

var (
	imageGCGracePeriod time.Duration

	cmdImageGC = &cobra.Command{
		Use:   "gc",
		Short: "Garbage collect unused images and rendered trees",
		Long: `Removes the rendered trees that no pod in the prepare, prepared, run or
exited-garbage state references, then the images not used within the grace
period, except those whose tree a running or exited pod references.`,
		Args: cobra.NoArgs,
		RunE: runWrapper(runImageGC),
	}
)

func init() {
	cmdImageGC.Flags().DurationVar(&imageGCGracePeriod, "grace-period", 24*time.Hour,
		"duration an image is kept after its last use (Go duration, for example 24h0m0s)")
	cmdImage.AddCommand(cmdImageGC)
}

func runImageGC(cmd *cobra.Command, args []string) error {
	st, dir, err := openImageStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	result, err := collectImageGarbage(st, dir, imageGCGracePeriod, time.Now(), imageLogger())
	if err != nil {
		return err
	}
	warn := imageLogger()
	if result.trees > 0 {
		warn.Printf("%d rendered tree(s) removed", result.trees)
	}
	warn.Printf("%d image(s) successfully removed", result.images)
	// Sweep removes what crashed imports and removals left in the store.
	if err := st.Sweep(); err != nil {
		warn.Print(err)
		result.failures++
	}
	// Partial downloads that no fetch has touched for a day are abandoned.
	if err := localfetch.SweepPartialDownloads(poddir.TmpDir(dir), 24*time.Hour); err != nil {
		warn.Print(err)
		result.failures++
	}
	if result.failures > 0 {
		return &exitCodeError{code: exitFailure}
	}
	return nil
}

// imageGCResult counts what collectImageGarbage removed and failed to remove.
type imageGCResult struct {
	trees, images, failures int
}

// collectImageGarbage removes unreferenced trees and then images unused
// since now-grace. It holds $D/locks/prepareLock exclusively throughout, so
// no pod is prepared meanwhile and the references read stay complete.
// Failures on single entries are logged to warn and counted.
func collectImageGarbage(st *store.Store, dataDir string, grace time.Duration, now time.Time, warn *log.Logger) (imageGCResult, error) {
	var result imageGCResult
	if err := os.MkdirAll(poddir.LocksDir(dataDir), poddir.DirMode); err != nil {
		return result, fmt.Errorf("create locks directory: %w", err)
	}
	prepareLock, err := lock.OpenFile(poddir.PrepareLockPath(dataDir))
	if err != nil {
		return result, fmt.Errorf("open prepare lock: %w", err)
	}
	defer prepareLock.Close()
	if err := prepareLock.Exclusive(); err != nil {
		return result, fmt.Errorf("lock prepare lock: %w", err)
	}

	refs, err := readPodTreeRefs(dataDir)
	if err != nil {
		return result, err
	}
	trees, err := st.Trees()
	if err != nil {
		return result, fmt.Errorf("list rendered trees: %w", err)
	}
	for _, id := range trees {
		if len(refs[id]) > 0 {
			continue
		}
		if err := st.RemoveTree(id); err != nil {
			warn.Printf("remove rendered tree %s: %v", id, err)
			result.failures++
			continue
		}
		result.trees++
	}

	images, err := st.Images()
	if err != nil {
		return result, err
	}
	inUse := refs.inState(dataDir, poddir.StateDirRun)
	for _, img := range images {
		if !img.LastUsed.Before(now.Add(-grace)) {
			continue
		}
		if img.TreeID != "" && len(inUse[img.TreeID]) > 0 {
			continue
		}
		if err := st.RemoveImage(img.Key); err != nil {
			warn.Printf("remove image %s: %v", img.Key, err)
			result.failures++
			continue
		}
		warn.Printf("successfully removed aci for image: %q", img.Key)
		result.images++
	}
	return result, nil
}
