package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

var (
	keyPattern    = regexp.MustCompile(`^sha512-[0-9a-f]{64}$`)
	treeIDPattern = regexp.MustCompile(`^deps-sha512-[0-9a-f]{64}$`)
)

func validTreeID(treeID string) error {
	if !treeIDPattern.MatchString(treeID) {
		return fmt.Errorf("invalid tree ID %q: expected \"deps-sha512-\" followed by 64 hex digits", treeID)
	}
	return nil
}

// RemoveImage removes an image and its index entries. Rendered trees are
// kept: they hold their own links to the files, and image gc removes them
// with RemoveTree.
func (s *Store) RemoveImage(key string) error {
	key = normalizeKey(key)
	if !keyPattern.MatchString(key) {
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
	mounted, err := mountPointsBelow(dir)
	if err != nil {
		return fmt.Errorf("remove tree %s: %w", treeID, err)
	}
	if len(mounted) > 0 {
		return fmt.Errorf("remove tree %s: %s is still mounted (unmount it first)", treeID, mounted[0])
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
		if treeIDPattern.MatchString(entry.Name()) && s.treeComplete(entry.Name()) {
			ids = append(ids, entry.Name())
		}
	}
	return ids, nil
}

// mountPointsBelow returns the mount points at or below dir, read from
// /proc/self/mountinfo.
func mountPointsBelow(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()

	clean := filepath.Clean(dir)
	var found []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 5 {
			continue
		}
		point := unescapeOctal(fields[4])
		if point == clean || strings.HasPrefix(point, clean+"/") {
			found = append(found, point)
		}
	}
	return found, scanner.Err()
}

// unescapeOctal decodes the \NNN escapes that mountinfo uses for space, tab,
// newline and backslash.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
