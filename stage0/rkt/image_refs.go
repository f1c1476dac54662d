package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// podTreeRefs maps each rendered tree ID that a pod references to the pod
// directories that reference it.
type podTreeRefs map[string][]string

// readPodTreeRefs reads the tree IDs that pods in the prepare, prepared, run
// and exited-garbage states reference: their stage1TreeStoreID and every
// appsinfo/*/treeStoreID. It reads the files directly, so it holds no pod
// lock, and a pod that changes state meanwhile may be missed. Callers that
// delete trees hold $D/locks/prepareLock exclusively, which stops new pods
// from being prepared.
func readPodTreeRefs(dataDir string) (podTreeRefs, error) {
	refs := podTreeRefs{}
	states := []string{poddir.StateDirPrepare, poddir.StateDirPrepared, poddir.StateDirRun, poddir.StateDirExitedGarbage}
	for _, state := range states {
		entries, err := os.ReadDir(poddir.StateDir(dataDir, state))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read pods: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			p := poddir.PodDir(dataDir, state, e.Name())
			if err := refs.addPod(p); err != nil {
				return nil, err
			}
		}
	}
	return refs, nil
}

func (r podTreeRefs) addPod(p string) error {
	if err := r.addFile(p, poddir.Stage1TreeStoreIDPath(p)); err != nil {
		return err
	}
	apps, err := os.ReadDir(poddir.AppsInfoDir(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read apps of pod %s: %w", filepath.Base(p), err)
	}
	for _, app := range apps {
		if err := r.addFile(p, poddir.AppInfoTreeStoreIDPath(p, app.Name())); err != nil {
			return err
		}
	}
	return nil
}

// addFile records the tree ID in path. A pod removed or moved meanwhile
// leaves no file, which is not an error.
func (r podTreeRefs) addFile(p, path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read tree reference of pod %s: %w", filepath.Base(p), err)
	}
	if id := strings.TrimSpace(string(data)); id != "" {
		r[id] = append(r[id], p)
	}
	return nil
}

// inState returns the subset of refs that belongs to pods in the state
// directory state.
func (r podTreeRefs) inState(dataDir, state string) podTreeRefs {
	prefix := poddir.StateDir(dataDir, state) + string(filepath.Separator)
	out := podTreeRefs{}
	for id, pods := range r {
		for _, p := range pods {
			if strings.HasPrefix(p, prefix) {
				out[id] = append(out[id], p)
			}
		}
	}
	return out
}

// imageUsedByPods reports whether a pod in the prepare, prepared, run or
// exited-garbage state references the rendered tree of the image key.
func imageUsedByPods(st *store.Store, dataDir, key string) (bool, error) {
	images, err := st.Images()
	if err != nil {
		return false, err
	}
	refs, err := readPodTreeRefs(dataDir)
	if err != nil {
		return false, err
	}
	for _, img := range images {
		if img.Key == key && img.TreeID != "" && len(refs[img.TreeID]) > 0 {
			return true, nil
		}
	}
	return false, nil
}
