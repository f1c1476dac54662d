package store

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/stage0/internal/store/aci"
)

// blobName is the file in an image directory that holds the ACI exactly as it
// was imported, compressed or not. The image ID is the SHA-512 of its
// uncompressed content.
const blobName = "blob"

// ErrImageCorrupt is returned when a stored blob no longer hashes to its key
// or cannot be decompressed.
var ErrImageCorrupt = errors.New("stored image does not match its ID")

// blobTee is a reader that copies every byte read from r to a blob file. A
// failed write is kept apart from read errors, so that a full disk is not
// reported as an invalid ACI.
type blobTee struct {
	r        io.Reader
	blob     *os.File
	writeErr error
}

func (t *blobTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 && t.writeErr == nil {
		if _, werr := t.blob.Write(p[:n]); werr != nil {
			t.writeErr = werr
			return n, werr
		}
	}
	return n, err
}

// extractWithBlob extracts the ACI read from r into dir and writes the input
// bytes to dir/blob in the same pass. The blob is synced before returning,
// because it is the copy that ReRenderTree restores damaged images from.
func (s *Store) extractWithBlob(r io.Reader, dir string) (*aci.Result, error) {
	blobPath := filepath.Join(dir, blobName)
	blob, err := os.OpenFile(blobPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	defer blob.Close()

	tee := &blobTee{r: r, blob: blob}
	// Extract reads the tee from its prefetch goroutine and waits for that
	// goroutine before it returns, so tee.writeErr is safe to read here.
	result, err := aci.Extract(tee, dir, aci.ExtractOptions{Log: s.log, MaxNameLength: s.maxNameLength()})
	if tee.writeErr != nil {
		return nil, fmt.Errorf("write blob %s: %w", blobPath, tee.writeErr)
	}
	if err != nil {
		return nil, err
	}
	// A decompressor may stop before the end of its input. Copying the rest
	// makes the blob equal to the whole input, and replaying it through the
	// same decompressor yields the same tar.
	if _, err := io.Copy(blob, r); err != nil {
		return nil, fmt.Errorf("copy rest of input to blob %s: %w", blobPath, err)
	}
	if err := blob.Sync(); err != nil {
		return nil, fmt.Errorf("sync blob %s: %w", blobPath, err)
	}
	if err := blob.Close(); err != nil {
		return nil, fmt.Errorf("close blob %s: %w", blobPath, err)
	}
	return result, nil
}

// ImageTar opens the uncompressed tar of a stored image, whose SHA-512 is the
// image ID. The blob is decompressed while it is read and hashed on the way:
// a read that reaches the end returns an error wrapping ErrImageCorrupt instead
// of io.EOF when the digest does not match the key. A caller that writes the
// bytes somewhere must therefore discard its output on any error.
func (s *Store) ImageTar(key string) (io.ReadCloser, error) {
	key = normalizeKey(key)
	if _, err := s.getImage(key); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.imageDir(key), blobName))
	if err != nil {
		return nil, fmt.Errorf("open blob of image %s: %w", key, err)
	}
	raw, _, err := aci.Decompress(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrImageCorrupt, key, err)
	}
	return &verifyingReader{key: key, file: f, raw: raw, hash: sha512.New()}, nil
}

// VerifyImage reads the blob of a stored image and checks that its
// uncompressed content hashes to key. A mismatch or a blob that cannot be
// decompressed wraps ErrImageCorrupt.
func (s *Store) VerifyImage(key string) error {
	rc, err := s.ImageTar(key)
	if err != nil {
		return fmt.Errorf("verify image %s: %w", key, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("verify image %s: %w", key, err)
	}
	return nil
}

// verifyingReader is a reader of the decompressed blob that checks its digest
// at the end.
type verifyingReader struct {
	key  string
	file *os.File
	raw  io.ReadCloser
	hash hash.Hash
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.raw.Read(p)
	v.hash.Write(p[:n])
	switch {
	case err == io.EOF:
		digest := hex.EncodeToString(v.hash.Sum(nil))
		if "sha512-"+digest[:64] != v.key {
			return n, fmt.Errorf("%w: %s: blob content hashes to sha512-%s", ErrImageCorrupt, v.key, digest[:64])
		}
		return n, io.EOF
	case err != nil && !isIOError(err):
		// Anything but a failed read of the file is a decompressor
		// complaining about its input, such as a gzip checksum mismatch.
		return n, fmt.Errorf("%w: %s: decompress blob: %w", ErrImageCorrupt, v.key, err)
	default:
		return n, err
	}
}

func (v *verifyingReader) Close() error {
	return errors.Join(v.raw.Close(), v.file.Close())
}

func isIOError(err error) bool {
	var pathErr *fs.PathError
	return errors.As(err, &pathErr)
}

// restoreImage extracts an image again from its blob and swaps the new
// directory in for the old one. The tar is checked against the key on the
// way, so a damaged blob leaves the old directory in place.
func (s *Store) restoreImage(key string) error {
	lock, err := s.lock(key)
	if err != nil {
		return fmt.Errorf("lock image %s: %w", key, err)
	}
	defer lock.unlock()

	blobPath := filepath.Join(s.imageDir(key), blobName)
	blob, err := os.Open(blobPath)
	if err != nil {
		return fmt.Errorf("open blob of image %s: %w", key, err)
	}
	defer blob.Close()

	staging, err := s.newStaging("restore-")
	if err != nil {
		return err
	}
	defer staging.discard(s.log)

	result, err := aci.Extract(blob, staging.path, aci.ExtractOptions{Log: s.log, MaxNameLength: s.maxNameLength()})
	if errors.Is(err, aci.ErrInvalidACI) {
		return fmt.Errorf("%w: %s: %w", ErrImageCorrupt, key, err)
	}
	if err != nil {
		return fmt.Errorf("extract image %s from its blob: %w", key, err)
	}
	if result.Key() != key {
		return fmt.Errorf("%w: %s: blob content hashes to %s", ErrImageCorrupt, key, result.Key())
	}
	if err := os.Link(blobPath, filepath.Join(staging.path, blobName)); err != nil {
		return fmt.Errorf("link blob of image %s: %w", key, err)
	}
	if err := s.replaceDir(staging.path, s.imageDir(key)); err != nil {
		return fmt.Errorf("replace image %s: %w", key, err)
	}
	s.log.Printf("extracted image %s again from its blob", key)
	return nil
}

// replaceDir puts the staging directory src in place of dst. Both are
// swapped in one renameat2(RENAME_EXCHANGE), so dst never goes missing, and
// the old content, now at src, goes when the staging directory is discarded.
// Where the filesystem does not support the exchange, dst is removed first
// and src renamed.
func (s *Store) replaceDir(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.ENOENT) {
		return &os.LinkError{Op: "exchange", Old: src, New: dst, Err: err}
	}
	if err := s.removeDir(dst); err != nil {
		return err
	}
	return os.Rename(src, dst)
}

// maxNameLength returns the longest rootfs entry name that the store can
// place: rendering works with host paths below tree/<treeID>/rootfs, and a
// host path may not exceed the kernel's PATH_MAX.
func (s *Store) maxNameLength() int {
	longestTreeID := "deps-sha512-" + strings.Repeat("0", 64)
	return unix.PathMax - 1 - len(filepath.Join(s.TreeRootfs(longestTreeID), "x")) + 1
}
