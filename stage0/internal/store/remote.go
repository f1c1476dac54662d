package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketRemotes maps a download URL to a RemoteRecord, as JSON.
var bucketRemotes = []byte("remotes")

// RemoteRecord is the HTTP cache record of an image downloaded from a URL.
type RemoteRecord struct {
	// URL is the image URL as requested, before redirects.
	URL string `json:"url"`
	// Key is the store key of the downloaded image.
	Key string `json:"key"`
	// ETag is the entity tag of the response, empty if the server sent none.
	ETag string `json:"etag,omitempty"`
	// MaxAge is the Cache-Control max-age of the response, 0 for no-cache,
	// no-store or no directive.
	MaxAge time.Duration `json:"maxAge,omitempty"`
	// DownloadTime is when the image was last downloaded or revalidated
	// (HTTP 304).
	DownloadTime time.Time `json:"downloadTime"`
}

// Fresh reports whether the record's max-age has not yet elapsed at now.
func (r *RemoteRecord) Fresh(now time.Time) bool {
	return r.MaxAge > 0 && now.Before(r.DownloadTime.Add(r.MaxAge))
}

// GetRemote returns the cache record for url. It wraps ErrNotFound when the
// URL was never recorded or its image has since been removed from the store.
func (s *Store) GetRemote(url string) (*RemoteRecord, error) {
	snap, err := s.loadSnapshot()
	if err != nil {
		return nil, err
	}
	var rec RemoteRecord
	found, err := snap.get(bucketRemotes, url, &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: no download recorded for %s", ErrNotFound, url)
	}
	if images := snap.buckets[string(bucketImages)]; images == nil || images.values[rec.Key] == nil {
		return nil, fmt.Errorf("%w: image %s downloaded from %s was removed", ErrNotFound, rec.Key, url)
	}
	return &rec, nil
}

// SetRemote stores rec under rec.URL, replacing an earlier record.
func (s *Store) SetRemote(rec RemoteRecord) error {
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRemotes)
		if err != nil {
			return err
		}
		return putJSON(b, rec.URL, rec)
	})
	if err != nil {
		return fmt.Errorf("record download of %s: %w", rec.URL, err)
	}
	return nil
}

// ImageDir returns the directory of a stored image, which holds its manifest
// and rootfs as extracted, for image export and extract. It wraps ErrNotFound
// when key is not stored.
func (s *Store) ImageDir(key string) (string, error) {
	key = normalizeKey(key)
	if _, err := s.getImage(key); err != nil {
		return "", err
	}
	return s.imageDir(key), nil
}
