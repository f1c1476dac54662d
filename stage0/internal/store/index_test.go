package store

import (
	"bytes"
	"testing"
	"time"
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
