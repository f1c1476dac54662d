package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// ImportOptions describes where an imported image came from.
type ImportOptions struct {
	// Latest records the image as fetched by name without a version, which
	// FindByName prefers when no version is requested (abi 4.7).
	Latest bool
	// RemoteURL, ETag and MaxAge record an http(s) download for FindByRemoteURL.
	RemoteURL string
	ETag      string
	MaxAge    time.Duration
}

// ImportResult is the outcome of an import.
type ImportResult struct {
	// Key is the image's store key.
	Key string
	// Created is true when this call added the image to the store, and false
	// when the store held it already.
	Created bool
}

// openACIFile opens an ACI file for ImportFile. Tests replace it to count reads.
var openACIFile = openNonblocking

// openNonblocking opens path for reading with O_NONBLOCK, so that a FIFO put
// in place of the file after the stat does not block the open. The Fstat
// that follows rejects it. Reads of a regular file ignore O_NONBLOCK.
func openNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
}

// ImportFile imports the ACI file at path and renders its tree. A file whose
// device, inode, size, mtime and ctime are unchanged since an earlier import
// is not read again.
func (s *Store) ImportFile(path string, opts ImportOptions) (string, error) {
	result, err := s.ImportFileAndReport(path, opts)
	return result.Key, err
}

// ImportFileAndReport is ImportFile that also reports whether this call added
// the image to the store. An unchanged file found in the stat cache was
// imported before, so it reports Created false without a read of the index
// beyond the stat cache lookup.
func (s *Store) ImportFileAndReport(path string, opts ImportOptions) (ImportResult, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %q: %w", path, err)
	}

	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		return ImportResult{}, importFileError(path, &os.PathError{Op: "stat", Path: abs, Err: err})
	}
	// Opening a FIFO would block until a writer appears.
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ImportResult{}, notRegularError(path)
	}
	if key, ok := s.cachedFileKey(abs, &st); ok {
		if _, err := s.RenderTree(key); err != nil {
			return ImportResult{}, fmt.Errorf("import %q: %w", path, err)
		}
		if err := s.updateRemote(key, opts); err != nil {
			return ImportResult{}, fmt.Errorf("import %q: %w", path, err)
		}
		return ImportResult{Key: key}, nil
	}

	f, err := openACIFile(abs)
	if err != nil {
		return ImportResult{}, importFileError(path, err)
	}
	defer f.Close()
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return ImportResult{}, importFileError(path, &os.PathError{Op: "stat", Path: abs, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ImportResult{}, notRegularError(path)
	}

	result, err := s.ImportAndReport(f, opts)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %q: %w", path, err)
	}
	key := result.Key

	// Record the file only if it did not change while it was read.
	var after unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &after); err == nil && sameFile(fileRecordOf(&st, ""), &after) {
		if err := s.recordFile(abs, fileRecordOf(&st, key)); err != nil {
			s.log.Printf("record stat cache entry for %s: %v", abs, err)
		}
	}
	if _, err := s.RenderTree(key); err != nil {
		return ImportResult{}, fmt.Errorf("import %q: %w", path, err)
	}
	return result, nil
}

func notRegularError(path string) error {
	return fmt.Errorf("import %q: not a regular file (give the path of an .aci file)", path)
}

func importFileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("import %q: %w (check the path of the image file)", path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("import %q: %w (make the file readable)", path, err)
	default:
		return fmt.Errorf("import %q: %w", path, err)
	}
}

func fileRecordOf(st *unix.Stat_t, key string) *fileRecord {
	return &fileRecord{
		Dev:   st.Dev,
		Ino:   st.Ino,
		Size:  st.Size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
		Key:   key,
	}
}

func sameFile(rec *fileRecord, st *unix.Stat_t) bool {
	now := fileRecordOf(st, rec.Key)
	return *rec == *now
}

// cachedFileKey returns the image key recorded for an unchanged file, if that
// image is still stored. It puts the image record into the record cache, for
// the RenderTree and ImageManifest calls that follow.
func (s *Store) cachedFileKey(path string, st *unix.Stat_t) (string, bool) {
	var rec fileRecord
	var image imageRecord
	snap, err := s.loadSnapshot()
	found := false
	if err == nil {
		found, err = snap.get(bucketFiles, path, &rec)
	}
	if err == nil && found {
		found, err = snap.get(bucketImages, rec.Key, &image)
	}
	if err != nil {
		s.log.Printf("read stat cache entry for %s: %v", path, err)
		return "", false
	}
	if !found || !sameFile(&rec, st) {
		return "", false
	}
	s.cacheRecord(&image)
	return rec.Key, true
}

func (s *Store) recordFile(path string, rec *fileRecord) error {
	return s.update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketFiles), path, rec)
	})
}

// Import reads an ACI from r in one pass: it decompresses, hashes and extracts
// it into a staging directory while copying the input bytes to the image's
// blob, then moves the image into place and records it. On any error nothing
// of the image is left in the store.
func (s *Store) Import(r io.Reader, opts ImportOptions) (string, error) {
	result, err := s.ImportAndReport(r, opts)
	return result.Key, err
}

// ImportAndReport is Import that also reports whether this call added the
// image to the store. Before it stages the image, it removes the staging
// directories of imports, renders and removals that died, by the rule of
// Sweep.
func (s *Store) ImportAndReport(r io.Reader, opts ImportOptions) (ImportResult, error) {
	s.removeStaleStaging()
	staging, err := s.newStaging("import-")
	if err != nil {
		return ImportResult{}, err
	}
	defer staging.discard(s.log)

	result, err := s.extractWithBlob(r, staging.path)
	if err != nil {
		return ImportResult{}, err
	}
	key := result.Key()

	lock, err := s.lock(key)
	if err != nil {
		return ImportResult{}, fmt.Errorf("lock image %s: %w", key, err)
	}
	defer lock.unlock()

	recorded, err := s.imageRecorded(key)
	if err != nil {
		return ImportResult{}, err
	}
	if recorded {
		s.log.Printf("image %s is already in the store", key)
		return ImportResult{Key: key}, s.updateRemote(key, opts)
	}

	// An image directory without an index entry is left from a process that
	// died between the rename and the index update. Holding the key lock,
	// it can be replaced.
	if err := s.removeDir(s.imageDir(key)); err != nil {
		return ImportResult{}, fmt.Errorf("remove incomplete image %s: %w", key, err)
	}
	if err := os.Rename(staging.path, s.imageDir(key)); err != nil {
		return ImportResult{}, fmt.Errorf("move image %s into place: %w", key, err)
	}

	now := time.Now()
	rec := &imageRecord{
		Key:        key,
		Name:       result.Manifest.Name.String(),
		Labels:     result.Manifest.Labels,
		Manifest:   result.ManifestJSON,
		ImportTime: now,
		LastUsed:   now,
		Size:       result.Size,
		Latest:     opts.Latest,
		RemoteURL:  opts.RemoteURL,
		ETag:       opts.ETag,
		MaxAge:     opts.MaxAge,
	}
	err = s.update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketImages), key, rec)
	})
	if err != nil {
		if rmErr := s.removeDir(s.imageDir(key)); rmErr != nil {
			s.log.Printf("remove unrecorded image %s: %v", key, rmErr)
		}
		return ImportResult{}, fmt.Errorf("record image %s: %w", key, err)
	}
	s.log.Printf("imported image %s (%s, %d bytes uncompressed)", key, rec.Name, result.Size)
	return ImportResult{Key: key, Created: true}, nil
}

// updateRemote records download details for an image that was already stored.
func (s *Store) updateRemote(key string, opts ImportOptions) error {
	if !opts.Latest && opts.RemoteURL == "" {
		return nil
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImages)
		var rec imageRecord
		found, err := getJSON(b, key, &rec)
		if err != nil || !found {
			return err
		}
		rec.Latest = rec.Latest || opts.Latest
		if opts.RemoteURL != "" {
			rec.RemoteURL = opts.RemoteURL
			rec.ETag = opts.ETag
			rec.MaxAge = opts.MaxAge
			rec.ImportTime = time.Now()
		}
		return putJSON(b, key, &rec)
	})
}

// removeDir removes dir by first renaming it into tmp/, so that a crash in
// the middle leaves only a stale entry of tmp/ that a later import or Sweep
// removes.
func (s *Store) removeDir(dir string) error {
	trash, err := os.MkdirTemp(s.tmpDir(), "remove-")
	if err != nil {
		return err
	}
	target := filepath.Join(trash, "d")
	if err := os.Rename(dir, target); err != nil {
		os.Remove(trash)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(trash)
}
