package localfetch

import (
	"bytes"
	"context"
	"errors"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/stage0/internal/imageref"
)

// requireNeedsError fails unless err is a *NeedsError whose work is work.
func requireNeedsError(t *testing.T, err error, work string) {
	t.Helper()
	var needs *NeedsError
	if !errors.As(err, &needs) {
		t.Fatalf("error = %v, want a *NeedsError", err)
	}
	if needs.Work != work {
		t.Errorf("NeedsError.Work = %q, want %q", needs.Work, work)
	}
}

func TestNameNotStoredNeedsRemote(t *testing.T) {
	f := &Fetcher{Store: openStore(t), NoRender: true}
	_, err := f.FetchImage(context.Background(), "example.com/missing:1.0", imageref.PullNew)
	requireNeedsError(t, err, "discovery and a download")
}

func TestNameUpdatePolicyNeedsRemote(t *testing.T) {
	st := openStore(t)
	path := writeACI(t, t.TempDir(), "app.aci", "example.com/app")
	f := &Fetcher{Store: st, Insecure: true, NoRender: true}
	if _, err := f.FetchImage(context.Background(), path, imageref.PullNew); err != nil {
		t.Fatal(err)
	}
	_, err := f.FetchImage(context.Background(), "example.com/app:1.0,arch=amd64", imageref.PullUpdate)
	requireNeedsError(t, err, "discovery and a download")
}

func TestNameStoredNeedsNothing(t *testing.T) {
	st := openStore(t)
	path := writeACI(t, t.TempDir(), "app.aci", "example.com/app")
	f := &Fetcher{Store: st, Insecure: true, NoRender: true, Arch: "amd64"}
	want, err := f.FetchImage(context.Background(), path, imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.FetchImage(context.Background(), "example.com/app:1.0", imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("name resolved to %s, want %s", got, want)
	}
}

func TestURLWithoutRecordNeedsDownload(t *testing.T) {
	st := openStore(t)
	f := &Fetcher{Store: st, NoRender: true}
	_, err := f.FetchImage(context.Background(), "https://example.com/app.aci", imageref.PullNew)
	requireNeedsError(t, err, "a download")
	if n := imageCount(t, st); n != 0 {
		t.Errorf("store has %d images, want 0", n)
	}
}

func TestUnsignedCheckNeedsVerifierBeforeImport(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	path := writeACI(t, dir, "app.aci", "example.com/app")
	if err := os.WriteFile(path+".asc", []byte("signature"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Store: st, NoRender: true, TrustState: func(string) (string, error) { return "keys", nil }}
	_, err := f.FetchImage(context.Background(), path, imageref.PullNew)
	requireNeedsError(t, err, "a signature check")
	if n := imageCount(t, st); n != 0 {
		t.Errorf("store has %d images after the refused import, want 0", n)
	}
}

// TestRecordedCheckServedWithoutVerifier checks that a Fetcher without a
// Verifier reuses the check that one with a Verifier recorded, and stops
// reusing it when the signature file or the trusted keys change.
func TestRecordedCheckServedWithoutVerifier(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	path := writeACI(t, dir, "app.aci", "example.com/app")
	sigPath := path + ".asc"
	if err := os.WriteFile(sigPath, []byte("signature"), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := "keys-1"
	trustState := func(string) (string, error) { return keys, nil }
	verifier := &acceptingVerifier{}
	full := &Fetcher{Store: st, NoRender: true, Verifier: verifier, TrustState: trustState}
	want, err := full.FetchImage(context.Background(), path, imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	if verifier.checks != 1 {
		t.Fatalf("verifier ran %d times on the first fetch, want 1", verifier.checks)
	}

	var notices bytes.Buffer
	lean := &Fetcher{Store: st, NoRender: true, TrustState: trustState, Warn: log.New(&notices, "", 0)}
	got, err := lean.FetchImage(context.Background(), path, imageref.PullNew)
	if err != nil {
		t.Fatalf("fetch with a recorded check: %v", err)
	}
	if got != want {
		t.Errorf("key = %s, want %s", got, want)
	}
	if !strings.Contains(notices.String(), "signature verified:\n  Test Signer") {
		t.Errorf("notices = %q, want the recorded signers", notices.String())
	}

	t.Run("changed trust", func(t *testing.T) {
		keys = "keys-2"
		defer func() { keys = "keys-1" }()
		_, err := lean.FetchImage(context.Background(), path, imageref.PullNew)
		requireNeedsError(t, err, "a signature check")
	})
	t.Run("replaced signature", func(t *testing.T) {
		replaced := filepath.Join(dir, "replaced.asc")
		if err := os.WriteFile(replaced, []byte("other signature"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(replaced, sigPath); err != nil {
			t.Fatal(err)
		}
		_, err := lean.FetchImage(context.Background(), path, imageref.PullNew)
		requireNeedsError(t, err, "a signature check")
	})
	if n := imageCount(t, st); n != 1 {
		t.Errorf("store has %d images, want 1", n)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	st := openStore(t)
	path := writeACI(t, t.TempDir(), "app.aci", "example.com/app")
	var notices bytes.Buffer
	f := &Fetcher{Store: st, Insecure: true, DryRun: true, Warn: log.New(&notices, "", 0)}
	key, err := f.FetchImage(context.Background(), path, imageref.PullNew)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		t.Errorf("dry run returned key %q for a new file, want \"\"", key)
	}
	if n := imageCount(t, st); n != 0 {
		t.Errorf("store has %d images after a dry run, want 0", n)
	}
	if notices.Len() > 0 {
		t.Errorf("dry run printed %q", notices.String())
	}
}

func TestDryRunReportsDownload(t *testing.T) {
	f := &Fetcher{Store: openStore(t), Remote: panicRemote{}, DryRun: true}
	_, err := f.FetchImage(context.Background(), "https://example.com/app.aci", imageref.PullNew)
	requireNeedsError(t, err, "a download")
}
