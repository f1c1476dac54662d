package trust_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
)

// storedNames returns the NAME column of rkt image list.
func (r *rktRunner) storedNames(t *testing.T) string {
	t.Helper()
	out, err := r.run(t, "image", "list", "--no-legend", "--fields=name")
	if err != nil {
		t.Fatalf("rkt image list: %v", err)
	}
	return out
}

// TestRunLocalSignedImage runs a local ACI whose detached signature lies
// next to it. The stage1 is the default one next to the rkt binary, which
// is trusted without a signature.
func TestRunLocalSignedImage(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	exampleACI := testbuild.Image(t, "true")
	const passphrase = "local passphrase"
	home := newGPGHome(t, "local@example.com", passphrase)
	pubkey := filepath.Join(scratch, "pubkey.asc")
	if err := os.WriteFile(pubkey, home.run(t, nil, "--armor", "--export", "local@example.com"), 0o644); err != nil {
		t.Fatal(err)
	}
	sign := func(path string) {
		home.run(t, nil, "--pinentry-mode", "loopback", "--passphrase", passphrase,
			"--yes", "--armor", "--detach-sign", "--output", path+".asc", path)
	}
	appDir := filepath.Join(scratch, "app")
	if err := os.MkdirAll(appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(appDir, "true.aci")
	copyFile(t, exampleACI, app)
	appName := readACIManifest(t, app).Name.String()
	r := newRktRunner(t, scratch, "signed", "")

	t.Run("unsigned rejected", func(t *testing.T) {
		out, err := r.run(t, "run", app)
		if err == nil {
			t.Fatal("rkt run of an image without signature succeeded")
		}
		for _, fix := range []string{"--signature", "--insecure-options=image", app + ".asc"} {
			if !strings.Contains(out, fix) {
				t.Errorf("error output does not mention %q", fix)
			}
		}
		if names := r.storedNames(t); strings.Contains(names, appName) {
			t.Errorf("the unsigned image was imported: %s", names)
		}
	})

	sign(app)
	t.Run("untrusted key rejected", func(t *testing.T) {
		out, err := r.run(t, "run", app)
		if err == nil {
			t.Fatal("rkt run of an image signed by an untrusted key succeeded")
		}
		if !strings.Contains(out, "rkt trust") {
			t.Errorf("error output does not name the fix rkt trust")
		}
		if names := r.storedNames(t); strings.Contains(names, appName) {
			t.Errorf("the image that failed verification is still stored: %s", names)
		}
	})

	if _, err := r.run(t, "trust", "--prefix="+appName, "--skip-fingerprint-review", pubkey); err != nil {
		t.Fatalf("rkt trust: %v", err)
	}
	t.Run("trusted key", func(t *testing.T) {
		for _, attempt := range []string{"first", "warm"} {
			out, err := r.run(t, "run", app)
			if err != nil {
				t.Fatalf("%s rkt run of the signed image: %v", attempt, err)
			}
			if !strings.Contains(out, "signature verified") || !strings.Contains(out, "local@example.com") {
				t.Errorf("%s rkt run did not report the verified signer", attempt)
			}
		}
	})

	t.Run("replaced file", func(t *testing.T) {
		// Another image under the same path keeps the old signature, which
		// does not match it: the run fails and leaves no image behind.
		copyFile(t, testbuild.Image(t, "example"), app)
		out, err := r.run(t, "run", app)
		if err == nil {
			t.Fatal("rkt run of a replaced image with the old signature succeeded")
		}
		if !strings.Contains(out, "verify signature") {
			t.Errorf("error output does not report the failed verification")
		}
		otherName := readACIManifest(t, app).Name.String()
		if names := r.storedNames(t); strings.Contains(names, otherName) {
			t.Errorf("the image that failed verification is still stored: %s", names)
		}
		copyFile(t, exampleACI, app)
	})

	// An image imported under --insecure-options=image is unverified, so a
	// later run without the option checks its signature although the store
	// has the file cached.
	t.Run("imported insecurely", func(t *testing.T) {
		insecure := newRktRunner(t, scratch, "insecure", "")
		if _, err := insecure.run(t, "trust", "--prefix="+appName, "--skip-fingerprint-review", pubkey); err != nil {
			t.Fatalf("rkt trust: %v", err)
		}
		unsigned := filepath.Join(appDir, "unsigned.aci")
		copyFile(t, exampleACI, unsigned)
		if _, err := insecure.run(t, "--insecure-options=image", "run", unsigned); err != nil {
			t.Fatalf("rkt run --insecure-options=image: %v", err)
		}
		out, err := insecure.run(t, "run", unsigned)
		if err == nil {
			t.Fatal("rkt run without the insecure option used the unverified image")
		}
		if !strings.Contains(out, "--insecure-options=image") {
			t.Errorf("error output does not name the fix")
		}
		sign(unsigned)
		out, err = insecure.run(t, "run", unsigned)
		if err != nil {
			t.Fatalf("rkt run once the signature exists: %v", err)
		}
		if !strings.Contains(out, "signature verified") {
			t.Errorf("rkt run did not report the verified signer")
		}
	})
}
