package trust

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/rktfly/rkt/stage0/internal/buildinfo"
)

// maxKeySize bounds how much of a key file or key URL is read. Armored
// public keys with a few identities and subkeys take some kilobytes, so the
// bound only stops a broken or hostile server from filling memory.
const maxKeySize = 4 << 20

// ReadKeys parses the public keys in data: one or more armored blocks, or a
// binary keyring.
func ReadKeys(data []byte) (openpgp.EntityList, error) {
	entities, err := readArmoredBlocks(data)
	if err != nil {
		var binErr error
		entities, binErr = openpgp.ReadKeyRing(bytes.NewReader(data))
		if binErr != nil {
			return nil, fmt.Errorf("parse OpenPGP public key: %w", err)
		}
	}
	if len(entities) == 0 {
		return nil, errors.New("parse OpenPGP public key: no key found")
	}
	return entities, nil
}

// readArmoredBlocks reads every armored public key block in data.
// openpgp.ReadArmoredKeyRing stops after the first one, and armor.Decode
// buffers past the end of its block, so the blocks are split at their
// BEGIN lines first.
func readArmoredBlocks(data []byte) (openpgp.EntityList, error) {
	const begin = "-----BEGIN "
	var starts []int
	for offset := 0; ; {
		i := bytes.Index(data[offset:], []byte(begin))
		if i < 0 {
			break
		}
		starts = append(starts, offset+i)
		offset += i + len(begin)
	}
	if len(starts) == 0 {
		return nil, errors.New("no armored block found")
	}

	var all openpgp.EntityList
	for n, start := range starts {
		end := len(data)
		if n+1 < len(starts) {
			end = starts[n+1]
		}
		block, err := armor.Decode(bytes.NewReader(data[start:end]))
		if err != nil {
			return nil, err
		}
		if block.Type != openpgp.PublicKeyType {
			return nil, fmt.Errorf("armored block is a %q, not a %q", block.Type, openpgp.PublicKeyType)
		}
		entities, err := openpgp.ReadKeyRing(block.Body)
		if err != nil {
			return nil, err
		}
		all = append(all, entities...)
	}
	return all, nil
}

// NewHTTPClient returns the client used for key and discovery requests.
// insecureTLS turns off certificate checks (--insecure-options=tls).
func NewHTTPClient(insecureTLS bool) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if insecureTLS {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{Transport: transport, Timeout: 60 * time.Second}
}

// KeyFetcher reads public keys from files and URLs.
type KeyFetcher struct {
	// Client sends the requests for https:// and http:// locations.
	Client *http.Client
	// AllowHTTP permits http:// locations (rkt trust --insecure-allow-http,
	// or the pubkey and http insecure options together at fetch time).
	AllowHTTP bool
	// Authorize, when set, adds the Authorization header of the request's
	// host, as image fetches do with the auth.d configuration. It is called
	// for https requests only, so credentials never go over plain http.
	Authorize func(req *http.Request)
}

// newRequest returns a GET request for rawURL with rkt's User-Agent and,
// over https, the Authorize header.
func (f *KeyFetcher) newRequest(ctx context.Context, rawURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "rkt/"+buildinfo.Version)
	if f.Authorize != nil && req.URL.Scheme == "https" {
		f.Authorize(req)
	}
	return req, nil
}

// Fetch reads the keys at location: an https:// or http:// URL, a file://
// URL or a file path.
func (f *KeyFetcher) Fetch(ctx context.Context, location string) (openpgp.EntityList, error) {
	data, err := f.read(ctx, location)
	if err != nil {
		return nil, err
	}
	entities, err := ReadKeys(data)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", location, err)
	}
	return entities, nil
}

func (f *KeyFetcher) read(ctx context.Context, location string) ([]byte, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme == "" {
		return readFileLimited(location)
	}
	switch u.Scheme {
	case "file":
		return readFileLimited(u.Path)
	case "https":
	case "http":
		if !f.AllowHTTP {
			return nil, fmt.Errorf("read key %s: plain http is not allowed: use an https:// URL, or --insecure-allow-http", location)
		}
	default:
		return nil, fmt.Errorf("read key %s: unsupported URL scheme %q: use a file path or an https:// URL", location, u.Scheme)
	}

	req, err := f.newRequest(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", location, err)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read key %s: server returned %s", location, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", location, err)
	}
	if len(data) > maxKeySize {
		return nil, fmt.Errorf("read key %s: larger than %d bytes", location, maxKeySize)
	}
	return data, nil
}

func (f *KeyFetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return NewHTTPClient(false)
}

func readFileLimited(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if len(data) > maxKeySize {
		return nil, fmt.Errorf("read key %s: larger than %d bytes", path, maxKeySize)
	}
	return data, nil
}

// FormatFingerprint groups the 40 hex digits of a v4 fingerprint the way
// GnuPG and rkt print them: "8B86 DE38 ... 8818 2190", upper case, with a
// double space in the middle.
func FormatFingerprint(fingerprint string) string {
	upper := strings.ToUpper(fingerprint)
	var b strings.Builder
	for i := 0; i < len(upper); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
			if i == len(upper)/2 {
				b.WriteByte(' ')
			}
		}
		end := min(i+4, len(upper))
		b.WriteString(upper[i:end])
	}
	return b.String()
}
