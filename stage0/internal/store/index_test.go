package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestMarkUsedIfOlder(t *testing.T) {
	s, _ := openTestStore(t)
	key, err := s.Import(bytes.NewReader(buildTar(t, simpleACI("example.com/app", nil, ""))), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	imported, err := s.getImage(key)
	if err != nil {
		t.Fatal(err)
	}

	// Import recorded now as the last use, which is less than an hour ago.
	wrote, err := s.MarkUsedIfOlder(key, time.Hour)
	if err != nil {
		t.Fatalf("MarkUsedIfOlder(1h): %v", err)
	}
	if wrote {
		t.Errorf("MarkUsedIfOlder(1h) wrote the index right after the import")
	}

	time.Sleep(2 * time.Millisecond)
	wrote, err = s.MarkUsedIfOlder(key, time.Millisecond)
	if err != nil {
		t.Fatalf("MarkUsedIfOlder(1ms): %v", err)
	}
	if !wrote {
		t.Errorf("MarkUsedIfOlder(1ms) did not write a last use 2ms old")
	}
	// The write cleared the cache, so this reads the index again.
	rec, err := s.getImage(key)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.LastUsed.After(imported.LastUsed) {
		t.Errorf("LastUsed = %v, want after %v", rec.LastUsed, imported.LastUsed)
	}

	if _, err := s.MarkUsedIfOlder("sha512-"+string(bytes.Repeat([]byte("0"), 64)), time.Hour); err == nil {
		t.Errorf("MarkUsedIfOlder of a missing image returned no error")
	}
}

func TestRecordCacheClearedByWrite(t *testing.T) {
	s, _ := openTestStore(t)
	key, err := s.Import(bytes.NewReader(buildTar(t, simpleACI("example.com/app", nil, ""))), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if _, err := s.ImageManifest(key); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.cachedRecord(key); !ok {
		t.Fatalf("ImageManifest did not cache the record of %s", key)
	}
	if err := s.RemoveImage(key); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.cachedRecord(key); ok {
		t.Errorf("record of %s still cached after RemoveImage", key)
	}
	if _, err := s.ImageManifest(key); err == nil {
		t.Errorf("ImageManifest of a removed image returned no error")
	}
}

// TestLookupsReadIndexOnce checks that after the first lookup the lookups of
// a Store are served from its copy of the index, even while another process
// holds the index exclusively, and that a write through the Store drops the
// copy.
func TestLookupsReadIndexOnce(t *testing.T) {
	s, _ := openTestStore(t)
	first, err := s.Import(bytes.NewReader(buildTar(t, simpleACI("example.com/first", nil, ""))), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if _, err := s.FindByName("example.com/first", nil); err != nil {
		t.Fatalf("FindByName: %v", err)
	}

	// A writing rkt process holds the index like this.
	db, err := bolt.Open(s.indexPath(), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("open index exclusively: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		if _, err := s.FindByName("example.com/first", nil); err != nil {
			done <- err
			return
		}
		if _, err := s.ImageManifest(first); err != nil {
			done <- err
			return
		}
		if _, err := s.Signature(first); !errors.Is(err, ErrNotFound) {
			done <- fmt.Errorf("Signature of an unverified image: got %v, want ErrNotFound", err)
			return
		}
		if _, err := s.GetRemote("https://example.com/first.aci"); !errors.Is(err, ErrNotFound) {
			done <- fmt.Errorf("GetRemote of an unknown URL: got %v, want ErrNotFound", err)
			return
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		db.Close()
		t.Fatal("a lookup waited for the index lock: it did not use the copy read by the first lookup")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	second, err := s.Import(bytes.NewReader(buildTar(t, simpleACI("example.com/second", nil, ""))), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	got, err := s.FindByName("example.com/second", nil)
	if err != nil {
		t.Fatalf("FindByName after a write through the store: %v", err)
	}
	if got != second {
		t.Errorf("FindByName(example.com/second) = %s, want %s", got, second)
	}
}
