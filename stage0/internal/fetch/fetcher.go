package fetch

import (
	"context"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/localfetch"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// Verifier checks a detached signature of an ACI for the image name, using
// the keys trusted for that name. It returns the identities of the signers.
type Verifier = localfetch.Verifier

// Request is one image to fetch.
type Request = localfetch.Request

// Endpoint is a discovered image URL and its detached signature URL.
type Endpoint = localfetch.Endpoint

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

	clientOnce sync.Once
	client     *http.Client
}

// ErrDockerUnsupported is returned for docker:// image arguments.
var ErrDockerUnsupported = localfetch.ErrDockerUnsupported

// local returns the Fetcher of package localfetch with f's settings and f
// as its Remote, made for each call so that tests may change fields between
// calls.
func (f *Fetcher) local() *localfetch.Fetcher {
	return &localfetch.Fetcher{
		Store:               f.Store,
		Verifier:            f.Verifier,
		Remote:              remote{f: f},
		DiscoverKeys:        f.DiscoverKeys,
		Insecure:            f.Insecure.Image,
		Stderr:              f.Stderr,
		Warn:                f.Warn,
		Log:                 f.Log,
		OS:                  f.OS,
		Arch:                f.Arch,
		NoRender:            f.NoRender,
		Now:                 f.Now,
		ImageInUse:          f.ImageInUse,
		SkipInsecureWarning: f.SkipInsecureWarning,
	}
}

// FetchImage fetches one image argument with the given pull policy and
// returns its store key. It is the entry point for rkt run, prepare and fetch.
func (f *Fetcher) FetchImage(ctx context.Context, image string, policy imageref.PullPolicy) (string, error) {
	return f.local().FetchImage(ctx, image, policy)
}

// Fetch fetches req.Image and, unless req.NoDeps, its dependencies, and
// returns the image's store key.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (string, error) {
	return f.local().Fetch(ctx, req)
}

// FetchStage1Name resolves --stage1-name=NAME[:VERSION]: the stored image
// that matches the name, version and host os/arch labels, else discovery,
// download and signature verification (unless Insecure.Image).
func (f *Fetcher) FetchStage1Name(ctx context.Context, nameVersion string) (string, error) {
	return f.local().FetchStage1Name(ctx, nameVersion)
}

// FetchStage1Location resolves --stage1-url and --stage1-path: the archive
// is fetched with pull policy new and without dependencies. trusted skips
// signature verification for the build-default stage1 locations.
func (f *Fetcher) FetchStage1Location(ctx context.Context, location string, trusted bool) (string, error) {
	return f.local().FetchStage1Location(ctx, location, trusted)
}

// FetchStage1Hash resolves --stage1-hash from the store only.
func (f *Fetcher) FetchStage1Hash(ctx context.Context, hash string) (string, error) {
	return f.local().FetchStage1Hash(ctx, hash)
}

// ParseImageName parses "name[:version][,label=value…]" and adds the os and
// arch labels of the Fetcher when they are missing.
func (f *Fetcher) ParseImageName(s string) (*imageref.App, error) {
	return f.local().ParseImageName(s)
}

// remote is the localfetch.Remote of a Fetcher.
type remote struct {
	f *Fetcher
}

func (r remote) DiscoverImage(ctx context.Context, app *imageref.App) (Endpoint, error) {
	return r.f.DiscoverImage(ctx, app)
}

func (r remote) Download(ctx context.Context, lf *localfetch.Fetcher, rr localfetch.RemoteRequest, cached *store.RemoteRecord) (string, error) {
	return r.f.download(ctx, lf, rr, cached)
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

func (f *Fetcher) tmpDir() string {
	if f.TmpDir != "" {
		return f.TmpDir
	}
	return os.TempDir()
}
