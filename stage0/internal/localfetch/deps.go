package localfetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// maxDependencyDepth bounds the dependency chain, which also stops cycles.
const maxDependencyDepth = 32

// fetchDependencies fetches the dependencies of the stored image key.
func (f *Fetcher) fetchDependencies(ctx context.Context, key string, policy imageref.PullPolicy, seen map[string]bool) error {
	m, err := f.Store.ImageManifest(key)
	if err != nil {
		return err
	}
	seen[key] = true
	return f.fetchDependencyList(ctx, m, policy, seen)
}

// fetchDependencyList fetches each dependency of m that is not in the store,
// depth first, so that every image is stored before the tree that needs it is
// rendered. seen holds the keys on the current chain.
func (f *Fetcher) fetchDependencyList(ctx context.Context, m *schema.ImageManifest, policy imageref.PullPolicy, seen map[string]bool) error {
	if len(seen) > maxDependencyDepth {
		return fmt.Errorf("dependency chain of %q is deeper than %d images", m.Name.String(), maxDependencyDepth)
	}
	for _, dep := range m.Dependencies {
		key, err := f.fetchDependency(ctx, dep, policy)
		if err != nil {
			return fmt.Errorf("dependency %q: %w", dep.ImageName.String(), err)
		}
		if seen[key] {
			return fmt.Errorf("dependency %q (%s) depends on itself", dep.ImageName.String(), key)
		}
		if err := f.fetchDependencies(ctx, key, policy, seen); err != nil {
			return err
		}
		delete(seen, key)
	}
	return nil
}

// fetchDependency returns the store key of dep: the stored image with its
// imageID when given, else the image found by name and labels (store first,
// then discovery, unless the policy is never). A fetched image must match
// the imageID.
func (f *Fetcher) fetchDependency(ctx context.Context, dep types.Dependency, policy imageref.PullPolicy) (string, error) {
	if dep.ImageID != nil {
		key, err := f.Store.ResolveKey(dep.ImageID.String())
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}

	labels := map[types.ACIdentifier]string{}
	for _, l := range dep.Labels {
		labels[l.Name] = l.Value
	}
	app, err := imageref.NewApp(dep.ImageName.String(), labels)
	if err != nil {
		return "", err
	}

	// A stored dependency is used even under policy update, so that updating
	// one image does not rediscover its whole dependency chain.
	if policy == imageref.PullUpdate {
		policy = imageref.PullNew
	}
	key, err := f.fetchApp(ctx, app, "", policy)
	if err != nil {
		return "", err
	}

	if dep.ImageID != nil && !matchesImageID(key, dep.ImageID.String()) {
		return "", fmt.Errorf("fetched image %s does not have the required image ID %s", key, dep.ImageID.String())
	}
	return key, nil
}

// matchesImageID compares a store key (sha512- and 64 hex digits) with an
// image ID that may be longer or a shorter prefix.
func matchesImageID(key, id string) bool {
	id = strings.ToLower(id)
	if len(id) > len(key) {
		id = id[:len(key)]
	}
	return strings.HasPrefix(key, id)
}
