package store

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// bucketVerified maps an image key to the SignatureRecord of its blob. The
// bucket is created by the first RecordSignature, so stores made before it
// existed need no migration.
var bucketVerified = []byte("verified")

// SignatureRecord is a successful signature check of an image's content.
// The check stays valid only while ImageFile, SignatureFile and TrustState
// are all unchanged: the fetcher compares them before it trusts a record, and
// a record with any of them empty is never reused.
type SignatureRecord struct {
	// Signers are the identities of the keys that signed the image.
	Signers []string `json:"signers"`
	// Time is when the signature was checked.
	Time time.Time `json:"time"`
	// ImageFile is the path and stat identity of the ACI file that was
	// imported, empty for a download.
	ImageFile string `json:"imageFile,omitempty"`
	// SignatureFile is the path and stat identity of the detached
	// signature file that was checked, empty for a downloaded signature.
	SignatureFile string `json:"signatureFile,omitempty"`
	// TrustState is a digest of the trusted-key files that applied to the
	// image name at the time of the check.
	TrustState string `json:"trustState,omitempty"`
}

// RecordSignature records that the content of image key was found signed by
// a trusted key, replacing an earlier record of key.
func (s *Store) RecordSignature(key string, rec SignatureRecord) error {
	key = normalizeKey(key)
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketVerified)
		if err != nil {
			return err
		}
		return putJSON(b, key, &rec)
	})
	if err != nil {
		return fmt.Errorf("record signature of image %s: %w", key, err)
	}
	return nil
}

// Signature returns the signature record of image key. It wraps ErrNotFound
// when the image was never verified, for example because it was fetched
// with --insecure-options=image.
func (s *Store) Signature(key string) (*SignatureRecord, error) {
	key = normalizeKey(key)
	var rec SignatureRecord
	snap, err := s.loadSnapshot()
	found := false
	if err == nil {
		found, err = snap.get(bucketVerified, key, &rec)
	}
	if err != nil {
		return nil, fmt.Errorf("read signature record of image %s: %w", key, err)
	}
	if !found {
		return nil, fmt.Errorf("%w: no signature check recorded for image %s", ErrNotFound, key)
	}
	return &rec, nil
}

// OpenBlob opens the stored bytes of image key as they were imported, so
// still compressed: the bytes a detached signature of the ACI file covers.
func (s *Store) OpenBlob(key string) (*os.File, error) {
	key = normalizeKey(key)
	if _, err := s.getImage(key); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.imageDir(key), blobName))
	if err != nil {
		return nil, fmt.Errorf("open blob of image %s: %w", key, err)
	}
	return f, nil
}

// CachedFileKey returns the key that the stat cache records for the ACI file
// at path, when the file's device, inode, size, mtime and ctime are unchanged
// since it was imported and the image is still stored. It reads nothing of
// the file.
func (s *Store) CachedFileKey(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		return "", false
	}
	return s.cachedFileKey(abs, &st)
}

// FileIdentity returns path and the stat fields that change whenever the
// file is modified or replaced: device, inode, size, mtime and ctime. It
// reads nothing of the file.
func FileIdentity(path string, st *unix.Stat_t) string {
	return fmt.Sprintf("%s dev=%d ino=%d size=%d mtime=%d ctime=%d", path, st.Dev, st.Ino, st.Size, st.Mtim.Nano(), st.Ctim.Nano())
}

// ImportTime returns when image key was imported.
func (s *Store) ImportTime(key string) (time.Time, error) {
	rec, err := s.getImage(normalizeKey(key))
	if err != nil {
		return time.Time{}, err
	}
	return rec.ImportTime, nil
}
