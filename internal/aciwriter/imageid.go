package aciwriter

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz"
)

// Magic numbers of the compressions an ACI may use (appc spec, "Image
// Archives"): gzip, bzip2 and xz.
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// ImageID reads an ACI, compressed or not, and returns its image ID:
// "sha512-" followed by the hex SHA-512 of the uncompressed tar stream.
func ImageID(r io.Reader) (string, error) {
	tarStream, err := Decompress(r)
	if err != nil {
		return "", err
	}
	h := sha512.New()
	if _, err := io.Copy(h, tarStream); err != nil {
		return "", fmt.Errorf("hash tar stream: %w", err)
	}
	return "sha512-" + hex.EncodeToString(h.Sum(nil)), nil
}

// Decompress returns the tar stream of an ACI, detecting gzip, bzip2 and xz
// by their magic numbers. Any other input is returned as it is.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(len(xzMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read archive header: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(head, bzip2Magic):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(head, xzMagic):
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open xz stream: %w", err)
		}
		return zr, nil
	default:
		return br, nil
	}
}
