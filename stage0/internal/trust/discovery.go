package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// maxDiscoveryPage bounds how much of a discovery page is parsed.
const maxDiscoveryPage = 1 << 20

// DiscoverPublicKeys finds the key URLs of the ac-discovery-pubkeys meta tags
// for name, as appc discovery defines it. It requests
// https://PREFIX?ac-discovery=1 for the name and then each shorter prefix,
// and stops at the first page that lists a key whose prefix-match is a
// string prefix of name. With allowHTTP a failed https request is retried
// with http. The requests carry the fetcher's User-Agent and headers. The
// error lists every failed attempt.
func DiscoverPublicKeys(ctx context.Context, fetcher *KeyFetcher, name string, allowHTTP bool) ([]string, error) {
	var failures []error
	parts := strings.Split(name, "/")
	for end := len(parts); end > 0; end-- {
		prefix := strings.Join(parts[:end], "/")
		keys, err := discoverPrefix(ctx, fetcher, prefix, name, allowHTTP)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if len(keys) > 0 {
			return keys, nil
		}
	}
	err := fmt.Errorf("discover public keys for %q: no ac-discovery-pubkeys meta tag found", name)
	if len(failures) > 0 {
		return nil, fmt.Errorf("%w: %w", err, errors.Join(failures...))
	}
	return nil, err
}

func discoverPrefix(ctx context.Context, fetcher *KeyFetcher, prefix, name string, allowHTTP bool) ([]string, error) {
	body, err := getDiscoveryPage(ctx, fetcher, "https", prefix)
	if err != nil && allowHTTP {
		var httpErr error
		body, httpErr = getDiscoveryPage(ctx, fetcher, "http", prefix)
		if httpErr != nil {
			err = errors.Join(err, httpErr)
		} else {
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	return pubkeyTags(body, name), nil
}

func getDiscoveryPage(ctx context.Context, fetcher *KeyFetcher, scheme, prefix string) ([]byte, error) {
	u := &url.URL{Scheme: scheme, RawQuery: "ac-discovery=1"}
	host, path, _ := strings.Cut(prefix, "/")
	u.Host = host
	if path != "" {
		u.Path = "/" + path
	}
	req, err := fetcher.newRequest(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("discovery request %s: %w", u, err)
	}
	resp, err := fetcher.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery request %s: server returned %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryPage))
	if err != nil {
		return nil, fmt.Errorf("discovery request %s: %w", u, err)
	}
	return body, nil
}

// pubkeyTags returns the URLs of the ac-discovery-pubkeys meta tags whose
// content is "PREFIX URL" with PREFIX a string prefix of name. The appc
// discovery specification compares plain strings here, unlike the keystore.
func pubkeyTags(page []byte, name string) []string {
	var keys []string
	tokens := html.NewTokenizer(strings.NewReader(string(page)))
	for {
		switch tokens.Next() {
		case html.ErrorToken:
			return keys
		case html.StartTagToken, html.SelfClosingTagToken:
			token := tokens.Token()
			if token.Data != "meta" {
				continue
			}
			var metaName, content string
			for _, attr := range token.Attr {
				switch attr.Key {
				case "name":
					metaName = attr.Val
				case "content":
					content = attr.Val
				}
			}
			if metaName != "ac-discovery-pubkeys" {
				continue
			}
			fields := strings.Fields(content)
			if len(fields) != 2 || !strings.HasPrefix(name, fields[0]) {
				continue
			}
			keys = append(keys, fields[1])
		}
	}
}
