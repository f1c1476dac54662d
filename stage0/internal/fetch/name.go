package fetch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/appc/spec/discovery"
	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/stage0/internal/store"
)

// hostArch maps GOARCH to the appc arch label.
func hostArch() string {
	switch runtime.GOARCH {
	case "386":
		return "i386"
	case "arm64":
		return "aarch64"
	case "arm":
		// NOTE: GOARM is not visible at run time, so arm maps to armv7l.
		return "armv7l"
	}
	return runtime.GOARCH
}

// ParseImageName parses "name[:version][,label=value…]" and adds the os and
// arch labels of the Fetcher when they are missing.
func (f *Fetcher) ParseImageName(s string) (*discovery.App, error) {
	app, err := discovery.NewAppFromString(s)
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
	return hostArch()
}

// appLabels returns the labels of app as a sorted types.Labels.
func appLabels(app *discovery.App) types.Labels {
	labels := make(types.Labels, 0, len(app.Labels))
	for name, value := range app.Labels {
		labels = append(labels, types.Label{Name: name, Value: value})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
	return labels
}

// formatApp returns "name,version=…,os=…,arch=…,other=…" with the labels in
// a fixed order: version, os and arch first, then the rest by name.
// discovery.App.String follows the random order of its label map.
func formatApp(app *discovery.App) string {
	first := []types.ACIdentifier{"version", "os", "arch"}
	var rest []types.ACIdentifier
	for name := range app.Labels {
		if !slices.Contains(first, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	var b strings.Builder
	b.WriteString(app.Name.String())
	for _, name := range append(first, rest...) {
		if value, ok := app.Labels[name]; ok {
			fmt.Fprintf(&b, ",%s=%s", name, value)
		}
	}
	return b.String()
}

// checkManifestMatches checks that a downloaded image is the one requested:
// the same name and every requested label with the same value. Labels are
// checked in formatApp's order, so the first mismatch reported is stable.
func checkManifestMatches(app *discovery.App, m *schema.ImageManifest) error {
	if m.Name != app.Name {
		return fmt.Errorf("image %q: downloaded image is named %q", formatApp(app), m.Name.String())
	}
	for _, label := range appLabels(app) {
		got, ok := m.Labels.Get(label.Name.String())
		if !ok {
			return fmt.Errorf("image %q: downloaded image has no label %q", formatApp(app), label.Name.String())
		}
		if got != label.Value {
			return fmt.Errorf("image %q: downloaded image has label %s=%q", formatApp(app), label.Name.String(), got)
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

func (f *Fetcher) fetchApp(ctx context.Context, app *discovery.App, sigFile string, policy PullPolicy) (string, error) {
	name := app.Name.String()
	if policy != PullUpdate {
		key, err := f.Store.FindByName(name, appLabels(app))
		if err == nil {
			f.logf("using stored image %s for %s", key, formatApp(app))
			return key, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if policy == PullNever {
			return "", fmt.Errorf("image %q is not in the store and the pull policy is never: fetch it first or use --pull-policy=new: %w", formatApp(app), err)
		}
	}
	ep, err := f.DiscoverImage(ctx, app)
	if err != nil {
		return "", err
	}
	if !f.Insecure.Image && sigFile == "" && f.DiscoverKeys != nil {
		if err := f.DiscoverKeys(ctx, name); err != nil {
			f.warnf("%v", err)
		}
	}
	rr := remoteRequest{
		url:     ep.ACI,
		sigURL:  ep.ASC,
		sigFile: sigFile,
		latest:  app.Labels["version"] == "",
		check:   func(m *schema.ImageManifest) error { return checkManifestMatches(app, m) },
	}
	// The discovered URL is fetched with the update rules, so new and
	// update both honour the HTTP cache record of that URL.
	key, err := f.fetchURL(ctx, rr, PullUpdate)
	if err != nil {
		return "", fmt.Errorf("fetch image %q: %w", formatApp(app), err)
	}
	return key, nil
}
