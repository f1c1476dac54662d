package fetch

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rktfly/rkt/stage0/internal/store"
)

// Verifier checks a detached signature of an ACI for the image name, using
// the keys trusted for that name. It returns the identities of the signers.
type Verifier interface {
	Verify(name string, aci, sig io.ReadSeeker) (signers []string, err error)
}

// InsecureOptions are the fetch-related values of --insecure-options.
type InsecureOptions struct {
	// Image skips signature verification, with a warning.
	Image bool
	// TLS skips certificate verification.
	TLS bool
	// HTTP lets discovery fall back to plain http. It does not govern
	// explicit http:// image URLs, which always work (as in rkt 1.30).
	HTTP bool
	// PubKey allows fetching keys insecurely.
	PubKey bool
}

// Fetcher resolves image arguments to store keys. Set the fields before the
// first call and do not change them afterwards; a Fetcher is then safe for
// concurrent use.
type Fetcher struct {
	// Store receives the images. Required.
	Store *store.Store
	// Verifier checks signatures unless Insecure.Image is set. A nil Verifier
	// makes every fetch that needs verification fail.
	Verifier Verifier
	// DiscoverKeys, when set, is called before the signature of an image
	// fetched by name is checked, to discover and store the keys of that
	// name. Its error is printed as a warning and the fetch goes on, so the
	// signature check decides, as in rkt.
	DiscoverKeys func(ctx context.Context, name string) error
	// Insecure relaxes checks as --insecure-options requests.
	Insecure InsecureOptions
	// Auth supplies Authorization headers per host. Nil sends none.
	Auth *Auth
	// RootCAs replaces the system certificate pool when not nil. The system
	// pool honours SSL_CERT_FILE and SSL_CERT_DIR.
	RootCAs *x509.CertPool
	// DialContext replaces the network dialer, for tests that pin every
	// connection to a loopback server. It also disables proxies.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TmpDir holds partial downloads, which a later fetch of the same URL
	// resumes. Empty means os.TempDir().
	TmpDir string
	// Stderr receives download progress. Nil discards it. A terminal gets a
	// progress bar, anything else one line at the start and end.
	Stderr io.Writer
	// Warn receives warnings and "signature verified" notices. Nil writes
	// them to Stderr without a prefix.
	Warn *log.Logger
	// Log receives debug messages. Nil discards them.
	Log *log.Logger
	// HeaderTimeout bounds the wait for response headers; 0 means 60s.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the time without receiving any byte; 0 means 60s.
	IdleTimeout time.Duration
	// OS and Arch are the label values added to name lookups that do not
	// set them. Empty means the host's, with GOARCH mapped to appc names.
	OS, Arch string
	// NoRender skips rendering fetched images into the tree store. Rendering
	// is otherwise done when running as root.
	NoRender bool
	// Now returns the current time; nil means time.Now. Tests set it to
	// step over Cache-Control max-age.
	Now func() time.Time

	// ImageInUse, when set, reports whether pods use image key. An image
	// that fails a check after this call imported it is kept when it
	// returns true or an error.
	ImageInUse func(key string) (bool, error)

	// SkipInsecureWarning suppresses the per-image warning printed under
	// Insecure.Image, for callers that print one warning themselves.
	SkipInsecureWarning bool

	// skipWarning suppresses the insecure-image warning for trusted
	// stage1 locations.
	skipWarning bool

	clientOnce sync.Once
	client     *http.Client
}

// Request is one image to fetch.
type Request struct {
	// Image is the argument as the user gave it, classified by ClassifyImage.
	Image string
	// Signature is a local detached signature file (--signature). Empty
	// means the one next to the image.
	Signature string
	// Policy is the pull policy.
	Policy PullPolicy
	// NoDeps skips fetching the image's dependencies.
	NoDeps bool
}

// ErrDockerUnsupported is returned for docker:// image arguments.
var ErrDockerUnsupported = errors.New("docker images are not supported")

// FetchImage fetches one image argument with the given pull policy and
// returns its store key. It is the entry point for rkt run, prepare and fetch.
func (f *Fetcher) FetchImage(ctx context.Context, image string, policy PullPolicy) (string, error) {
	return f.Fetch(ctx, Request{Image: image, Policy: policy})
}

// Fetch fetches req.Image and, unless req.NoDeps, its dependencies, and
// returns the image's store key.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (string, error) {
	if f.Store == nil {
		return "", errors.New("fetch: no image store configured")
	}
	kind, err := ClassifyImage(req.Image)
	if err != nil {
		return "", err
	}
	var key string
	switch kind {
	case KindHash:
		key, err = f.Store.ResolveKey(req.Image)
	case KindFile:
		key, err = f.fetchFile(ctx, req)
	case KindHTTP:
		key, err = f.fetchURL(ctx, remoteRequest{url: req.Image, sigURL: req.Image + ".asc", sigFile: req.Signature}, req.Policy)
	case KindName:
		key, err = f.fetchName(ctx, req)
	case KindDocker:
		err = fmt.Errorf("image %q: %w: convert it with docker2aci and fetch the ACI file", req.Image, ErrDockerUnsupported)
	}
	if err != nil {
		return "", err
	}
	if !req.NoDeps && (kind == KindHTTP || kind == KindName) {
		if err := f.fetchDependencies(ctx, key, req.Policy, map[string]bool{key: true}); err != nil {
			return "", fmt.Errorf("fetch dependencies of %s: %w", req.Image, err)
		}
	}
	// ImportFile has rendered a file image already.
	if kind != KindFile && !f.NoRender && os.Geteuid() == 0 {
		if _, err := f.Store.RenderTree(key); err != nil {
			return "", fmt.Errorf("render image %s: %w", key, err)
		}
	}
	return key, nil
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Log != nil {
		f.Log.Printf(format, args...)
	}
}

func (f *Fetcher) stderr() io.Writer {
	if f.Stderr == nil {
		return io.Discard
	}
	return f.Stderr
}

func (f *Fetcher) warnf(format string, args ...any) {
	if f.Warn != nil {
		f.Warn.Printf(format, args...)
		return
	}
	fmt.Fprintf(f.stderr(), format+"\n", args...)
}

func (f *Fetcher) tmpDir() string {
	if f.TmpDir != "" {
		return f.TmpDir
	}
	return os.TempDir()
}
