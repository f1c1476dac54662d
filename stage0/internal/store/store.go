package store

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// Sentinel errors, wrapped with the value that was looked up.
var (
	ErrNotFound  = errors.New("image not found in store")
	ErrAmbiguous = errors.New("ambiguous image ID")
)

// dbLockTimeout is how long an operation waits for another rkt process that
// holds the index open. Every operation keeps it open for one short
// transaction only.
const dbLockTimeout = 30 * time.Second

// stagingGracePeriod is the age below which an unlocked entry of tmp/ is not
// yet considered stale.
const stagingGracePeriod = 10 * time.Second

// Options configures Open.
type Options struct {
	// Log receives debug messages. Nil discards them.
	Log *log.Logger
}

// Store is an image store in one directory. It holds no open files between
// calls, so several processes can use the same directory at once.
//
// A Store keeps the copy of the index that its first lookup read until its
// next write to the index, so that the lookups of one command open the index
// once instead of once per lookup. The copy can be stale if another process
// changes the index meanwhile. It is never trusted for the files: a rendered
// tree is still checked on disk before it is reused, and the checks made
// under an image's lock before files are replaced or removed read the index
// itself.
type Store struct {
	dir string
	log *log.Logger

	mu sync.Mutex
	// records caches image records by key. Nil means empty. Every write
	// through update clears it.
	records map[string]imageRecord
	// snap is the copy of the index that lookups read, nil until the first
	// lookup and after every write through update.
	snap *snapshot
}

// Open opens the store in dir ($D/cas), creating it if needed. It scans
// nothing: the staging directories of processes that died are removed by the
// next import that reads an image, or by Sweep.
func Open(dir string, opts Options) (*Store, error) {
	logger := opts.Log
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	s := &Store{dir: abs, log: logger}

	if _, err := os.Stat(s.indexPath()); err != nil {
		if err := s.create(); err != nil {
			return nil, fmt.Errorf("open store %q: %w", dir, err)
		}
	}
	return s, nil
}

func (s *Store) create() error {
	for _, sub := range []string{"image", "tree", "locks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o700); err != nil {
			return err
		}
	}
	db, err := bolt.Open(s.indexPath(), 0o600, &bolt.Options{Timeout: dbLockTimeout})
	if err != nil {
		return fmt.Errorf("create index %s: %w", s.indexPath(), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketImages, bucketFiles, bucketTrees} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	return errors.Join(err, db.Close())
}

// Close releases the store. The store holds nothing open between calls, so
// Close only exists for symmetry with Open.
func (s *Store) Close() error {
	return nil
}

// Dir returns the store directory.
func (s *Store) Dir() string {
	return s.dir
}

func (s *Store) indexPath() string           { return filepath.Join(s.dir, "index.db") }
func (s *Store) imageDir(key string) string  { return filepath.Join(s.dir, "image", key) }
func (s *Store) tmpDir() string              { return filepath.Join(s.dir, "tmp") }
func (s *Store) lockPath(name string) string { return filepath.Join(s.dir, "locks", name) }
func (s *Store) treeParentDir() string       { return filepath.Join(s.dir, "tree") }

// TreeDir returns the directory of a rendered tree.
func (s *Store) TreeDir(treeID string) string {
	return filepath.Join(s.dir, "tree", treeID)
}

// TreeRootfs returns the root filesystem of a rendered tree.
func (s *Store) TreeRootfs(treeID string) string {
	return filepath.Join(s.dir, "tree", treeID, "rootfs")
}

// view runs fn in a read-only transaction. The index is opened with a shared
// lock, so readers in several processes do not wait for each other.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	db, err := bolt.Open(s.indexPath(), 0o600, &bolt.Options{Timeout: dbLockTimeout, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("open index %s: %w", s.indexPath(), err)
	}
	return errors.Join(db.View(fn), db.Close())
}

// update runs fn in a read-write transaction, holding the index exclusively.
// It clears the cache of image records.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	// Cleared before and after, so that no concurrent reader of this Store
	// caches a record from before the write.
	s.forgetRecords()
	defer s.forgetRecords()
	db, err := bolt.Open(s.indexPath(), 0o600, &bolt.Options{Timeout: dbLockTimeout})
	if err != nil {
		return fmt.Errorf("open index %s: %w", s.indexPath(), err)
	}
	return errors.Join(db.Update(fn), db.Close())
}

// cachedRecord returns the image record cached for key, if any.
func (s *Store) cachedRecord(key string) (imageRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[key]
	return rec, ok
}

// cacheRecord stores a copy of rec, as read from the index, in the cache.
func (s *Store) cacheRecord(rec *imageRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = make(map[string]imageRecord)
	}
	s.records[rec.Key] = *rec
}

func (s *Store) forgetRecords() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = nil
	s.snap = nil
}

// fileLock is an flock held on a file under locks/.
type fileLock struct{ f *os.File }

// lock takes an exclusive flock on locks/<name>, waiting for other holders.
func (s *Store) lock(name string) (*fileLock, error) {
	f, err := os.OpenFile(s.lockPath(name), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) unlock() {
	// Closing the file releases the flock.
	l.f.Close()
}

// stagingDir is a directory under tmp/ locked by the process that fills it.
// A staging directory whose lock can be taken belongs to a dead process.
type stagingDir struct {
	path string
	f    *os.File
}

func (s *Store) newStaging(prefix string) (*stagingDir, error) {
	path, err := os.MkdirTemp(s.tmpDir(), prefix)
	if err != nil {
		return nil, fmt.Errorf("create staging directory: %w", err)
	}
	f, err := os.Open(path)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(path)
		return nil, fmt.Errorf("lock staging directory %s: %w", path, err)
	}
	return &stagingDir{path: path, f: f}, nil
}

// discard removes the staging directory if it still exists and drops its lock.
func (d *stagingDir) discard(logger *log.Logger) {
	if err := os.RemoveAll(d.path); err != nil {
		// The staging directory is unlocked below, so a later import or
		// Sweep removes it.
		logger.Printf("remove staging directory: %v", err)
	}
	d.f.Close()
}

// removeStaleStaging removes the entries of tmp/ that no live process has
// locked, once they are older than stagingGracePeriod. Errors are logged,
// because the next import or Sweep retries a leftover.
func (s *Store) removeStaleStaging() {
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		s.log.Printf("read %s: %v", s.tmpDir(), err)
		return
	}
	for _, entry := range entries {
		path := filepath.Join(s.tmpDir(), entry.Name())
		// A new staging directory exists for a moment before its creator
		// locks it, so young entries are left alone.
		if info, err := entry.Info(); err != nil || time.Since(info.ModTime()) < stagingGracePeriod {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			s.log.Printf("removing stale staging directory %s", path)
			if err := os.RemoveAll(path); err != nil {
				s.log.Printf("remove %s: %v", path, err)
			}
		}
		f.Close()
	}
}

// normalizeKey lower-cases a "sha512-" key and cuts it to the store key length.
func normalizeKey(key string) string {
	key = strings.ToLower(key)
	if len(key) > keyLength {
		key = key[:keyLength]
	}
	return key
}

// keyLength is the length of a store key: "sha512-" and 64 hex digits.
const keyLength = len("sha512-") + 64
