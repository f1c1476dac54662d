package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/internal/testns"
	"github.com/rktfly/rkt/stage0/internal/store/aci"
)

func TestImportCompressionFormats(t *testing.T) {
	tarBytes := buildTar(t, simpleACI("example.com/app", map[string]string{"version": "1.0"}, "",
		dirEntry("rootfs/etc"),
		fileEntry("rootfs/etc/hello", "hello world\n"),
		symlinkEntry("rootfs/etc/link", "/etc/hello"),
	))
	want := keyOf(tarBytes)

	formats := []struct {
		name     string
		compress func(*testing.T, []byte) []byte
	}{
		{name: "uncompressed", compress: func(_ *testing.T, b []byte) []byte { return b }},
		{name: "gzip", compress: gzipBytes},
		{name: "xz", compress: xzBytes},
		{name: "bzip2", compress: bzip2Bytes},
	}
	for _, format := range formats {
		t.Run(format.name, func(t *testing.T) {
			s, base := openTestStore(t)
			path := writeFile(t, base, "app.aci", format.compress(t, tarBytes))

			key, err := s.ImportFile(path, ImportOptions{})
			if err != nil {
				t.Fatalf("ImportFile: %v", err)
			}
			if key != want {
				t.Errorf("key = %s, want sha512 of the uncompressed tar %s", key, want)
			}

			treeID, err := s.RenderTree(key)
			if err != nil {
				t.Fatalf("RenderTree: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(s.TreeRootfs(treeID), "etc/hello"))
			if err != nil {
				t.Fatalf("read rendered file: %v", err)
			}
			if string(got) != "hello world\n" {
				t.Errorf("rendered etc/hello = %q", got)
			}
			link, err := os.Readlink(filepath.Join(s.TreeRootfs(treeID), "etc/link"))
			if err != nil || link != "/etc/hello" {
				t.Errorf("rendered etc/link = %q, %v; want /etc/hello", link, err)
			}
			info, err := os.Stat(filepath.Join(s.TreeRootfs(treeID), "etc/hello"))
			if err != nil {
				t.Fatal(err)
			}
			if !info.ModTime().Equal(testModTime) {
				t.Errorf("mtime = %v, want %v", info.ModTime(), testModTime)
			}
			if _, err := os.Stat(filepath.Join(s.TreeDir(treeID), "manifest")); err != nil {
				t.Errorf("tree has no manifest: %v", err)
			}
		})
	}
}

func TestImportRecordsImage(t *testing.T) {
	s, _ := openTestStore(t)
	tarBytes := buildTar(t, simpleACI("example.com/app", map[string]string{"version": "1.0"}, ""))

	key, err := s.Import(bytes.NewReader(tarBytes), ImportOptions{Latest: true})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	images, err := s.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 {
		t.Fatalf("Images() = %d images, want 1", len(images))
	}
	if images[0].Key != key || images[0].Name != "example.com/app" || !images[0].Latest {
		t.Errorf("Images()[0] = %+v", images[0])
	}
	if images[0].Size != int64(len(tarBytes)) {
		t.Errorf("size = %d, want tar size %d (no tree rendered yet)", images[0].Size, len(tarBytes))
	}
	manifest, err := s.ImageManifest(key)
	if err != nil {
		t.Fatal(err)
	}
	if version, _ := manifest.GetLabel("version"); version != "1.0" {
		t.Errorf("manifest version = %q", version)
	}

	before := images[0].LastUsed
	time.Sleep(2 * time.Millisecond)
	if err := s.MarkUsed(key); err != nil {
		t.Fatal(err)
	}
	images, _ = s.Images()
	if !images[0].LastUsed.After(before) {
		t.Errorf("MarkUsed did not advance LastUsed")
	}
}

func TestImportBadInput(t *testing.T) {
	valid := simpleACI("example.com/app", nil, "")
	cases := []struct {
		name    string
		data    func(t *testing.T) []byte
		wantErr string
	}{
		{name: "not an archive", data: func(*testing.T) []byte { return []byte("this is not an ACI\n") }, wantErr: "read tar"},
		{name: "corrupt gzip", data: func(t *testing.T) []byte {
			gz := gzipBytes(t, buildTar(t, valid))
			gz[len(gz)/2] ^= 0xff
			gz[len(gz)/2+1] ^= 0xff
			return gz
		}, wantErr: "invalid ACI"},
		{name: "truncated gzip", data: func(t *testing.T) []byte {
			gz := gzipBytes(t, buildTar(t, valid))
			return gz[:len(gz)/2]
		}, wantErr: "invalid ACI"},
		{name: "invalid manifest", data: func(t *testing.T) []byte {
			return buildTar(t, []testEntry{fileEntry("manifest", `{"acKind":"PodManifest","acVersion":"0.8.11","name":"x"}`), dirEntry("rootfs")})
		}, wantErr: "not a valid appc image manifest"},
		{name: "manifest without name", data: func(t *testing.T) []byte {
			return buildTar(t, []testEntry{fileEntry("manifest", `{"acKind":"ImageManifest","acVersion":"0.8.11"}`), dirEntry("rootfs")})
		}, wantErr: "name must be set"},
		{name: "missing manifest", data: func(t *testing.T) []byte {
			return buildTar(t, []testEntry{dirEntry("rootfs"), fileEntry("rootfs/a", "a")})
		}, wantErr: "no manifest"},
		{name: "missing rootfs", data: func(t *testing.T) []byte {
			return buildTar(t, []testEntry{fileEntry("manifest", manifestJSON("example.com/app", nil, ""))})
		}, wantErr: "no rootfs/"},
		{name: "extra top-level entry", data: func(t *testing.T) []byte {
			return buildTar(t, append(append([]testEntry(nil), valid...), fileEntry("extra", "x")))
		}, wantErr: "unexpected top-level entry"},
		{name: "dot-dot entry", data: func(t *testing.T) []byte {
			return buildTar(t, append(append([]testEntry(nil), valid...), fileEntry("rootfs/../../escape", "x")))
		}, wantErr: `contains ".."`},
		{name: "absolute entry", data: func(t *testing.T) []byte {
			return buildTar(t, append(append([]testEntry(nil), valid...), fileEntry("/rootfs/abs", "x")))
		}, wantErr: "absolute name"},
		{name: "write through symlink", data: func(t *testing.T) []byte {
			return buildTar(t, append(append([]testEntry(nil), valid...),
				symlinkEntry("rootfs/etc", "/tmp"),
				fileEntry("rootfs/etc/passwd", "owned")))
		}, wantErr: "is a symlink"},
		{name: "write through relative symlink", data: func(t *testing.T) []byte {
			return buildTar(t, append(append([]testEntry(nil), valid...),
				symlinkEntry("rootfs/up", "../../../.."),
				dirEntry("rootfs/up/x")))
		}, wantErr: "is a symlink"},
		{name: "hard link outside rootfs", data: func(t *testing.T) []byte {
			return buildTar(t, append(append([]testEntry(nil), valid...),
				testEntry{name: "rootfs/passwd", typeflag: '1', linkname: "../etc/passwd"}))
		}, wantErr: `contains ".."`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, base := openTestStore(t)
			outside := filepath.Join(base, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, outside, "bad.aci", tc.data(t))

			_, err := s.ImportFile(path, ImportOptions{})
			if err == nil {
				t.Fatal("ImportFile succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error = %q, want it to name the file %s", err, path)
			}
			if !errors.Is(err, aci.ErrInvalidACI) {
				t.Errorf("error %q does not wrap ErrInvalidACI", err)
			}
			requireEmptyStore(t, s)
			entries, err := os.ReadDir(outside)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory next to the ACI has %d entries, want only the ACI", len(entries))
			}
		})
	}
}

func TestImportFileMissingOrUnreadable(t *testing.T) {
	s, base := openTestStore(t)
	missing := filepath.Join(base, "missing.aci")
	_, err := s.ImportFile(missing, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "check the path") {
		t.Errorf("missing file error = %v, want it to name %s and suggest checking the path", err, missing)
	}

	_, err = s.ImportFile(base, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory error = %v, want \"not a regular file\"", err)
	}
	requireEmptyStore(t, s)
}

func TestImportFileStatCache(t *testing.T) {
	s, base := openTestStore(t)
	path := writeFile(t, base, "app.aci", gzipBytes(t, buildTar(t, simpleACI("example.com/app", nil, ""))))

	opens := 0
	openACIFile = func(name string) (*os.File, error) {
		opens++
		return os.Open(name)
	}
	t.Cleanup(func() { openACIFile = os.Open })

	first, err := s.ImportFile(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.ImportFile(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("keys differ: %s, %s", first, second)
	}
	if opens != 1 {
		t.Errorf("file opened %d times for two imports of an unchanged file, want 1", opens)
	}

	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportFile(path, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if opens != 2 {
		t.Errorf("file opened %d times after its mtime changed, want 2", opens)
	}

	// Replacing the content changes size or inode; the new image is imported.
	newPath := writeFile(t, base, "new.aci", buildTar(t, simpleACI("example.com/other", nil, "")))
	if err := os.Rename(newPath, path); err != nil {
		t.Fatal(err)
	}
	third, err := s.ImportFile(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if third == first {
		t.Errorf("replaced file returned the old key %s", first)
	}
}

func TestImportConcurrentSameFile(t *testing.T) {
	s, base := openTestStore(t)
	path := writeFile(t, base, "app.aci", gzipBytes(t, buildTar(t, simpleACI("example.com/app", nil, "",
		fileEntry("rootfs/data", strings.Repeat("x", 1<<20))))))

	const workers = 4
	keys := make([]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate Store values behave as separate processes would:
			// they share only the directory.
			other, err := Open(s.Dir(), Options{})
			if err != nil {
				errs[i] = err
				return
			}
			keys[i], errs[i] = other.ImportFile(path, ImportOptions{})
		}()
	}
	wg.Wait()
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("import %d: %v", i, errs[i])
		}
		if keys[i] != keys[0] {
			t.Errorf("import %d key %s, want %s", i, keys[i], keys[0])
		}
	}
	images, err := s.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 {
		t.Errorf("Images() = %d images, want 1", len(images))
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp"))
	if len(entries) != 0 {
		t.Errorf("tmp/ has %d entries, want none", len(entries))
	}
}

// makeStaleStaging creates tmp/import-dead as a killed import leaves it,
// older than the grace period, and a locked staging directory of the same
// age. It returns both paths and drops the lock when the test ends.
func makeStaleStaging(t *testing.T, s *Store) (stale, locked string) {
	t.Helper()
	stale = filepath.Join(s.Dir(), "tmp", "import-dead")
	if err := os.MkdirAll(filepath.Join(stale, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	live, err := s.newStaging("import-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.discard(s.log) })
	if err := os.Chtimes(live.path, old, old); err != nil {
		t.Fatal(err)
	}
	return stale, live.path
}

func TestImportRemovesStaleStaging(t *testing.T) {
	s, _ := openTestStore(t)
	stale, locked := makeStaleStaging(t, s)

	if _, err := s.Import(bytes.NewReader(buildTar(t, simpleACI("example.com/app", nil, ""))), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale staging directory after an import: %v, want it removed", err)
	}
	if _, err := os.Stat(locked); err != nil {
		t.Errorf("locked staging directory after an import: %v, want it kept", err)
	}
}

func TestWarmPathKeepsStaleStaging(t *testing.T) {
	s, base := openTestStore(t)
	path := writeFile(t, base, "app.aci", buildTar(t, simpleACI("example.com/app", nil, "")))
	if _, err := s.ImportFile(path, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	stale, _ := makeStaleStaging(t, s)

	// Neither Open nor an import served from the stat cache scans tmp/.
	reopened, err := Open(s.Dir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reopened.ImportFile(path, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("stale staging directory after Open and a cached import: %v, want it kept until the next real import", err)
	}
}

func TestImportReportsCreated(t *testing.T) {
	s, base := openTestStore(t)
	tarBytes := buildTar(t, simpleACI("example.com/app", nil, ""))
	path := writeFile(t, base, "app.aci", tarBytes)

	first, err := s.ImportFileAndReport(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created {
		t.Errorf("first import of %s: Created = false, want true", first.Key)
	}
	cached, err := s.ImportFileAndReport(path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cached.Created || cached.Key != first.Key {
		t.Errorf("import of the unchanged file = %+v, want key %s and Created false", cached, first.Key)
	}
	again, err := s.ImportAndReport(bytes.NewReader(tarBytes), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Key != first.Key {
		t.Errorf("import of the stored image from a reader = %+v, want key %s and Created false", again, first.Key)
	}
}

func TestImportPreservesOwnersAndNodes(t *testing.T) {
	testns.RequireRoot(t)
	s, _ := openTestStore(t)
	tarBytes := buildTar(t, simpleACI("example.com/app", nil, "",
		testEntry{name: "rootfs/owned", typeflag: '0', body: "x", mode: 0o4755, uid: 1234, gid: 5678},
		testEntry{name: "rootfs/fifo", typeflag: '6', mode: 0o600, uid: 1, gid: 2},
		testEntry{name: "rootfs/null", typeflag: '3', mode: 0o666},
		testEntry{name: "rootfs/hard", typeflag: '1', linkname: "rootfs/owned"},
	))
	key, err := s.Import(bytes.NewReader(tarBytes), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	treeID, err := s.RenderTree(key)
	if err != nil {
		t.Fatal(err)
	}
	root := s.TreeRootfs(treeID)

	info, err := os.Lstat(filepath.Join(root, "owned"))
	if err != nil {
		t.Fatal(err)
	}
	st := statOf(t, info)
	if st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("owner = %d:%d, want 1234:5678", st.Uid, st.Gid)
	}
	if info.Mode()&os.ModeSetuid == 0 || info.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v, want setuid 0755", info.Mode())
	}
	fifo, err := os.Lstat(filepath.Join(root, "fifo"))
	if err != nil || fifo.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo = %v, %v", fifo, err)
	}
	hard, err := os.Lstat(filepath.Join(root, "hard"))
	if err != nil || !os.SameFile(hard, info) {
		t.Errorf("hard link is not the same file as its target: %v", err)
	}

	copied := filepath.Join(t.TempDir(), "copy")
	if err := s.CopyTree(treeID, copied); err != nil {
		t.Fatalf("CopyTree: %v", err)
	}
	cinfo, err := os.Lstat(filepath.Join(copied, "owned"))
	if err != nil {
		t.Fatal(err)
	}
	cst := statOf(t, cinfo)
	if cst.Uid != 1234 || cst.Gid != 5678 || cinfo.Mode() != info.Mode() {
		t.Errorf("copied owned = %d:%d %v, want 1234:5678 %v", cst.Uid, cst.Gid, cinfo.Mode(), info.Mode())
	}
	if os.SameFile(cinfo, info) {
		t.Errorf("CopyTree linked the file instead of copying it")
	}
	chard, err := os.Lstat(filepath.Join(copied, "hard"))
	if err != nil || !os.SameFile(chard, cinfo) {
		t.Errorf("copied hard link not preserved: %v", err)
	}
	cnull, err := os.Lstat(filepath.Join(copied, "null"))
	if err != nil || cnull.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("copied device node = %v, %v", cnull, err)
	}
	if !cinfo.ModTime().Equal(testModTime) {
		t.Errorf("copied mtime = %v, want %v", cinfo.ModTime(), testModTime)
	}
}

// A FIFO is rejected before it is opened: opening it would block until a
// writer appears.
func TestImportFileRejectsFIFO(t *testing.T) {
	s, base := openTestStore(t)
	fifo := filepath.Join(base, "fifo.aci")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.ImportFile(fifo, ImportOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("FIFO error = %v, want \"not a regular file\"", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ImportFile of a FIFO blocked for 10s")
	}
	requireEmptyStore(t, s)
}

func TestOpenNonblockingFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := openNonblocking(fifo)
	if err != nil {
		t.Fatalf("openNonblocking(FIFO) = %v, want an fd that Fstat rejects", err)
	}
	f.Close()
}
