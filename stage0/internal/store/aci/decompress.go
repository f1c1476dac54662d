package aci

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// Compression is the compression format of an ACI file.
type Compression string

// Compression formats recognised by their magic bytes.
const (
	CompressionNone  Compression = "none"
	CompressionGzip  Compression = "gzip"
	CompressionBzip2 Compression = "bzip2"
	CompressionXz    Compression = "xz"
)

var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// readBufferSize is the size of the buffer in front of the compressed input.
const readBufferSize = 256 << 10

// Decompress detects the compression of r by its magic bytes and returns a
// reader of the uncompressed bytes. Closing it releases the decompressor.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, readBufferSize)
	head, err := br.Peek(len(magicXz))
	if err != nil && err != io.EOF {
		return nil, "", fmt.Errorf("read header: %w", err)
	}

	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, CompressionGzip, nil
	case bytes.HasPrefix(head, magicBzip2):
		return io.NopCloser(bzip2.NewReader(br)), CompressionBzip2, nil
	case bytes.HasPrefix(head, magicXz):
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("open xz stream: %w", err)
		}
		return io.NopCloser(zr), CompressionXz, nil
	default:
		return io.NopCloser(br), CompressionNone, nil
	}
}
