package localfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/appc/spec/schema"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// Verifier checks a detached signature of an ACI for the image name, using
// the keys trusted for that name. It returns the identities of the signers.
type Verifier interface {
	Verify(name string, aci, sig io.ReadSeeker) (signers []string, err error)
}

// Remote does the work of a fetch that needs the network.
type Remote interface {
	// DiscoverImage returns the image and signature URLs of app, found
	// through appc discovery.
	DiscoverImage(ctx context.Context, app *imageref.App) (Endpoint, error)
	// Download downloads rr.URL, checks its signature unless f.Insecure is
	// set, imports it into f.Store and records its HTTP cache fields.
	// cached is the stored cache record of rr.URL, or nil, and a response
	// that shows it unchanged keeps its image.
	Download(ctx context.Context, f *Fetcher, rr RemoteRequest, cached *store.RemoteRecord) (string, error)
}

// Endpoint is a discovered image URL and its detached signature URL.
type Endpoint struct {
	ACI string
	ASC string
}

// RemoteRequest is one image to download over http(s).
type RemoteRequest struct {
	URL string
	// SigURL is the detached signature URL, used when SigFile is empty.
	SigURL string
	// SigFile is a local --signature file.
	SigFile string
	// Latest records the image as fetched by name without a version.
	Latest bool
	// Check validates the manifest of the downloaded image, for name
	// fetches. Nil checks nothing.
	Check func(*schema.ImageManifest) error
}

// Fetcher resolves image arguments to store keys from the store and local
// ACI files. It hands downloads and discovery to Remote and signature checks
// to Verifier. Set the fields before the first call and do not change them
// afterwards. A Fetcher is then safe for concurrent use.
type Fetcher struct {
	// Store receives the images. Required.
	Store *store.Store
	// Verifier checks signatures unless Insecure is set. When it is nil, a
	// file image is served only by a recorded check that still applies,
	// and Fetch returns a *NeedsError before importing the file otherwise.
	Verifier Verifier
	// TrustState returns a digest of the trusted key files that apply to an
	// image name, so that a recorded signature check is reused while it is
	// unchanged. Nil uses Verifier when it implements TrustStater.
	TrustState func(name string) (string, error)
	// Remote downloads and discovers images. When it is nil, Fetch returns a
	// *NeedsError where it would call it, before any store write.
	Remote Remote
	// DiscoverKeys, when set, is called before the signature of an image
	// fetched by name is checked, to discover and store the keys of that
	// name. Its error is printed as a warning and the fetch goes on, so the
	// signature check decides, as in rkt.
	DiscoverKeys func(ctx context.Context, name string) error
	// Insecure skips signature verification (--insecure-options=image),
	// with a warning.
	Insecure bool
	// Stderr receives warnings when Warn is nil. Nil discards them.
	Stderr io.Writer
	// Warn receives warnings and "signature verified" notices. Nil writes
	// them to Stderr without a prefix.
	Warn *log.Logger
	// Log receives debug messages. Nil discards them.
	Log *log.Logger
	// OS and Arch are the label values added to name lookups that do not
	// set them. Empty means the host's, with GOARCH mapped to appc names.
	OS, Arch string
	// NoRender skips rendering fetched images into the tree store. Rendering
	// is otherwise done when running as root.
	NoRender bool
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// ImageInUse, when set, reports whether pods use image key. An image
	// that fails a check after this call imported it is kept when it
	// returns true or an error.
	ImageInUse func(key string) (bool, error)
	// SkipInsecureWarning suppresses the per-image warning printed under
	// Insecure, for callers that print one warning themselves.
	SkipInsecureWarning bool
	// DryRun makes Fetch check that the request can be served without
	// Remote and Verifier, and without writing to the store or printing:
	// it returns the *NeedsError that a real call would return, or nil. A
	// file image that is not in the store yet is not imported, and its key
	// is returned as "". Remote and Verifier are not called.
	DryRun bool

	// skipWarning suppresses the insecure-image warning for trusted
	// stage1 locations.
	skipWarning bool
}

// Request is one image to fetch.
type Request struct {
	// Image is the argument as the user gave it, classified by
	// imageref.Classify.
	Image string
	// Signature is a local detached signature file (--signature). Empty
	// means the one next to the image.
	Signature string
	// Policy is the pull policy.
	Policy imageref.PullPolicy
	// NoDeps skips fetching the image's dependencies.
	NoDeps bool
}

// NeedsError reports a fetch that needs a download, discovery or a
// signature check that the Fetcher has no Remote or Verifier for.
type NeedsError struct {
	// Image is the image argument, URL or name.
	Image string
	// Work is the missing step, such as "a download".
	Work string
}

func (e *NeedsError) Error() string {
	return fmt.Sprintf("image %s needs %s", e.Image, e.Work)
}

// ErrDockerUnsupported is returned for docker:// image arguments.
var ErrDockerUnsupported = errors.New("docker images are not supported")

// FetchImage fetches one image argument with the given pull policy and
// returns its store key.
func (f *Fetcher) FetchImage(ctx context.Context, image string, policy imageref.PullPolicy) (string, error) {
	return f.Fetch(ctx, Request{Image: image, Policy: policy})
}

// Fetch fetches req.Image and, unless req.NoDeps, its dependencies, and
// returns the image's store key. It is the entry point for rkt run, prepare
// and fetch.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (string, error) {
	if f.Store == nil {
		return "", errors.New("fetch: no image store configured")
	}
	kind, err := imageref.Classify(req.Image)
	if err != nil {
		return "", err
	}
	var key string
	switch kind {
	case imageref.KindHash:
		key, err = f.Store.ResolveKey(req.Image)
	case imageref.KindFile:
		key, err = f.fetchFile(ctx, req)
	case imageref.KindHTTP:
		key, err = f.fetchURL(ctx, RemoteRequest{URL: req.Image, SigURL: req.Image + ".asc", SigFile: req.Signature}, req.Policy)
	case imageref.KindName:
		key, err = f.fetchName(ctx, req)
	case imageref.KindDocker:
		err = fmt.Errorf("image %q: %w: convert it with docker2aci and fetch the ACI file", req.Image, ErrDockerUnsupported)
	}
	if err != nil {
		return "", err
	}
	if !req.NoDeps && (kind == imageref.KindHTTP || kind == imageref.KindName) {
		if err := f.fetchDependencies(ctx, key, req.Policy, map[string]bool{key: true}); err != nil {
			return "", fmt.Errorf("fetch dependencies of %s: %w", req.Image, err)
		}
	}
	// ImportFile has rendered a file image already.
	if kind != imageref.KindFile && !f.NoRender && !f.DryRun && os.Geteuid() == 0 {
		if _, err := f.Store.RenderTree(key); err != nil {
			return "", fmt.Errorf("render image %s: %w", key, err)
		}
	}
	return key, nil
}

// remote returns Remote, or nil in a dry run.
func (f *Fetcher) remote() Remote {
	if f.DryRun {
		return nil
	}
	return f.Remote
}

// verifier returns Verifier, or nil in a dry run.
func (f *Fetcher) verifier() Verifier {
	if f.DryRun {
		return nil
	}
	return f.Verifier
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Logf writes a debug message to Log.
func (f *Fetcher) Logf(format string, args ...any) {
	if f.Log != nil && !f.DryRun {
		f.Log.Printf(format, args...)
	}
}

// Warnf prints a warning or notice to Warn, or else to Stderr.
func (f *Fetcher) Warnf(format string, args ...any) {
	if f.DryRun {
		return
	}
	if f.Warn != nil {
		f.Warn.Printf(format, args...)
		return
	}
	if f.Stderr != nil {
		fmt.Fprintf(f.Stderr, format+"\n", args...)
	}
}
