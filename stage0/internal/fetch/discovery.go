package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/rktfly/rkt/stage0/internal/imageref"
)

// maxDiscoveryPage bounds the HTML read from one discovery URL.
const maxDiscoveryPage = 4 << 20

// acMeta is one <meta name="ac-…" content="PREFIX TEMPLATE"> tag.
type acMeta struct {
	name     string
	prefix   string
	template string
}

var unfilledVariable = regexp.MustCompile(`\{[^}]*\}`)

// DiscoverImage walks the prefixes of app's name (a/b/c, a/b, a) and returns
// the first ac-discovery endpoint whose templates fill completely. The
// version label defaults to "latest" for the templates only.
//
// This is the walk of github.com/appc/spec/discovery, written again here
// because that package sends requests through package-level clients, with no
// context, timeout or redirect policy and no way to pin tests to loopback.
func (f *Fetcher) DiscoverImage(ctx context.Context, app *imageref.App) (Endpoint, error) {
	var ep Endpoint
	found := false
	err := f.discoveryWalk(ctx, app.Name.String(), func(metas []acMeta) bool {
		ep, found = selectImageEndpoint(app, metas)
		return found
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("discover image %q: %w", app.String(), err)
	}
	return ep, nil
}

// DiscoverPublicKeys walks the prefixes of name and returns the
// ac-discovery-pubkeys URLs of the first prefix that lists any.
func (f *Fetcher) DiscoverPublicKeys(ctx context.Context, name string) ([]string, error) {
	var keys []string
	err := f.discoveryWalk(ctx, name, func(metas []acMeta) bool {
		for _, m := range metas {
			if m.name == "ac-discovery-pubkeys" && strings.HasPrefix(name, m.prefix) {
				keys = append(keys, m.template)
			}
		}
		return len(keys) > 0
	})
	if err != nil {
		return nil, fmt.Errorf("discover public keys of %q: %w", name, err)
	}
	return keys, nil
}

// discoveryWalk fetches the meta tags of each prefix of name, longest first,
// until done returns true. The error lists every failed attempt.
func (f *Fetcher) discoveryWalk(ctx context.Context, name string, done func([]acMeta) bool) error {
	parts := strings.Split(name, "/")
	var failures []error
	for end := len(parts); end > 0; end-- {
		prefix := strings.Join(parts[:end], "/")
		metas, err := f.fetchMeta(ctx, prefix)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if done(metas) {
			return nil
		}
		failures = append(failures, fmt.Errorf("%s: no matching meta tag", prefix))
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("no endpoint found: %w", errors.Join(failures...))
}

// fetchMeta GETs https://PREFIX?ac-discovery=1, retrying over http when
// that fails and Insecure.HTTP is set, and parses its ac-* meta tags.
func (f *Fetcher) fetchMeta(ctx context.Context, prefix string) ([]acMeta, error) {
	metas, err := f.fetchMetaScheme(ctx, "https", prefix)
	if err == nil || !f.Insecure.HTTP {
		return metas, err
	}
	metas, httpErr := f.fetchMetaScheme(ctx, "http", prefix)
	if httpErr != nil {
		return nil, errors.Join(err, httpErr)
	}
	return metas, nil
}

func (f *Fetcher) fetchMetaScheme(ctx context.Context, scheme, prefix string) ([]acMeta, error) {
	resp, err := f.get(ctx, scheme+"://"+prefix+"?ac-discovery=1", requestOptions{})
	if err != nil {
		return nil, err
	}
	defer resp.body.Close()
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("fetch %s://%s?ac-discovery=1: expected HTTP status 200, got %d", scheme, prefix, resp.status)
	}
	return parseMeta(io.LimitReader(resp.body, maxDiscoveryPage)), nil
}

// parseMeta returns the meta tags whose name starts with "ac-" and whose
// content is "PREFIX TEMPLATE".
func parseMeta(r io.Reader) []acMeta {
	var metas []acMeta
	z := html.NewTokenizer(r)
	for {
		switch z.Next() {
		case html.ErrorToken:
			return metas
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.DataAtom != atom.Meta {
				continue
			}
			var m acMeta
			for _, a := range tok.Attr {
				switch a.Key {
				case "name":
					m.name = a.Val
				case "content":
					fields := strings.Fields(a.Val)
					if len(fields) == 2 {
						m.prefix, m.template = fields[0], fields[1]
					}
				}
			}
			if strings.HasPrefix(m.name, "ac-") && m.prefix != "" && m.template != "" {
				metas = append(metas, m)
			}
		}
	}
}

// selectImageEndpoint fills the first usable ac-discovery template.
func selectImageEndpoint(app *imageref.App, metas []acMeta) (Endpoint, bool) {
	name := app.Name.String()
	vars := []string{"{name}", name}
	version := "latest"
	for label, value := range app.Labels {
		if label == "version" {
			version = value
			continue
		}
		vars = append(vars, "{"+label.String()+"}", value)
	}
	vars = append(vars, "{version}", version)
	for _, m := range metas {
		if m.name != "ac-discovery" || !strings.HasPrefix(name, m.prefix) {
			continue
		}
		base := strings.NewReplacer(vars...).Replace(m.template)
		aci := strings.ReplaceAll(base, "{ext}", "aci")
		asc := strings.ReplaceAll(base, "{ext}", "aci.asc")
		if unfilledVariable.MatchString(aci) {
			continue
		}
		return Endpoint{ACI: aci, ASC: asc}, true
	}
	return Endpoint{}, false
}
