package trust

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
)

func TestTrustStateChanges(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Tester A", keyOptions{})
	path := placeKey(t, ks.SystemConfig, "root.d", key)
	const name = "example.com/hello"
	state := func() string {
		t.Helper()
		s, err := ks.TrustState(name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	initial := state()
	if got := state(); got != initial {
		t.Errorf("unchanged keys: state %s, then %s", initial, got)
	}

	maskKey(t, ks.LocalConfig, "root.d", key)
	masked := state()
	if masked == initial {
		t.Error("masking in local root.d left the state unchanged")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if state() == masked {
		t.Error("removing the system key left the state unchanged")
	}
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/hello", key)
	withPrefix := state()
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/other", key)
	if got := state(); got != withPrefix {
		t.Error("a key for another prefix changed the state")
	}
}

func TestVerifyMaskedRootKeyMessage(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Root", keyOptions{})
	placeKey(t, ks.SystemConfig, "root.d", key)
	maskKey(t, ks.LocalConfig, "root.d", key)
	_, err := verify(ks, "example.com/evil", testImage, sign(t, key, testImage))
	verr := requireReason(t, err, ErrUntrustedKey)
	if len(verr.TrustedFor) != 0 {
		t.Errorf("TrustedFor = %q, want none for a masked key", verr.TrustedFor)
	}
	if msg := err.Error(); !strings.Contains(msg, "masked by the empty key file") {
		t.Errorf("error %q does not name the masking file", msg)
	}
	if msg := err.Error(); strings.Contains(msg, "trusted only for") {
		t.Errorf("error %q lists a masked key as trusted", msg)
	}
}

func TestKeyDiscoveryHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	pages := map[string]string{
		"example.com/app": `<html><head><meta name="ac-discovery-pubkeys" content="example.com/app https://example.com/pubkeys.gpg"></head></html>`,
	}
	handler := discoveryHandler(t, pages, nil)
	_, client := newDiscoveryServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	fetcher := &KeyFetcher{
		Client: client,
		Authorize: func(req *http.Request) {
			if req.URL.Host == "example.com" {
				req.Header.Set("Authorization", "Basic dGVzdDp0ZXN0")
			}
		},
	}
	if _, err := DiscoverPublicKeys(context.Background(), fetcher, "example.com/app", false); err != nil {
		t.Fatalf("discover: %v", err)
	}
	_, err := fetcher.Fetch(context.Background(), "https://example.com/pubkeys.gpg")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("fetch key: got %v, want the 404 of the test server", err)
	}
	if len(got) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(got))
	}
	for i, h := range got {
		if a := h.Get("Authorization"); a != "Basic dGVzdDp0ZXN0" {
			t.Errorf("request %d: Authorization %q, want the configured header", i, a)
		}
		if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "rkt/") {
			t.Errorf("request %d: User-Agent %q, want rkt/VERSION", i, ua)
		}
	}
}
