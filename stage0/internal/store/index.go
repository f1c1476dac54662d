package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
	bolt "go.etcd.io/bbolt"
)

var (
	bucketImages = []byte("images")
	bucketFiles  = []byte("files")
	bucketTrees  = []byte("trees")
)

// imageRecord is the index entry of one image, stored as JSON under its key.
type imageRecord struct {
	Key        string          `json:"key"`
	Name       string          `json:"name"`
	Labels     types.Labels    `json:"labels,omitempty"`
	Manifest   json.RawMessage `json:"manifest"`
	ImportTime time.Time       `json:"importTime"`
	LastUsed   time.Time       `json:"lastUsed"`
	Size       int64           `json:"size"`
	Latest     bool            `json:"latest,omitempty"`
	RemoteURL  string          `json:"remoteURL,omitempty"`
	ETag       string          `json:"etag,omitempty"`
	MaxAge     time.Duration   `json:"maxAge,omitempty"`
	// TreeID is the last tree rendered for this image, if any.
	TreeID string `json:"treeID,omitempty"`
}

// treeRecord is the index entry of a rendered tree.
type treeRecord struct {
	TreeID string `json:"treeID"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
}

// fileRecord maps what the kernel reports about an ACI file to the image
// imported from it. Any change of the file changes at least one field.
type fileRecord struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Ctime int64  `json:"ctime"`
	Key   string `json:"key"`
}

// ImageInfo describes a stored image for listings.
type ImageInfo struct {
	Key        string
	Name       string
	Labels     types.Labels
	ImportTime time.Time
	LastUsed   time.Time
	// Size is the uncompressed tar size plus the size of the rendered tree.
	Size      int64
	Latest    bool
	RemoteURL string
	TreeID    string
}

func getJSON(b *bolt.Bucket, key string, v any) (bool, error) {
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode index entry %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode index entry %q: %w", key, err)
	}
	return b.Put([]byte(key), data)
}

// getImage returns the image record of key, from the cache if this Store
// read it before its last write.
func (s *Store) getImage(key string) (*imageRecord, error) {
	if rec, ok := s.cachedRecord(key); ok {
		return &rec, nil
	}
	snap, err := s.loadSnapshot()
	if err != nil {
		return nil, err
	}
	var rec imageRecord
	found, err := snap.get(bucketImages, key, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	s.cacheRecord(&rec)
	return &rec, nil
}

// imageRecorded reports whether the index has an entry for key. It reads the
// index itself, not the copy that lookups use, because its callers hold the
// key's lock and remove or replace files based on the result.
func (s *Store) imageRecorded(key string) (bool, error) {
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketImages).Get([]byte(key)) != nil
		return nil
	})
	return found, err
}

// ResolveKey resolves a full key or a prefix of at least "sha512-" and two
// hex digits to the one full store key it matches. Longer input is cut to
// the key length first.
func (s *Store) ResolveKey(keyOrPrefix string) (string, error) {
	prefix := normalizeKey(keyOrPrefix)
	digits, ok := strings.CutPrefix(prefix, "sha512-")
	if !ok || len(digits) < 2 {
		return "", fmt.Errorf("invalid image ID %q: expected \"sha512-\" followed by at least 2 hex digits", keyOrPrefix)
	}
	if _, err := hex.DecodeString(digits[:len(digits)&^1]); err != nil {
		return "", fmt.Errorf("invalid image ID %q: %w", keyOrPrefix, err)
	}

	var matches []string
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketImages).Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, _ = c.Next() {
			matches = append(matches, string(k))
			if len(matches) > 1 {
				break
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w: %s", ErrNotFound, keyOrPrefix)
	case 1:
		return matches[0], nil
	default:
		return "", fmt.Errorf("%w: %s matches more than one image, give more digits", ErrAmbiguous, keyOrPrefix)
	}
}

// FindByName returns the key of the best stored image named name that carries
// all the given labels (abi 4.7). The caller adds the os and arch labels. If
// no "version" label is requested, images recorded as latest are preferred.
// Among equals the most recently imported image wins.
func (s *Store) FindByName(name string, labels types.Labels) (string, error) {
	_, wantVersion := labels.Get("version")

	snap, err := s.loadSnapshot()
	if err != nil {
		return "", err
	}
	var best *imageRecord
	if images := snap.buckets[string(bucketImages)]; images != nil {
		for _, key := range images.keys {
			rec, ok := s.cachedRecord(key)
			if !ok {
				if err := json.Unmarshal(images.values[key], &rec); err != nil {
					return "", fmt.Errorf("decode index entry %q: %w", key, err)
				}
				s.cacheRecord(&rec)
			}
			if rec.Name != name || !hasLabels(rec.Labels, labels) {
				continue
			}
			if best == nil || betterMatch(&rec, best, wantVersion) {
				best = &rec
			}
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: %s%s", ErrNotFound, name, formatLabels(labels))
	}
	s.cacheRecord(best)
	return best.Key, nil
}

func hasLabels(have, want types.Labels) bool {
	for _, label := range want {
		value, ok := have.Get(label.Name.String())
		if !ok || value != label.Value {
			return false
		}
	}
	return true
}

func betterMatch(candidate, best *imageRecord, wantVersion bool) bool {
	if !wantVersion && candidate.Latest != best.Latest {
		return candidate.Latest
	}
	return candidate.ImportTime.After(best.ImportTime)
}

func formatLabels(labels types.Labels) string {
	var b strings.Builder
	for _, label := range labels {
		fmt.Fprintf(&b, ",%s=%s", label.Name, label.Value)
	}
	return b.String()
}

// ImageManifest returns the manifest of a stored image.
func (s *Store) ImageManifest(key string) (*schema.ImageManifest, error) {
	rec, err := s.getImage(normalizeKey(key))
	if err != nil {
		return nil, err
	}
	var manifest schema.ImageManifest
	if err := json.Unmarshal(rec.Manifest, &manifest); err != nil {
		return nil, fmt.Errorf("decode manifest of %s: %w", key, err)
	}
	return &manifest, nil
}

// MarkUsed records now as the last-used time of an image.
func (s *Store) MarkUsed(key string) error {
	return s.markUsed(normalizeKey(key), time.Now())
}

// MarkUsedIfOlder records now as the last-used time of an image unless the
// recorded time is less than maxAge old. A run in a loop then writes the
// index, with its two fdatasyncs, once per maxAge and not on every run.
// The recorded time can thus lag the last use by up to maxAge. It reports
// whether it wrote the index.
func (s *Store) MarkUsedIfOlder(key string, maxAge time.Duration) (bool, error) {
	key = normalizeKey(key)
	rec, err := s.getImage(key)
	if err != nil {
		return false, err
	}
	now := time.Now()
	if age := now.Sub(rec.LastUsed); age >= 0 && age < maxAge {
		return false, nil
	}
	return true, s.markUsed(key, now)
}

func (s *Store) markUsed(key string, now time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImages)
		var rec imageRecord
		found, err := getJSON(b, key, &rec)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		rec.LastUsed = now
		return putJSON(b, key, &rec)
	})
}

// Images lists the stored images in key order.
func (s *Store) Images() ([]ImageInfo, error) {
	var infos []ImageInfo
	err := s.view(func(tx *bolt.Tx) error {
		trees := tx.Bucket(bucketTrees)
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			var rec imageRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode index entry %q: %w", k, err)
			}
			size := rec.Size
			var tree treeRecord
			if rec.TreeID != "" {
				if found, err := getJSON(trees, rec.TreeID, &tree); err == nil && found {
					size += tree.Size
				}
			}
			infos = append(infos, ImageInfo{
				Key:        rec.Key,
				Name:       rec.Name,
				Labels:     rec.Labels,
				ImportTime: rec.ImportTime,
				LastUsed:   rec.LastUsed,
				Size:       size,
				Latest:     rec.Latest,
				RemoteURL:  rec.RemoteURL,
				TreeID:     rec.TreeID,
			})
			return nil
		})
	})
	return infos, err
}
