package trust_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
	"github.com/rktfly/rkt/internal/testns"
)

// TestSignedWarmRunWithoutRktFull checks that a recorded signature check
// serves a warm run in rkt alone. rkt-full checks the signature on the
// first run. A copy of rkt without rkt-full then runs the image again,
// while the image, its signature and the trusted keys are unchanged.
func TestSignedWarmRunWithoutRktFull(t *testing.T) {
	scratch, inside := testns.Isolate(t)
	if !inside {
		return
	}
	const passphrase = "lean passphrase"
	home := newGPGHome(t, "lean@example.com", passphrase)
	pubkey := filepath.Join(scratch, "pubkey.asc")
	if err := os.WriteFile(pubkey, home.run(t, nil, "--armor", "--export", "lean@example.com"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(scratch, "true.aci")
	copyFile(t, testbuild.Image(t, "true"), app)
	home.run(t, nil, "--pinentry-mode", "loopback", "--passphrase", passphrase,
		"--yes", "--armor", "--detach-sign", "--output", app+".asc", app)
	appName := readACIManifest(t, app).Name.String()

	r := newRktRunner(t, scratch, "lean", "")
	if _, err := r.run(t, "trust", "--prefix="+appName, "--skip-fingerprint-review", pubkey); err != nil {
		t.Fatalf("rkt trust: %v", err)
	}
	if out, err := r.run(t, "run", app); err != nil {
		t.Fatalf("first rkt run of the signed image: %v\n%s", err, out)
	}

	lean := *r
	lean.binary = testbuild.RktWithoutFull(t, filepath.Join(scratch, "bin-without-full"))
	out, err := lean.run(t, "run", app)
	if err != nil {
		t.Fatalf("warm rkt run without rkt-full: %v\n%s", err, out)
	}
	if !strings.Contains(out, "signature verified") || !strings.Contains(out, "lean@example.com") {
		t.Errorf("warm rkt run did not report the recorded signer:\n%s", out)
	}

	// A new trusted key changes the trust state, so the recorded check no
	// longer applies and the run needs rkt-full.
	if _, err := r.run(t, "trust", "--root", "--skip-fingerprint-review", pubkey); err != nil {
		t.Fatalf("rkt trust --root: %v", err)
	}
	out, err = lean.run(t, "run", app)
	if err == nil {
		t.Fatal("rkt run without rkt-full succeeded after the trusted keys changed")
	}
	if !strings.Contains(out, "needs a signature check") || !strings.Contains(out, "rkt-full was not found") {
		t.Errorf("rkt run without rkt-full did not name the missing check and rkt-full:\n%s", out)
	}
}
