package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rktfly/rkt/stage0/internal/store/aci"
)

// deepEntries returns directory entries rootfs/d/d/... nested depth times,
// and a file at the bottom.
func deepEntries(depth int) []testEntry {
	var entries []testEntry
	path := "rootfs"
	for i := 0; i < depth; i++ {
		path += "/d"
		entries = append(entries, dirEntry(path))
	}
	return append(entries, fileEntry(path+"/file", "deep"))
}

func TestImportRejectsNameTooLongToPlace(t *testing.T) {
	s, _ := openTestStore(t)
	limit := s.maxNameLength()
	depth := limit/2 + 1 // "d/" per level makes the file's name longer than limit
	entries := simpleACI("example.com/deep", map[string]string{"os": "linux", "arch": "amd64"}, "", deepEntries(depth)...)

	_, err := s.Import(bytes.NewReader(buildTar(t, entries)), ImportOptions{})
	if !errors.Is(err, aci.ErrInvalidACI) {
		t.Fatalf("Import of a %d-level image: %v, want an error wrapping ErrInvalidACI", depth, err)
	}
	if !strings.Contains(err.Error(), "shorten the image's paths") {
		t.Errorf("error %q does not say how to fix it", err)
	}
	if len(err.Error()) > 400 {
		t.Errorf("error is %d bytes long, want the name cut short", len(err.Error()))
	}
	requireEmptyStore(t, s)
}

func TestImportRendersDeepImage(t *testing.T) {
	s, _ := openTestStore(t)
	// Three hundred levels stay below the limit, so they import and render.
	entries := simpleACI("example.com/deep", map[string]string{"os": "linux", "arch": "amd64"}, "", deepEntries(300)...)
	key, err := s.Import(bytes.NewReader(buildTar(t, entries)), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if _, err := s.RenderTree(key); err != nil {
		t.Fatalf("RenderTree: %v", err)
	}
}
