package fetch

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressReader reports the bytes read from body on Stderr: a progress bar
// when Stderr is a terminal, else one line at the start and one at the end.
// size is -1 when unknown.
func (f *Fetcher) progressReader(body io.ReadCloser, url string, size int64) io.ReadCloser {
	w := f.stderr()
	if file, ok := w.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		bar := progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("Downloading "+url),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			progressbar.OptionFullWidth(),
		)
		return &barReader{body: body, bar: bar}
	}
	if size >= 0 {
		fmt.Fprintf(w, "Downloading %s (%d bytes)\n", url, size)
	} else {
		fmt.Fprintf(w, "Downloading %s\n", url)
	}
	return &lineReader{body: body, w: w, url: url}
}

type barReader struct {
	body io.ReadCloser
	bar  *progressbar.ProgressBar
}

func (r *barReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	_ = r.bar.Add(n)
	if err == io.EOF {
		_ = r.bar.Finish()
	}
	return n, err
}

func (r *barReader) Close() error { return r.body.Close() }

// lineReader prints one line when the body reaches its end.
type lineReader struct {
	body  io.ReadCloser
	w     io.Writer
	url   string
	total int64
	done  bool
}

func (r *lineReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.total += int64(n)
	if err == io.EOF && !r.done {
		r.done = true
		fmt.Fprintf(r.w, "Downloaded %s: %d bytes\n", r.url, r.total)
	}
	return n, err
}

func (r *lineReader) Close() error { return r.body.Close() }
