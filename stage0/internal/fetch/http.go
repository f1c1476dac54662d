package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rktfly/rkt/stage0/internal/buildinfo"
)

// maxRedirects is the number of redirects rkt follows for one request.
const maxRedirects = 10

// Default timeouts. The idle timeout bounds the time without receiving a byte,
// so a slow but steady download of a large image never times out.
const (
	defaultDialTimeout   = 20 * time.Second
	defaultHeaderTimeout = 60 * time.Second
	defaultIdleTimeout   = 60 * time.Second
)

// ErrTimeout is wrapped by errors of requests that timed out.
var ErrTimeout = errors.New("timed out")

// StatusError is an HTTP response status other than 200, 202, 206 and 304.
type StatusError struct {
	URL    string
	Code   int
	Status string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("fetch %s: unexpected HTTP status %s", e.URL, e.Status)
}

// httpResponse is a successful response with its cache fields parsed.
type httpResponse struct {
	url         string
	status      int
	body        io.ReadCloser
	size        int64 // -1 when unknown
	etag        string
	maxAge      time.Duration
	notModified bool
	// contentRange is the Content-Range header of a 206 response, and
	// rangeStart its first byte position, -1 when missing or invalid.
	contentRange string
	rangeStart   int64
}

func (f *Fetcher) httpClient() *http.Client {
	f.clientOnce.Do(func() {
		dial := f.DialContext
		proxy := http.ProxyFromEnvironment
		if dial == nil {
			d := &net.Dialer{Timeout: defaultDialTimeout}
			dial = d.DialContext
		} else {
			// A test dialer decides where connections go, so no proxy may
			// redirect them.
			proxy = nil
		}
		transport := &http.Transport{
			Proxy:                 proxy,
			DialContext:           dial,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   defaultDialTimeout,
			ResponseHeaderTimeout: f.headerTimeout(),
			TLSClientConfig: &tls.Config{
				RootCAs:            f.RootCAs,
				InsecureSkipVerify: f.Insecure.TLS, //nolint:gosec // set only by --insecure-options=tls
			},
		}
		f.client = &http.Client{
			Transport:     transport,
			CheckRedirect: checkRedirect,
		}
	})
	return f.client
}

// checkRedirect stops after maxRedirects and drops the Authorization header
// when a redirect changes the host or leaves https. Go's own rule forwards the
// header to subdomains, which rkt does not.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0]
	if req.URL.Host != first.URL.Host || req.URL.Scheme != "https" {
		req.Header.Del("Authorization")
	}
	return nil
}

func (f *Fetcher) headerTimeout() time.Duration {
	if f.HeaderTimeout > 0 {
		return f.HeaderTimeout
	}
	return defaultHeaderTimeout
}

func (f *Fetcher) idleTimeout() time.Duration {
	if f.IdleTimeout > 0 {
		return f.IdleTimeout
	}
	return defaultIdleTimeout
}

// requestOptions are the conditional and partial request fields of one GET.
type requestOptions struct {
	etag    string // sent as If-None-Match
	offset  int64  // sent as Range: bytes=offset-
	ifRange string
}

// get sends a GET for rawURL and returns the response for status 200, 206,
// 304 and, for signatures, 202. Every other status is an error. The caller
// closes the body. The body fails with ErrTimeout when no byte arrives within
// the idle timeout.
func (f *Fetcher) get(ctx context.Context, rawURL string, opts requestOptions) (*httpResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("invalid URL %q: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", "rkt/"+buildinfo.Version)
	f.Auth.setAuth(req)
	if opts.etag != "" {
		req.Header.Set("If-None-Match", opts.etag)
	}
	if opts.offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(opts.offset, 10)+"-")
		if opts.ifRange != "" {
			req.Header.Set("If-Range", opts.ifRange)
		}
	}
	f.logf("GET %s", rawURL)

	idle := newIdleTimer(f.idleTimeout(), cancel)
	resp, err := f.httpClient().Do(req)
	if err == nil && idle.fired() {
		// The response raced with the cancellation, and a server may send
		// an empty body in response to a canceled request.
		_ = resp.Body.Close()
		err = context.Canceled
	}
	if err != nil {
		idle.stop()
		cancel()
		return nil, describeRequestError(rawURL, err, idle, f.headerTimeout())
	}

	r := &httpResponse{url: resp.Request.URL.String(), status: resp.StatusCode, size: resp.ContentLength}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent, http.StatusAccepted:
	case http.StatusNotModified:
		r.notModified = true
	default:
		_ = resp.Body.Close()
		idle.stop()
		cancel()
		return nil, &StatusError{URL: rawURL, Code: resp.StatusCode, Status: resp.Status}
	}
	r.etag = resp.Header.Get("ETag")
	r.contentRange = resp.Header.Get("Content-Range")
	r.rangeStart = parseRangeStart(r.contentRange)
	r.maxAge = parseMaxAge(resp.Header.Values("Cache-Control"))
	r.body = &idleReader{rc: resp.Body, idle: idle, cancel: cancel, url: rawURL}
	return r, nil
}

func describeRequestError(rawURL string, err error, idle *idleTimer, headerTimeout time.Duration) error {
	var netErr net.Error
	switch {
	case idle.fired():
		return fmt.Errorf("fetch %s: no response within %s: %w", rawURL, idle.d, ErrTimeout)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("fetch %s: no response headers within %s: %w", rawURL, headerTimeout, ErrTimeout)
	}
	return fmt.Errorf("fetch %s: %w", rawURL, err)
}

// parseRangeStart returns the first byte position of a Content-Range value
// "bytes FIRST-LAST/LENGTH", or -1 when the value has another form.
func parseRangeStart(value string) int64 {
	spec, ok := strings.CutPrefix(strings.TrimSpace(value), "bytes ")
	if !ok {
		return -1
	}
	first, _, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(first, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// parseMaxAge returns the Cache-Control max-age. no-cache and no-store count
// as 0, and so does a missing directive.
func parseMaxAge(values []string) time.Duration {
	var maxAge time.Duration
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "no-cache" || d == "no-store":
				return 0
			case strings.HasPrefix(d, "max-age="):
				n, err := strconv.ParseInt(strings.TrimPrefix(d, "max-age="), 10, 64)
				if err == nil && n > 0 {
					maxAge = time.Duration(n) * time.Second
				}
			}
		}
	}
	return maxAge
}

// idleTimer cancels a request when it is not reset within d.
type idleTimer struct {
	d       time.Duration
	mu      sync.Mutex
	t       *time.Timer
	didFire bool
}

func newIdleTimer(d time.Duration, cancel context.CancelFunc) *idleTimer {
	it := &idleTimer{d: d}
	it.t = time.AfterFunc(d, func() {
		it.mu.Lock()
		it.didFire = true
		it.mu.Unlock()
		cancel()
	})
	return it
}

func (it *idleTimer) reset() { it.t.Reset(it.d) }
func (it *idleTimer) stop()  { it.t.Stop() }

func (it *idleTimer) fired() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.didFire
}

// idleReader is a response body that fails with ErrTimeout when the idle timer fired.
type idleReader struct {
	rc     io.ReadCloser
	idle   *idleTimer
	cancel context.CancelFunc
	url    string
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.idle.reset()
	}
	if err != nil && err != io.EOF && r.idle.fired() {
		return n, fmt.Errorf("fetch %s: no data received for %s: %w", r.url, r.idle.d, ErrTimeout)
	}
	return n, err
}

func (r *idleReader) Close() error {
	r.idle.stop()
	err := r.rc.Close()
	r.cancel()
	return err
}
