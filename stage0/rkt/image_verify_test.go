package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/store"
)

func TestReRenderUnusedTreeSkipsUsedTree(t *testing.T) {
	treeID := "deps-sha512-" + strings.Repeat("1", 64)
	podID := "44444444-4444-4444-4444-444444444444"
	states := []string{
		poddir.StateDirPrepare,
		poddir.StateDirPrepared,
		poddir.StateDirRun,
		poddir.StateDirExitedGarbage,
	}
	for _, state := range states {
		t.Run(state, func(t *testing.T) {
			dataDir := t.TempDir()
			st, err := store.Open(filepath.Join(dataDir, "cas"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			pod := poddir.PodDir(dataDir, state, podID)
			path := poddir.AppInfoTreeStoreIDPath(pod, "app")
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(treeID), 0o640); err != nil {
				t.Fatal(err)
			}

			err = reRenderUnusedTree(st, dataDir, treeID)
			if !errors.Is(err, errTreeInUse) {
				t.Fatalf("reRenderUnusedTree = %v, want errTreeInUse", err)
			}
			for _, want := range []string{treeID, podID, "rkt gc"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestReRenderUnusedTreeIgnoresGarbagePod(t *testing.T) {
	treeID := "deps-sha512-" + strings.Repeat("2", 64)
	dataDir := t.TempDir()
	st, err := store.Open(filepath.Join(dataDir, "cas"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A pod in garbage/ only waits for deletion and no app runs from it, so
	// readPodTreeRefs does not count it.
	pod := poddir.PodDir(dataDir, poddir.StateDirGarbage, "55555555-5555-5555-5555-555555555555")
	path := poddir.Stage1TreeStoreIDPath(pod)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(treeID), 0o640); err != nil {
		t.Fatal(err)
	}

	// The tree is not in the store, so reaching the store shows up as
	// ErrTreeNotFound.
	err = reRenderUnusedTree(st, dataDir, treeID)
	if !errors.Is(err, store.ErrTreeNotFound) {
		t.Errorf("reRenderUnusedTree = %v, want store.ErrTreeNotFound", err)
	}
}
