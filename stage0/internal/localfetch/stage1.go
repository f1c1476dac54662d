package localfetch

import (
	"context"
	"fmt"

	"github.com/rktfly/rkt/stage0/internal/imageref"
)

// FetchStage1Name resolves --stage1-name=NAME[:VERSION]: the stored image
// that matches the name, version and host os/arch labels, else discovery,
// download and signature verification (unless Insecure).
func (f *Fetcher) FetchStage1Name(ctx context.Context, nameVersion string) (string, error) {
	if kind, err := imageref.Classify(nameVersion); err != nil || kind != imageref.KindName {
		return "", fmt.Errorf("invalid stage1 name %q: give NAME[:VERSION], such as coreos.com/rkt/stage1-fly:1.30.0", nameVersion)
	}
	return f.Fetch(ctx, Request{Image: nameVersion, Policy: imageref.PullNew})
}

// FetchStage1Location resolves --stage1-url and --stage1-path: the archive
// is fetched with pull policy new and without dependencies. trusted skips
// signature verification for the build-default stage1 locations.
func (f *Fetcher) FetchStage1Location(ctx context.Context, location string, trusted bool) (string, error) {
	kind, err := imageref.Classify(location)
	if err != nil {
		return "", err
	}
	if kind != imageref.KindFile && kind != imageref.KindHTTP {
		return "", fmt.Errorf("invalid stage1 location %q: give a path or a file, http or https URL of an .aci file", location)
	}
	g := f
	if trusted && !f.Insecure {
		g = f.withoutVerification()
	}
	return g.Fetch(ctx, Request{Image: location, Policy: imageref.PullNew, NoDeps: true})
}

// FetchStage1Hash resolves --stage1-hash from the store only.
func (f *Fetcher) FetchStage1Hash(ctx context.Context, hash string) (string, error) {
	if !imageref.IsHash(hash) {
		return "", fmt.Errorf("invalid stage1 hash %q: give sha512- and at least two hex digits", hash)
	}
	return f.Fetch(ctx, Request{Image: hash, Policy: imageref.PullNever})
}

// withoutVerification returns a copy of f that skips signature checks
// without printing the insecure-image warning.
func (f *Fetcher) withoutVerification() *Fetcher {
	g := *f
	g.Insecure = true
	g.skipWarning = true
	return &g
}
