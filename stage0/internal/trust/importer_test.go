package trust

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// newDiscoveryServer starts an HTTPS server on 127.0.0.1 and returns a client
// that trusts its certificate and sends every request to it, whatever host
// the URL names. httptest's certificate is valid for example.com.
func newDiscoveryServer(t *testing.T, handler http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	server := httptest.NewTLSServer(handler)
	t.Cleanup(server.Close)

	client := server.Client()
	transport := client.Transport.(*http.Transport).Clone()
	addr := server.Listener.Addr().String()
	transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	client.Transport = transport
	return server, client
}

func discoveryHandler(t *testing.T, pages map[string]string, keys map[string][]byte) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ac-discovery") == "1" {
			page, ok := pages[strings.TrimSuffix(r.Host+r.URL.Path, "/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			fmt.Fprint(w, page)
			return
		}
		key, ok := keys[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(key)
	})
}

func TestDiscoverPublicKeysWalksUp(t *testing.T) {
	pages := map[string]string{
		// The name's own page has no key tag, so discovery moves to the parent.
		"example.com/app": `<html><head><meta name="ac-discovery" content="example.com/app https://example.com/{name}.{ext}"></head></html>`,
		"example.com": `<html><head>
<meta name="ac-discovery-pubkeys" content="example.com/other https://example.com/other.gpg">
<meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.gpg">
</head></html>`,
	}
	_, client := newDiscoveryServer(t, discoveryHandler(t, pages, nil))

	keys, err := DiscoverPublicKeys(context.Background(), &KeyFetcher{Client: client}, "example.com/app", false)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	if len(keys) != 1 || keys[0] != "https://example.com/pubkeys.gpg" {
		t.Errorf("keys = %q, want [https://example.com/pubkeys.gpg]", keys)
	}
}

func TestDiscoverPublicKeysNone(t *testing.T) {
	_, client := newDiscoveryServer(t, discoveryHandler(t, nil, nil))
	_, err := DiscoverPublicKeys(context.Background(), &KeyFetcher{Client: client}, "example.com/app", false)
	if err == nil {
		t.Fatal("discovery without pages succeeded")
	}
	for _, want := range []string{`"example.com/app"`, "404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func newImporter(t *testing.T, client *http.Client, out *bytes.Buffer) (*Importer, *Keystore) {
	t.Helper()
	ks := newKeystore(t)
	return &Importer{
		Keystore: ks,
		Fetcher:  &KeyFetcher{Client: client},
		Out:      out,
	}, ks
}

func TestImporterDiscoveredKey(t *testing.T) {
	key := newTestKey(t, "Publisher", keyOptions{})
	pages := map[string]string{
		"example.com/app": `<meta name="ac-discovery-pubkeys" content="example.com/app https://example.com/keys/app.asc">`,
	}
	keys := map[string][]byte{"/keys/app.asc": armoredPublicKey(t, key)}
	_, client := newDiscoveryServer(t, discoveryHandler(t, pages, keys))

	var out bytes.Buffer
	im, ks := newImporter(t, client, &out)
	im.SkipReview = true
	results, err := im.AddPrefixKeys(context.Background(), "example.com/app", nil)
	if err != nil {
		t.Fatalf("add keys: %v", err)
	}
	if len(results) != 1 {
		t.Fatalf("stored %d keys, want 1", len(results))
	}
	wantPath := filepath.Join(ks.LocalConfig, "trustedkeys/prefix.d/example.com/app", Fingerprint(key))
	if results[0].Path != wantPath {
		t.Errorf("path = %q, want %q", results[0].Path, wantPath)
	}
	for _, want := range []string{
		`Prefix: "example.com/app"`,
		`Key: "https://example.com/keys/app.asc"`,
		"GPG key fingerprint is: " + FormatFingerprint(Fingerprint(key)),
		"\tPublisher (test key) <Publisher@example.com>",
		fmt.Sprintf("Added key for prefix %q at %q", "example.com/app", wantPath),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := verify(ks, "example.com/app", testImage, sign(t, key, testImage)); err != nil {
		t.Errorf("verify with the discovered key: %v", err)
	}
}

func TestImporterReview(t *testing.T) {
	key := newTestKey(t, "Publisher", keyOptions{})
	keyFile := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(keyFile, armoredPublicKey(t, key), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := map[string][]byte{"/key.asc": armoredPublicKey(t, key)}
	_, client := newDiscoveryServer(t, discoveryHandler(t, nil, keys))

	for _, tc := range []struct {
		name       string
		location   string
		trustHTTPS bool
		review     ReviewFunc
		wantErr    error
		wantStored bool
	}{
		{name: "accepted", location: keyFile, review: answer(true), wantStored: true},
		{name: "rejected", location: keyFile, review: answer(false), wantErr: ErrKeyRejected},
		{name: "no reviewer", location: keyFile, wantErr: errAny},
		{name: "https auto trust", location: "https://example.com/key.asc", trustHTTPS: true, wantStored: true},
		{name: "file not auto trusted", location: keyFile, trustHTTPS: true, wantErr: errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			im, ks := newImporter(t, client, &out)
			im.TrustHTTPS = tc.trustHTTPS
			im.Review = tc.review
			_, err := im.AddPrefixKeys(context.Background(), "example.com/app", []string{tc.location})
			switch {
			case tc.wantErr == errAny && err == nil:
				t.Error("add keys succeeded, want an error")
			case tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && err != nil:
				t.Errorf("add keys: %v", err)
			}
			stored, err := ks.HasPrefixKeys("example.com/app")
			if err != nil {
				t.Fatal(err)
			}
			if stored != tc.wantStored {
				t.Errorf("key stored = %v, want %v", stored, tc.wantStored)
			}
		})
	}
}

var errAny = errors.New("any error")

func answer(yes bool) ReviewFunc {
	return func(string, string, *openpgp.Entity) (bool, error) { return yes, nil }
}

func TestImporterHTTPNeedsPermission(t *testing.T) {
	key := newTestKey(t, "Publisher", keyOptions{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(armoredPublicKey(t, key))
	}))
	t.Cleanup(server.Close)

	var out bytes.Buffer
	im, ks := newImporter(t, server.Client(), &out)
	im.SkipReview = true
	_, err := im.AddPrefixKeys(context.Background(), "example.com/app", []string{server.URL + "/key.asc"})
	if err == nil || !strings.Contains(err.Error(), "--insecure-allow-http") {
		t.Fatalf("error = %v, want a refusal naming --insecure-allow-http", err)
	}

	im.Fetcher.AllowHTTP = true
	if _, err := im.AddPrefixKeys(context.Background(), "example.com/app", []string{server.URL + "/key.asc"}); err != nil {
		t.Fatalf("add keys over allowed http: %v", err)
	}
	if _, err := verify(ks, "example.com/app", testImage, sign(t, key, testImage)); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestImporterRootKeys(t *testing.T) {
	key := newTestKey(t, "Root", keyOptions{})
	keyFile := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(keyFile, armoredPublicKey(t, key), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	im, ks := newImporter(t, nil, &out)
	im.SkipReview = true

	if _, err := im.AddRootKeys(context.Background(), nil); err == nil {
		t.Error("root trust without a key succeeded")
	}
	results, err := im.AddRootKeys(context.Background(), []string{keyFile})
	if err != nil {
		t.Fatalf("add root key: %v", err)
	}
	if len(results) != 1 {
		t.Fatalf("stored %d keys, want 1", len(results))
	}
	if !strings.Contains(out.String(), fmt.Sprintf("Added root key at %q", results[0].Path)) {
		t.Errorf("output lacks the root key line:\n%s", out.String())
	}
	if _, err := verify(ks, "any.example/app", testImage, sign(t, key, testImage)); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestImporterMultipleKeysInFile(t *testing.T) {
	first := newTestKey(t, "First", keyOptions{})
	second := newTestKey(t, "Second", keyOptions{})
	keyFile := filepath.Join(t.TempDir(), "keys.asc")
	data := append(armoredPublicKey(t, first), armoredPublicKey(t, second)...)
	if err := os.WriteFile(keyFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	im, ks := newImporter(t, nil, &out)
	im.SkipReview = true
	results, err := im.AddPrefixKeys(context.Background(), "example.com/app", []string{keyFile})
	if err != nil {
		t.Fatalf("add keys: %v", err)
	}
	if len(results) != 2 {
		t.Fatalf("stored %d keys, want 2", len(results))
	}
	for _, key := range []*openpgp.Entity{first, second} {
		if _, err := verify(ks, "example.com/app", testImage, sign(t, key, testImage)); err != nil {
			t.Errorf("verify signature of %s: %v", Fingerprint(key), err)
		}
	}
}

func TestAskYesNo(t *testing.T) {
	for _, tc := range []struct {
		input   string
		want    bool
		wantErr bool
	}{
		{input: "yes\n", want: true},
		{input: "YES\n", want: true},
		{input: "no\n", want: false},
		{input: "maybe\nyes\n", want: true},
		{input: "", wantErr: true},
		{input: "y\n", wantErr: true},
	} {
		t.Run(strings.TrimSpace(tc.input), func(t *testing.T) {
			var out bytes.Buffer
			got, err := AskYesNo(strings.NewReader(tc.input), &out)
			if tc.wantErr {
				if err == nil {
					t.Errorf("answer %q accepted as %v", tc.input, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ask: %v", err)
			}
			if got != tc.want {
				t.Errorf("answer %q = %v, want %v", tc.input, got, tc.want)
			}
			if !strings.Contains(out.String(), "Are you sure you want to trust this key (yes/no)?") {
				t.Errorf("question missing from %q", out.String())
			}
		})
	}
}

func TestTerminalReviewRejectsNonTerminal(t *testing.T) {
	in, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	key := newTestKey(t, "Key", keyOptions{})
	_, err = TerminalReview(in, &bytes.Buffer{})("example.com/app", "key.asc", key)
	if err == nil || !strings.Contains(err.Error(), "--skip-fingerprint-review") {
		t.Errorf("error = %v, want a refusal naming --skip-fingerprint-review", err)
	}
}

func TestDiscoverImageKeys(t *testing.T) {
	key := newTestKey(t, "Publisher", keyOptions{})
	pages := map[string]string{
		"example.com": `<meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.asc">`,
	}
	keys := map[string][]byte{"/pubkeys.asc": armoredPublicKey(t, key)}
	_, client := newDiscoveryServer(t, discoveryHandler(t, pages, keys))

	var out bytes.Buffer
	im, ks := newImporter(t, client, &out)
	im.TrustHTTPS = true
	results, err := im.DiscoverImageKeys(context.Background(), "example.com/app")
	if err != nil {
		t.Fatalf("discover image keys: %v", err)
	}
	wantPath := filepath.Join(ks.LocalConfig, "trustedkeys/prefix.d/example.com/app", Fingerprint(key))
	if len(results) != 1 || results[0].Path != wantPath {
		t.Fatalf("results = %+v, want one key at %s", results, wantPath)
	}

	_, err = im.DiscoverImageKeys(context.Background(), "example.com/app/sub")
	if !errors.Is(err, ErrKeysExist) {
		t.Errorf("second discovery error = %v, want ErrKeysExist", err)
	}
}
