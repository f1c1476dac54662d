package pod

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rktfly/rkt/common/poddir"
)

// TreeStore is the part of the image store that pods use: rendered trees.
type TreeStore interface {
	TreeDir(treeID string) string
	TreeRootfs(treeID string) string
	CopyTree(treeID, dst string) error
}

// PreparedApp names an app of the pod manifest and the rendered tree of its
// image.
type PreparedApp struct {
	Name   string
	Key    string
	TreeID string
}

// PrepareConfig is the input of Prepare.
type PrepareConfig struct {
	Store        TreeStore
	Stage1TreeID string
	Apps         []PreparedApp
	// Manifest is the pod manifest as written to $P/pod.
	Manifest []byte
	// UseOverlay selects overlay mode; otherwise the trees are copied.
	UseOverlay bool
}

// Prepare lays out the directory of a pod in the prepare state. It writes
// the stage1 and app image manifests and tree IDs, copies the root
// filesystems in copy mode, and then writes pod.lck, pod, pod-created and,
// in overlay mode, overlay-prepared. The caller holds $D/locks/prepareLock
// shared, so that image gc cannot remove the trees meanwhile.
func (p *Pod) Prepare(cfg PrepareConfig) error {
	dir := p.Path()
	if err := os.Mkdir(poddir.AppsInfoDir(dir), poddir.DirMode); err != nil {
		return fmt.Errorf("prepare pod %s: %w", p.UUID, err)
	}

	if err := p.prepareStage1(cfg); err != nil {
		return fmt.Errorf("prepare stage1 of pod %s: %w", p.UUID, err)
	}
	for _, app := range cfg.Apps {
		if err := p.prepareApp(cfg, app); err != nil {
			return fmt.Errorf("prepare app %q of pod %s: %w", app.Name, p.UUID, err)
		}
	}

	files := []podFile{
		{path: poddir.PodLockPath(dir), mode: poddir.PodLockFileMode},
		{path: poddir.PodManifestPath(dir), data: cfg.Manifest, mode: poddir.PodFileMode},
		// pod-created comes after pod: its mtime is the pod's creation time.
		{path: poddir.PodCreatedPath(dir), mode: poddir.PodFileMode},
	}
	if cfg.UseOverlay {
		files = append(files, podFile{path: poddir.OverlayPreparedPath(dir), mode: poddir.PodFileMode})
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("prepare pod %s: %w", p.UUID, err)
		}
	}
	return nil
}

// podFile is a file that Prepare writes into the pod directory.
type podFile struct {
	path string
	data []byte
	mode os.FileMode
}

func (p *Pod) prepareStage1(cfg PrepareConfig) error {
	dir := p.Path()
	err := os.WriteFile(poddir.Stage1TreeStoreIDPath(dir), []byte(cfg.Stage1TreeID), poddir.PodFileMode)
	if err != nil {
		return err
	}

	if err := os.Mkdir(poddir.Stage1Dir(dir), poddir.DirMode); err != nil {
		return err
	}
	if !cfg.UseOverlay {
		if err := cfg.Store.CopyTree(cfg.Stage1TreeID, poddir.Stage1RootfsPath(dir)); err != nil {
			return err
		}
	}
	return copyManifest(cfg.Store, cfg.Stage1TreeID, poddir.Stage1ManifestPath(dir))
}

func (p *Pod) prepareApp(cfg PrepareConfig, app PreparedApp) error {
	dir := p.Path()
	if err := os.Mkdir(poddir.AppInfoDir(dir, app.Name), poddir.DirMode); err != nil {
		return err
	}
	if err := copyManifest(cfg.Store, app.TreeID, poddir.AppInfoManifestPath(dir, app.Name)); err != nil {
		return err
	}

	if cfg.UseOverlay {
		return os.WriteFile(poddir.AppInfoTreeStoreIDPath(dir, app.Name), []byte(app.TreeID), poddir.PodFileMode)
	}

	if err := os.MkdirAll(poddir.AppDir(dir, app.Name), 0o755); err != nil {
		return err
	}
	if err := cfg.Store.CopyTree(app.TreeID, poddir.AppRootfsPath(dir, app.Name)); err != nil {
		return err
	}
	return copyManifest(cfg.Store, app.TreeID, poddir.AppImageManifestPath(dir, app.Name))
}

// copyManifest copies the image manifest of a rendered tree to dst (0640),
// byte for byte, so that no JSON is re-encoded on the hot path.
func copyManifest(s TreeStore, treeID, dst string) error {
	data, err := os.ReadFile(filepath.Join(s.TreeDir(treeID), poddir.ManifestFile))
	if err != nil {
		return fmt.Errorf("read image manifest of tree %s: %w", treeID, err)
	}
	if err := os.WriteFile(dst, data, poddir.PodFileMode); err != nil {
		return err
	}
	return nil
}
