package aci

import (
	"archive/tar"
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log"
	"path"
	"strings"

	"github.com/appc/spec/schema"

	"github.com/rktfly/rkt/common/jsonname"
)

// MaxManifestSize is the largest image manifest accepted, in bytes. The
// manifest is held in memory, so it needs a bound.
const MaxManifestSize = 4 << 20

// ErrInvalidACI is wrapped by every error caused by the content of the input
// rather than by the destination, so callers can tell bad input apart.
var ErrInvalidACI = errors.New("invalid ACI")

// Result describes an extracted image.
type Result struct {
	// Digest is the hex SHA-512 of the whole uncompressed tar.
	Digest string
	// Size is the length of the uncompressed tar in bytes.
	Size int64
	// Compression is the format detected from the magic bytes.
	Compression Compression
	// ManifestJSON is the manifest as stored in the archive.
	ManifestJSON []byte
	// Manifest is the parsed and validated manifest.
	Manifest *schema.ImageManifest
}

// Key returns the store key: "sha512-" and the first 64 hex digits of the digest.
func (r *Result) Key() string {
	return "sha512-" + r.Digest[:64]
}

// ExtractOptions tunes Extract.
type ExtractOptions struct {
	// Log receives debug messages. Nil discards them.
	Log *log.Logger
	// MaxNameLength is the longest entry name, in bytes after "rootfs/",
	// that is accepted. Zero means no limit.
	MaxNameLength int
}

// Extract reads an ACI from r and writes it into dir, which must exist and
// hold no manifest or rootfs entry: the manifest to dir/manifest and the root
// filesystem below dir/rootfs. Every entry is resolved inside dir without following symlinks,
// and entries named with "..", absolute names or names that go through a
// symlink are rejected. On error dir holds a partial tree that the caller
// removes.
func Extract(r io.Reader, dir string, opts ExtractOptions) (*Result, error) {
	logger := opts.Log
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}

	raw, compression, err := Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidACI, err)
	}
	defer raw.Close()

	prefetch := newPrefetchReader(raw)
	defer prefetch.Close()

	hasher := sha512.New()
	counter := &countingHasher{hash: hasher}
	tee := io.TeeReader(prefetch, counter)

	root, err := openRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.close()

	x := &extractor{root: root, logger: logger, buf: make([]byte, 256<<10), maxName: opts.MaxNameLength}
	if err := x.readArchive(tar.NewReader(tee)); err != nil {
		return nil, err
	}

	// The tar reader stops at the end-of-archive marker. The bytes after it
	// (block padding) belong to the uncompressed tar and so to its hash.
	if _, err := io.CopyBuffer(io.Discard, tee, x.buf); err != nil {
		return nil, fmt.Errorf("%w: read after end of archive: %w", ErrInvalidACI, err)
	}
	if err := x.finish(); err != nil {
		return nil, err
	}
	logger.Printf("extracted %d bytes of %s tar into %s", counter.n, compression, dir)

	return &Result{
		Digest:       hex.EncodeToString(hasher.Sum(nil)),
		Size:         counter.n,
		Compression:  compression,
		ManifestJSON: x.manifestJSON,
		Manifest:     x.manifest,
	}, nil
}

type countingHasher struct {
	hash hash.Hash
	n    int64
}

func (c *countingHasher) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return c.hash.Write(b)
}

type extractor struct {
	root         *rootDir
	logger       *log.Logger
	buf          []byte
	manifestJSON []byte
	manifest     *schema.ImageManifest
	sawRootfs    bool
	dirTimes     []dirTime
	maxName      int
}

func (x *extractor) readArchive(tr *tar.Reader) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: read tar: %w (expected a tar archive, optionally gzip, bzip2 or xz compressed)", ErrInvalidACI, err)
		}
		if err := x.entry(tr, hdr); err != nil {
			return err
		}
	}

	if x.manifest == nil {
		return fmt.Errorf("%w: archive has no manifest entry", ErrInvalidACI)
	}
	if !x.sawRootfs {
		return fmt.Errorf("%w: archive has no rootfs/ entry", ErrInvalidACI)
	}
	return nil
}

// cleanEntryName checks an entry name and returns it without "." components
// or a trailing "/", so "./rootfs/./bin/" becomes "rootfs/bin". The archive
// root ("./" or ".", which GNU tar writes first for "tar -C dir -c .") comes
// back as "". Names are never made to fit by cleaning: a name with "..", an
// empty component or an absolute name is rejected.
func cleanEntryName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: entry %q has an absolute name", ErrInvalidACI, name)
	}
	trimmed := strings.TrimRight(name, "/")
	if trimmed == "" {
		return "", fmt.Errorf("%w: entry %q has an empty name", ErrInvalidACI, name)
	}
	var parts []string
	for _, part := range strings.Split(trimmed, "/") {
		switch part {
		case "..":
			return "", fmt.Errorf("%w: entry %q contains \"..\"", ErrInvalidACI, name)
		case "":
			return "", fmt.Errorf("%w: entry %q has an empty path component", ErrInvalidACI, name)
		case ".":
			continue
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "/"), nil
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if err := x.checkNameLength(name); err != nil {
		return err
	}

	switch {
	case name == "":
		// The archive root is the image directory itself, which the caller
		// created, so its header carries nothing to apply.
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: entry %q names the archive root but is not a directory", ErrInvalidACI, hdr.Name)
		}
		return nil
	case name == "manifest":
		return x.readManifest(tr, hdr)
	case name == "rootfs":
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: entry \"rootfs\" is not a directory", ErrInvalidACI)
		}
		x.sawRootfs = true
		return x.extractEntry(tr, hdr, name)
	case strings.HasPrefix(name, "rootfs/"):
		x.sawRootfs = true
		return x.extractEntry(tr, hdr, name)
	default:
		return fmt.Errorf("%w: unexpected top-level entry %q (an ACI contains only manifest and rootfs/)", ErrInvalidACI, hdr.Name)
	}
}

func (x *extractor) readManifest(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
		return fmt.Errorf("%w: entry \"manifest\" is not a regular file", ErrInvalidACI)
	}
	if x.manifest != nil {
		return fmt.Errorf("%w: archive has more than one manifest entry", ErrInvalidACI)
	}
	if hdr.Size > MaxManifestSize {
		return fmt.Errorf("%w: manifest is %d bytes, more than the maximum %d", ErrInvalidACI, hdr.Size, MaxManifestSize)
	}

	var data bytes.Buffer
	if _, err := io.Copy(&data, tr); err != nil {
		return fmt.Errorf("%w: read manifest: %w", ErrInvalidACI, err)
	}
	var manifest schema.ImageManifest
	if err := json.Unmarshal(data.Bytes(), &manifest); err != nil {
		return fmt.Errorf("%w: manifest is not a valid appc image manifest: %w", ErrInvalidACI, err)
	}
	// The stage1 rejects such a manifest, which decoders read differently.
	if err := jsonname.Check(data.Bytes()); err != nil {
		return fmt.Errorf("%w: manifest: %w", ErrInvalidACI, err)
	}

	if err := x.root.writeFile("manifest", data.Bytes(), 0o644); err != nil {
		return err
	}
	x.manifestJSON = data.Bytes()
	x.manifest = &manifest
	return nil
}

// finish applies the directory timestamps, deepest last-created first, so that
// creating entries inside a directory does not change its recorded mtime.
func (x *extractor) finish() error {
	for i := len(x.dirTimes) - 1; i >= 0; i-- {
		d := x.dirTimes[i]
		if err := x.root.setTimes(d.name, d.atime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

// splitName returns the last component of a cleaned entry name and its parent.
func splitName(name string) (parent, base string) {
	parent, base = path.Split(name)
	return strings.TrimSuffix(parent, "/"), base
}

// checkNameLength rejects an entry whose name below rootfs/ is longer than
// the extractor's limit. The error shows the start of the name only.
func (x *extractor) checkNameLength(name string) error {
	inRootfs := strings.TrimPrefix(name, "rootfs/")
	if x.maxName <= 0 || len(inRootfs) <= x.maxName {
		return nil
	}
	return fmt.Errorf("%w: entry %q… is %d bytes long, and the store can place names of at most %d bytes: shorten the image's paths",
		ErrInvalidACI, inRootfs[:min(64, len(inRootfs))], len(inRootfs), x.maxName)
}
