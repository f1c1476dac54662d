package localfetch

import (
	"context"
	"errors"
	"fmt"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// fetchURL applies the pull policy to an image URL and has Remote download
// it when the stored image cannot be used.
func (f *Fetcher) fetchURL(ctx context.Context, rr RemoteRequest, policy imageref.PullPolicy) (string, error) {
	cached, err := f.Store.GetRemote(rr.URL)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	switch {
	case policy == imageref.PullNever && cached == nil:
		return "", fmt.Errorf("image %s is not in the store and the pull policy is never: fetch it first or use --pull-policy=new: %w", rr.URL, store.ErrNotFound)
	case policy == imageref.PullNever || policy == imageref.PullNew && cached != nil:
		f.Logf("using stored image %s for %s", cached.Key, rr.URL)
		return f.CheckCached(rr, cached.Key)
	case cached != nil && cached.Fresh(f.now()):
		f.Logf("using stored image %s for %s: cache record still fresh", cached.Key, rr.URL)
		return f.CheckCached(rr, cached.Key)
	}
	remote := f.remote()
	if remote == nil {
		return "", &NeedsError{Image: rr.URL, Work: "a download"}
	}
	return remote.Download(ctx, f, rr, cached)
}

// CheckCached runs the request's manifest check on a stored image that the
// HTTP cache record of rr.URL points to, because the URL may have served an
// image of another name when it was recorded. It returns key.
func (f *Fetcher) CheckCached(rr RemoteRequest, key string) (string, error) {
	if rr.Check == nil {
		return key, nil
	}
	m, err := f.Store.ImageManifest(key)
	if err != nil {
		return "", err
	}
	if err := rr.Check(m); err != nil {
		return "", err
	}
	return key, nil
}
