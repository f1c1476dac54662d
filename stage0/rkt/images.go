package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/localfetch"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// imageFetcher resolves image arguments and stage1 locations to store keys.
// In rkt it is a *localfetch.Fetcher, which returns a *localfetch.NeedsError
// for work that only rkt-full does. In rkt-full it is a *fetch.Fetcher.
type imageFetcher interface {
	Fetch(ctx context.Context, req localfetch.Request) (string, error)
	FetchStage1Location(ctx context.Context, location string, trusted bool) (string, error)
	FetchStage1Name(ctx context.Context, nameVersion string) (string, error)
	FetchStage1Hash(ctx context.Context, hash string) (string, error)
}

// imageResolver finds or fetches the images named on the command line of
// rkt run and rkt prepare, through the same fetcher as rkt fetch.
type imageResolver struct {
	store *store.Store
	// insecure is the value of --insecure-options.
	insecure insecureOptions
	// pullPolicy is the --pull-policy value: new, update or never.
	pullPolicy string
	debug      *log.Logger

	fetcher imageFetcher
}

// imageFetcher returns the fetcher, built on first use. Its notices carry
// the prefix "image: ", as rkt's do. The caller prints the one warning about
// --insecure-options=image, so the fetcher does not repeat it per image.
func (r *imageResolver) imageFetcher() (imageFetcher, error) {
	if r.fetcher != nil {
		return r.fetcher, nil
	}
	dataDir := filepath.Dir(r.store.Dir())
	f, err := newRunFetcher(r.store, dataDir, r.insecure, imageLogger(), r.debug)
	if err != nil {
		return nil, err
	}
	r.fetcher = f
	return f, nil
}

// resolve fetches the image argument img under the pull policy and returns
// its store key. img is a file path, a file, http or https URL, an image
// name or an image ID. The signature is checked unless
// --insecure-options=image, and signature is the --signature file, if any.
func (r *imageResolver) resolve(img, signature string) (string, error) {
	policy, err := imageref.ParsePullPolicy(r.pullPolicy)
	if err != nil {
		return "", err
	}
	f, err := r.imageFetcher()
	if err != nil {
		return "", err
	}
	key, err := f.Fetch(context.Background(), localfetch.Request{Image: img, Signature: signature, Policy: policy})
	if err != nil {
		if imageref.IsHash(img) {
			return "", fmt.Errorf("image %q: %w", img, err)
		}
		return "", err
	}
	r.debug.Printf("image %s is %s", img, key)
	return key, nil
}
