package localfetch

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/appc/spec/schema"

	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// ParseImageName parses "name[:version][,label=value…]" and adds the os and
// arch labels of the Fetcher when they are missing.
func (f *Fetcher) ParseImageName(s string) (*imageref.App, error) {
	app, err := imageref.ParseApp(s)
	if err != nil {
		return nil, fmt.Errorf("invalid image name %q: %w", s, err)
	}
	if _, ok := app.Labels["os"]; !ok {
		app.Labels["os"] = f.osLabel()
	}
	if _, ok := app.Labels["arch"]; !ok {
		app.Labels["arch"] = f.archLabel()
	}
	return app, nil
}

func (f *Fetcher) osLabel() string {
	if f.OS != "" {
		return f.OS
	}
	return runtime.GOOS
}

func (f *Fetcher) archLabel() string {
	if f.Arch != "" {
		return f.Arch
	}
	return imageref.HostArch()
}

// CheckManifestMatches checks that a downloaded image is the one requested:
// the same name and every requested label with the same value. Labels are
// checked by name, so the first mismatch reported is stable.
func CheckManifestMatches(app *imageref.App, m *schema.ImageManifest) error {
	if m.Name != app.Name {
		return fmt.Errorf("image %q: downloaded image is named %q", app.String(), m.Name.String())
	}
	for _, label := range app.LabelList() {
		got, ok := m.Labels.Get(label.Name.String())
		if !ok {
			return fmt.Errorf("image %q: downloaded image has no label %q", app.String(), label.Name.String())
		}
		if got != label.Value {
			return fmt.Errorf("image %q: downloaded image has label %s=%q", app.String(), label.Name.String(), got)
		}
	}
	return nil
}

// fetchName resolves an image name: from the store unless the policy is
// update, else (or when missing) by discovery and download.
func (f *Fetcher) fetchName(ctx context.Context, req Request) (string, error) {
	app, err := f.ParseImageName(req.Image)
	if err != nil {
		return "", err
	}
	return f.fetchApp(ctx, app, req.Signature, req.Policy)
}

func (f *Fetcher) fetchApp(ctx context.Context, app *imageref.App, sigFile string, policy imageref.PullPolicy) (string, error) {
	name := app.Name.String()
	if policy != imageref.PullUpdate {
		key, err := f.Store.FindByName(name, app.LabelList())
		if err == nil {
			f.Logf("using stored image %s for %s", key, app.String())
			return key, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if policy == imageref.PullNever {
			return "", fmt.Errorf("image %q is not in the store and the pull policy is never: fetch it first or use --pull-policy=new: %w", app.String(), err)
		}
	}

	remote := f.remote()
	if remote == nil {
		return "", &NeedsError{Image: fmt.Sprintf("%q", app.String()), Work: "discovery and a download"}
	}
	ep, err := remote.DiscoverImage(ctx, app)
	if err != nil {
		return "", err
	}
	if !f.Insecure && sigFile == "" && f.DiscoverKeys != nil {
		if err := f.DiscoverKeys(ctx, name); err != nil {
			f.Warnf("%v", err)
		}
	}
	rr := RemoteRequest{
		URL:     ep.ACI,
		SigURL:  ep.ASC,
		SigFile: sigFile,
		Latest:  app.Labels["version"] == "",
		Check:   func(m *schema.ImageManifest) error { return CheckManifestMatches(app, m) },
	}
	// The discovered URL is fetched with the update rules, so new and
	// update both honour the HTTP cache record of that URL.
	key, err := f.fetchURL(ctx, rr, imageref.PullUpdate)
	if err != nil {
		return "", fmt.Errorf("fetch image %q: %w", app.String(), err)
	}
	return key, nil
}
