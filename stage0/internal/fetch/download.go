package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/stage0/internal/localfetch"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// maxSignatureSize bounds a downloaded detached signature.
const maxSignatureSize = 1 << 20

// download fetches the image (and its signature unless lf.Insecure),
// verifies it, imports it and records the cache fields. With a cache record
// it sends If-None-Match, and an HTTP 304 keeps the stored image. lf is the
// localfetch.Fetcher of the call, which checks signatures and prints notices.
func (f *Fetcher) download(ctx context.Context, lf *localfetch.Fetcher, rr localfetch.RemoteRequest, cached *store.RemoteRecord) (string, error) {
	var etag string
	if cached != nil {
		etag = cached.ETag
	}
	if lf.Insecure {
		lf.WarnInsecureImage(rr.URL)
		return f.downloadStreaming(ctx, lf, rr, cached, etag)
	}

	sig, deferred, err := f.openSignature(ctx, rr)
	if err != nil {
		return "", err
	}
	aciFile, resp, err := f.downloadToFile(ctx, rr.URL, etag)
	if err != nil {
		return "", err
	}
	if resp.notModified {
		return f.revalidated(lf, rr, cached, resp)
	}
	defer aciFile.Close()
	key, err := f.verifyAndImport(ctx, lf, rr, aciFile, sig, deferred, resp)
	// Only an interrupted transfer keeps its partial file for resuming.
	f.removePartial(rr.URL)
	if err != nil {
		return "", err
	}
	return key, f.record(rr.URL, key, resp)
}

func (f *Fetcher) verifyAndImport(ctx context.Context, lf *localfetch.Fetcher, rr localfetch.RemoteRequest, aciFile *os.File, sig io.ReadSeeker, deferred bool, resp *httpResponse) (string, error) {
	var err error
	if deferred {
		// A 202 response for the signature means: request it again once
		// the image is downloaded.
		if sig, deferred, err = f.openSignature(ctx, rr); err != nil {
			return "", err
		}
		if deferred {
			return "", fmt.Errorf("fetch signature %s: server still responds 202 Accepted after the image download", rr.SigURL)
		}
	}
	signers, err := lf.Verify(rr.URL, aciFile, sig, rr.Check)
	if err != nil {
		return "", err
	}
	if _, err := aciFile.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("read download of %s: %w", rr.URL, err)
	}
	key, err := f.Store.Import(aciFile, store.ImportOptions{Latest: rr.Latest, RemoteURL: rr.URL, ETag: resp.etag, MaxAge: resp.maxAge})
	if err != nil {
		return "", fmt.Errorf("import image from %s: %w", rr.URL, err)
	}
	lf.RecordSignature(key, signers)
	return key, nil
}

// downloadStreaming imports the response body as it arrives, so an
// unverified download costs one pass and no temporary file.
func (f *Fetcher) downloadStreaming(ctx context.Context, lf *localfetch.Fetcher, rr localfetch.RemoteRequest, cached *store.RemoteRecord, etag string) (string, error) {
	resp, err := f.get(ctx, rr.URL, requestOptions{etag: etag})
	if err != nil {
		return "", err
	}
	defer resp.body.Close()
	if resp.notModified {
		return f.revalidated(lf, rr, cached, resp)
	}
	if resp.status != http.StatusOK {
		return "", fmt.Errorf("fetch %s: unexpected HTTP status %d", rr.URL, resp.status)
	}
	body := f.progressReader(resp.body, rr.URL, resp.size)
	imported, err := f.Store.ImportAndReport(body, store.ImportOptions{Latest: rr.Latest, RemoteURL: rr.URL, ETag: resp.etag, MaxAge: resp.maxAge})
	body.Close()
	if err != nil {
		return "", fmt.Errorf("import image from %s: %w", rr.URL, err)
	}
	key := imported.Key
	if rr.Check != nil {
		m, err := f.Store.ImageManifest(key)
		if err != nil {
			return "", err
		}
		if err := rr.Check(m); err != nil {
			// The image is whole and valid, but it is not what was
			// requested. It is removed only if this call added it.
			lf.RemoveNewImage(imported)
			return "", err
		}
	}
	return key, f.record(rr.URL, key, resp)
}

// revalidated handles an HTTP 304 response to a conditional request.
func (f *Fetcher) revalidated(lf *localfetch.Fetcher, rr localfetch.RemoteRequest, cached *store.RemoteRecord, resp *httpResponse) (string, error) {
	if cached == nil {
		return "", fmt.Errorf("fetch %s: server responded 304 Not Modified to an unconditional request", rr.URL)
	}
	f.logf("image %s from %s is unchanged (HTTP 304)", cached.Key, rr.URL)
	if _, err := lf.CheckCached(rr, cached.Key); err != nil {
		return "", err
	}
	if resp.etag == "" {
		resp.etag = cached.ETag
	}
	return cached.Key, f.record(rr.URL, cached.Key, resp)
}

func (f *Fetcher) record(url, key string, resp *httpResponse) error {
	return f.Store.SetRemote(store.RemoteRecord{
		URL:          url,
		Key:          key,
		ETag:         resp.etag,
		MaxAge:       resp.maxAge,
		DownloadTime: f.now(),
	})
}

// openSignature returns the detached signature: the local file if one was
// given, else the downloaded one. deferred is true when the server responded
// 202 Accepted, which means "request it again after the image".
func (f *Fetcher) openSignature(ctx context.Context, rr localfetch.RemoteRequest) (sig io.ReadSeeker, deferred bool, err error) {
	if rr.SigFile != "" {
		data, err := os.ReadFile(rr.SigFile)
		if err != nil {
			return nil, false, fmt.Errorf("read signature: %w", err)
		}
		return bytes.NewReader(data), false, nil
	}
	resp, err := f.get(ctx, rr.SigURL, requestOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("fetch signature (or use --insecure-options=image to skip verification): %w", err)
	}
	defer resp.body.Close()
	if resp.status == http.StatusAccepted {
		return nil, true, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.body, maxSignatureSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("fetch signature %s: %w", rr.SigURL, err)
	}
	if len(data) > maxSignatureSize {
		return nil, false, fmt.Errorf("fetch signature %s: larger than %d bytes", rr.SigURL, maxSignatureSize)
	}
	return bytes.NewReader(data), false, nil
}

// partialPath returns the temporary file of a download of url. Concurrent
// fetches of one URL share it under an flock.
func (f *Fetcher) partialPath(url string) string {
	return localfetch.PartialPath(f.tmpDir(), url)
}

func (f *Fetcher) removePartial(url string) {
	path := f.partialPath(url)
	for _, p := range []string{path, path + ".etag"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			f.logf("remove partial download %s: %v", p, err)
		}
	}
}

// downloadToFile downloads url into its partial file and returns that file,
// locked. A partial file left by an interrupted download is resumed with a
// Range request when its ETag is known. On a 304 the file is nil.
func (f *Fetcher) downloadToFile(ctx context.Context, url, etag string) (*os.File, *httpResponse, error) {
	path := f.partialPath(url)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("create download directory: %w", err)
	}
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("create download file: %w", err)
	}
	if err := flock(file); err != nil {
		file.Close()
		return nil, nil, err
	}
	resp, err := f.fillFile(ctx, file, url, etag)
	if err == nil && resp.notModified {
		// The stored image is current, so a partial file is of no use.
		// It is removed under the lock, before another fetch can fill it.
		f.removePartial(url)
	}
	if err != nil || resp.notModified {
		file.Close()
		return nil, resp, err
	}
	return file, resp, nil
}

func (f *Fetcher) fillFile(ctx context.Context, file *os.File, url, etag string) (*httpResponse, error) {
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat download file: %w", err)
	}
	offset := fi.Size()
	partialETag, _ := os.ReadFile(file.Name() + ".etag")
	if offset > 0 && len(partialETag) == 0 {
		// Without a validator a resumed download could mix two versions.
		offset = 0
	}

	resp, err := f.get(ctx, url, requestOptions{etag: etag, offset: offset, ifRange: string(partialETag)})
	var statusErr *StatusError
	if offset > 0 && errors.As(err, &statusErr) && statusErr.Code == http.StatusRequestedRangeNotSatisfiable {
		// The partial file is already whole or longer than the image now is.
		offset = 0
		resp, err = f.get(ctx, url, requestOptions{etag: etag})
	}
	if err == nil && offset > 0 && resp.status == http.StatusPartialContent {
		if reason := resumeMismatch(resp, offset, string(partialETag)); reason != "" {
			// A server that ignores If-Range sends a range of the new
			// image, which must not be appended to the old start.
			f.logf("restarting download of %s from byte 0: %s", url, reason)
			resp.body.Close()
			offset = 0
			resp, err = f.get(ctx, url, requestOptions{etag: etag})
		}
	}
	if err != nil {
		return nil, err
	}
	defer resp.body.Close()
	if resp.notModified {
		return resp, nil
	}

	switch resp.status {
	case http.StatusPartialContent:
		if offset == 0 {
			return nil, fmt.Errorf("fetch %s: server sent 206 Partial Content to a request without a range", url)
		}
		f.logf("resuming download of %s at byte %d", url, offset)
	case http.StatusOK:
		offset = 0
	default:
		return nil, fmt.Errorf("fetch %s: unexpected HTTP status %d", url, resp.status)
	}

	if err := file.Truncate(offset); err != nil {
		return nil, fmt.Errorf("truncate download file: %w", err)
	}
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek download file: %w", err)
	}
	if err := os.WriteFile(file.Name()+".etag", []byte(strings.TrimSpace(resp.etag)), 0o600); err != nil {
		return nil, fmt.Errorf("write download validator: %w", err)
	}

	total := resp.size
	if total >= 0 {
		total += offset
	}
	body := f.progressReader(resp.body, url, total)
	defer body.Close()
	if _, err := io.Copy(file, body); err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	return resp, nil
}

// resumeMismatch returns why a 206 response cannot continue a partial file
// of offset bytes whose recorded ETag is partialETag, or "" when it can.
func resumeMismatch(resp *httpResponse, offset int64, partialETag string) string {
	if resp.rangeStart != offset {
		return fmt.Sprintf("the response range starts at byte %d, not at byte %d (Content-Range %q)", resp.rangeStart, offset, resp.contentRange)
	}
	if got := strings.TrimSpace(resp.etag); got != strings.TrimSpace(partialETag) {
		return fmt.Sprintf("the response ETag %q differs from the partial file's ETag %q", got, partialETag)
	}
	return ""
}

func flock(file *os.File) error {
	for {
		err := unix.Flock(int(file.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "flock", Path: file.Name(), Err: err}
			}
			return nil
		}
	}
}
