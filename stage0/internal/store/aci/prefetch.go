package aci

import (
	"io"
	"sync"
)

const (
	prefetchChunkSize  = 256 << 10
	prefetchChunkCount = 8
)

type chunk struct {
	buf []byte
	n   int
	err error
}

// prefetchReader reads its source in a separate goroutine, so that
// decompression runs on one core while hashing and extraction run on another.
// At most prefetchChunkCount chunks are in flight, which keeps memory flat.
type prefetchReader struct {
	full    chan chunk
	free    chan []byte
	stop    chan struct{}
	done    sync.WaitGroup
	current chunk
	offset  int
	err     error
}

func newPrefetchReader(src io.Reader) *prefetchReader {
	p := &prefetchReader{
		full: make(chan chunk, prefetchChunkCount),
		free: make(chan []byte, prefetchChunkCount),
		stop: make(chan struct{}),
	}
	for range prefetchChunkCount {
		p.free <- make([]byte, prefetchChunkSize)
	}
	p.done.Add(1)
	go p.fill(src)
	return p
}

func (p *prefetchReader) fill(src io.Reader) {
	defer p.done.Done()
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.stop:
			return
		}
		n, err := io.ReadFull(src, buf)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case p.full <- chunk{buf: buf, n: n, err: err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (p *prefetchReader) Read(b []byte) (int, error) {
	for p.offset >= p.current.n {
		if p.err != nil {
			return 0, p.err
		}
		if p.current.buf != nil {
			p.free <- p.current.buf
		}
		p.current = <-p.full
		p.offset = 0
		p.err = p.current.err
	}
	n := copy(b, p.current.buf[p.offset:p.current.n])
	p.offset += n
	return n, nil
}

// Close stops the reading goroutine and waits for it to return.
func (p *prefetchReader) Close() error {
	close(p.stop)
	p.done.Wait()
	return nil
}
