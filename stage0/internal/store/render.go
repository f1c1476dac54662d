package store

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
	bolt "go.etcd.io/bbolt"
)

// maxDependencyDepth bounds dependency chains, which also stops cycles.
const maxDependencyDepth = 64

// renderImage is one image of a dependency list, in render order.
type renderImage struct {
	key      string
	manifest *schema.ImageManifest
	// whitelists are the non-empty pathWhitelists of the image and its
	// ancestors. A non-directory is placed only if every one lists it.
	whitelists []map[string]bool
}

// RenderTree renders the image with its dependencies into the tree store and
// returns the tree ID. A tree that is already rendered is reused.
func (s *Store) RenderTree(key string) (string, error) {
	key = normalizeKey(key)
	rec, err := s.getImage(key)
	if err != nil {
		return "", fmt.Errorf("render image %s: %w", key, err)
	}
	// NOTE: a cached tree ID is reused even if a dependency given by name
	// would now resolve to a newer image. Remove the tree to re-render it.
	if rec.TreeID != "" && s.treeComplete(rec.TreeID) {
		return rec.TreeID, nil
	}

	images, err := s.dependencyList(key)
	if err != nil {
		return "", fmt.Errorf("render image %s: %w", key, err)
	}
	treeID := treeIDOf(images)
	if err := s.renderLocked(key, treeID, images); err != nil {
		return "", fmt.Errorf("render image %s: %w", key, err)
	}
	return treeID, nil
}

// treeIDOf returns "deps-" and the truncated SHA-512 of the comma-joined keys
// of the dependency list in render order (abi 4.4).
func treeIDOf(images []renderImage) string {
	keys := make([]string, len(images))
	for i, image := range images {
		keys[i] = image.key
	}
	sum := sha512.Sum512([]byte(strings.Join(keys, ",")))
	return "deps-sha512-" + hex.EncodeToString(sum[:])[:64]
}

func (s *Store) treeComplete(treeID string) bool {
	_, err := os.Lstat(filepath.Join(s.TreeDir(treeID), "rendered"))
	return err == nil
}

// dependencyList returns the image and its dependencies, highest rank first,
// as rkt's renderer orders them: each image is followed by its dependencies
// in reverse listed order, each with its own dependencies after it. For
// A→[B,C] and C→[D] the list is A, C, D, B, so files are overridden in the
// order B, D, C, A.
func (s *Store) dependencyList(key string) ([]renderImage, error) {
	manifest, err := s.ImageManifest(key)
	if err != nil {
		return nil, err
	}
	top := renderImage{key: key, manifest: manifest, whitelists: addWhitelist(nil, manifest)}
	return s.appendDependencies([]renderImage{top}, top, 0)
}

func (s *Store) appendDependencies(list []renderImage, parent renderImage, depth int) ([]renderImage, error) {
	if depth >= maxDependencyDepth {
		return nil, fmt.Errorf("dependencies of %s nest deeper than %d levels (is there a cycle?)", parent.key, maxDependencyDepth)
	}
	deps := parent.manifest.Dependencies
	for i := len(deps) - 1; i >= 0; i-- {
		depKey, err := s.resolveDependency(deps[i])
		if err != nil {
			return nil, err
		}
		manifest, err := s.ImageManifest(depKey)
		if err != nil {
			return nil, err
		}
		dep := renderImage{key: depKey, manifest: manifest, whitelists: addWhitelist(parent.whitelists, manifest)}
		list = append(list, dep)
		if list, err = s.appendDependencies(list, dep, depth+1); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func (s *Store) resolveDependency(dep types.Dependency) (string, error) {
	var key string
	var err error
	if dep.ImageID != nil {
		key, err = s.ResolveKey(dep.ImageID.String())
	} else {
		key, err = s.FindByName(dep.ImageName.String(), dep.Labels)
	}
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("dependency %q not in store (fetch it first): %w", dep.ImageName, err)
	}
	if err != nil {
		return "", fmt.Errorf("dependency %q: %w", dep.ImageName, err)
	}
	return key, nil
}

func addWhitelist(parent []map[string]bool, manifest *schema.ImageManifest) []map[string]bool {
	if len(manifest.PathWhitelist) == 0 {
		return parent
	}
	set := make(map[string]bool, len(manifest.PathWhitelist))
	for _, p := range manifest.PathWhitelist {
		set[filepath.Clean("/"+p)] = true
	}
	list := append([]map[string]bool(nil), parent...)
	return append(list, set)
}

// renderLocked renders the tree under the tree's lock, unless another
// process rendered it first.
func (s *Store) renderLocked(key, treeID string, images []renderImage) error {
	lock, err := s.lock(treeID)
	if err != nil {
		return fmt.Errorf("lock tree %s: %w", treeID, err)
	}
	defer lock.unlock()

	if !s.treeComplete(treeID) {
		if err := s.renderTree(treeID, images); err != nil {
			return err
		}
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImages)
		var rec imageRecord
		found, err := getJSON(b, key, &rec)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: %s (removed while rendering)", ErrNotFound, key)
		}
		rec.TreeID = treeID
		return putJSON(b, key, &rec)
	})
}

func (s *Store) renderTree(treeID string, images []renderImage) error {
	staging, err := s.newStaging("render-")
	if err != nil {
		return err
	}
	defer staging.discard(s.log)

	rootfs := filepath.Join(staging.path, "rootfs")
	placer := newPlacer(rootfs)
	for _, image := range images {
		if err := placer.placeLayer(filepath.Join(s.imageDir(image.key), "rootfs"), image.whitelists); err != nil {
			return fmt.Errorf("place files of %s: %w", image.key, err)
		}
	}
	if err := placer.finish(); err != nil {
		return err
	}

	// The hash is computed once here, so that VerifyTree can detect later
	// changes. A cached tree is reused without hashing it.
	treeHash, err := hashTree(rootfs)
	if err != nil {
		return fmt.Errorf("hash rootfs: %w", err)
	}

	top := images[0]
	manifest, err := os.ReadFile(filepath.Join(s.imageDir(top.key), "manifest"))
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"manifest":   manifest,
		"image":      []byte(top.key),
		treeHashFile: []byte(treeHash),
		"rendered":   nil,
	}
	// "rendered" is written last: a tree directory is complete when it has it.
	for _, name := range []string{"manifest", "image", treeHashFile, "rendered"} {
		if err := os.WriteFile(filepath.Join(staging.path, name), files[name], 0o600); err != nil {
			return err
		}
	}

	// An existing tree directory is either incomplete or being re-rendered
	// by ReRenderTree. The tree lock is held, so replacing it is safe.
	if err := s.replaceDir(staging.path, s.TreeDir(treeID)); err != nil {
		return fmt.Errorf("move tree %s into place: %w", treeID, err)
	}
	return s.update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketTrees), treeID, &treeRecord{TreeID: treeID, Key: top.key, Size: placer.size})
	})
}
