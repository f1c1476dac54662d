package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// isStoreKey reports whether s is a full store key: "sha512-" followed by 64
// lower-case hex digits. It is a plain function rather than a package-level
// regexp, whose compilation would run at every rkt start.
func isStoreKey(s string) bool {
	digits, ok := strings.CutPrefix(s, "sha512-")
	return ok && isLowerHex64(digits)
}

// isTreeID reports whether s is a rendered tree ID: "deps-" and a full store
// key.
func isTreeID(s string) bool {
	key, ok := strings.CutPrefix(s, "deps-")
	return ok && isStoreKey(key)
}

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func validTreeID(treeID string) error {
	if !isTreeID(treeID) {
		return fmt.Errorf("invalid tree ID %q: expected \"deps-sha512-\" followed by 64 hex digits", treeID)
	}
	return nil
}

// RemoveImage removes an image and its index entries. Rendered trees are
// kept: they hold their own links to the files, and image gc removes them
// with RemoveTree.
func (s *Store) RemoveImage(key string) error {
	key = normalizeKey(key)
	if !isStoreKey(key) {
		return fmt.Errorf("remove image %q: expected a full store key", key)
	}
	lock, err := s.lock(key)
	if err != nil {
		return fmt.Errorf("remove image %s: %w", key, err)
	}
	defer lock.unlock()

	err = s.update(func(tx *bolt.Tx) error {
		images := tx.Bucket(bucketImages)
		if images.Get([]byte(key)) == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		if err := images.Delete([]byte(key)); err != nil {
			return err
		}
		return deleteFileEntries(tx.Bucket(bucketFiles), key)
	})
	if err != nil {
		return fmt.Errorf("remove image %s: %w", key, err)
	}
	// The index no longer lists the image, so the removal is committed and a
	// failure here is only logged. The unlisted directory left behind is
	// replaced by the next import of the same key.
	if err := s.removeDir(s.imageDir(key)); err != nil {
		s.log.Printf("remove files of image %s: %v", key, err)
	}
	return nil
}

func deleteFileEntries(files *bolt.Bucket, key string) error {
	var stale [][]byte
	err := files.ForEach(func(k, v []byte) error {
		var rec fileRecord
		if json.Unmarshal(v, &rec) == nil && rec.Key == key {
			stale = append(stale, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range stale {
		if err := files.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// RemoveTree removes a rendered tree. It refuses while anything is mounted
// below the tree directory, so that removal cannot descend into a mount.
func (s *Store) RemoveTree(treeID string) error {
	if err := validTreeID(treeID); err != nil {
		return err
	}
	lock, err := s.lock(treeID)
	if err != nil {
		return fmt.Errorf("remove tree %s: %w", treeID, err)
	}
	defer lock.unlock()

	dir := s.TreeDir(treeID)
	if err := checkNothingMounted(dir); err != nil {
		return fmt.Errorf("remove tree %s: %w", treeID, err)
	}

	err = s.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTrees).Delete([]byte(treeID)); err != nil {
			return err
		}
		return clearTreeID(tx.Bucket(bucketImages), treeID)
	})
	if err != nil {
		return fmt.Errorf("remove tree %s: %w", treeID, err)
	}
	if err := s.removeDir(dir); err != nil {
		return fmt.Errorf("remove tree %s: %w", treeID, err)
	}
	return nil
}

func clearTreeID(images *bolt.Bucket, treeID string) error {
	var updated []imageRecord
	err := images.ForEach(func(k, v []byte) error {
		var rec imageRecord
		if json.Unmarshal(v, &rec) == nil && rec.TreeID == treeID {
			rec.TreeID = ""
			updated = append(updated, rec)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range updated {
		if err := putJSON(images, updated[i].Key, &updated[i]); err != nil {
			return err
		}
	}
	return nil
}

// Trees lists the IDs of the rendered trees in the store.
func (s *Store) Trees() ([]string, error) {
	entries, err := os.ReadDir(s.treeParentDir())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, entry := range entries {
		if isTreeID(entry.Name()) && s.treeComplete(entry.Name()) {
			ids = append(ids, entry.Name())
		}
	}
	return ids, nil
}

// Sweep removes what crashed processes left behind. A crash between moving an
// image into place and recording it leaves an image directory that the index
// does not list. A crash during an import, render or removal leaves an
// unlocked staging directory under tmp/, which is removed once it is older
// than stagingGracePeriod. Image gc calls Sweep. Every import that reads an
// image also removes such staging directories, but Open and the stat cache
// hit of ImportFile do not, so that a warm run costs no directory scan.
func (s *Store) Sweep() error {
	s.removeStaleStaging()

	entries, err := os.ReadDir(filepath.Join(s.dir, "image"))
	if err != nil {
		return fmt.Errorf("sweep store: %w", err)
	}
	listed := make(map[string]bool)
	err = s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, _ []byte) error {
			listed[string(k)] = true
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("sweep store: %w", err)
	}

	var errs []error
	for _, entry := range entries {
		key := entry.Name()
		if listed[key] {
			continue
		}
		if !isStoreKey(key) {
			s.log.Printf("sweep store: leaving unknown entry image/%s alone", key)
			continue
		}
		if err := s.removeOrphanImage(key); err != nil {
			errs = append(errs, fmt.Errorf("sweep store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// removeOrphanImage removes image/<key> unless an import recorded it while
// Sweep waited for the key's lock.
func (s *Store) removeOrphanImage(key string) error {
	lock, err := s.lock(key)
	if err != nil {
		return fmt.Errorf("lock image %s: %w", key, err)
	}
	defer lock.unlock()

	recorded, err := s.imageRecorded(key)
	if err != nil || recorded {
		return err
	}
	s.log.Printf("removing unrecorded image directory %s", s.imageDir(key))
	if err := s.removeDir(s.imageDir(key)); err != nil {
		return fmt.Errorf("remove unrecorded image %s: %w", key, err)
	}
	return nil
}
