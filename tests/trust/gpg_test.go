package trust_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// requireGPG skips the test when gpg is missing, and fails it under CI,
// where scripts/install-deps installs GnuPG.
func requireGPG(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("gpg not found: scripts/install-deps installs GnuPG")
	}
	t.Skip("gpg not found: install GnuPG to run the release tests")
}

// gpgHome is a throwaway GnuPG home with one signing key.
type gpgHome struct {
	dir         string
	email       string
	fingerprint string
}

// newGPGHome generates an ed25519 signing key in batch mode, protected by the
// passphrase unless it is empty. The gpg-agent that gpg starts for the home
// is stopped when the test ends.
func newGPGHome(t *testing.T, email, passphrase string) *gpgHome {
	t.Helper()
	requireGPG(t)
	dir, err := os.MkdirTemp("", "rkt-trust-gnupg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	home := &gpgHome{dir: dir, email: email}
	t.Cleanup(func() {
		// The agent is a child of gpg that this test started for this home.
		_ = exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})

	// gpg requires Key-Type as the first parameter.
	protection := "%no-protection"
	if passphrase != "" {
		protection = "Passphrase: " + passphrase
	}
	params := strings.Join([]string{
		"Key-Type: eddsa",
		"Key-Curve: ed25519",
		"Key-Usage: sign",
		"Name-Real: Release Test",
		"Name-Email: " + email,
		"Expire-Date: 0",
		protection,
		"%commit",
		"",
	}, "\n")
	home.run(t, strings.NewReader(params), "--pinentry-mode", "loopback", "--gen-key")

	out := home.run(t, nil, "--with-colons", "--fingerprint", email)
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Split(line, ":")
		if fields[0] == "fpr" && len(fields) > 9 {
			home.fingerprint = strings.ToLower(fields[9])
			break
		}
	}
	if home.fingerprint == "" {
		t.Fatalf("no fingerprint in gpg output:\n%s", out)
	}
	return home
}

func (h *gpgHome) run(t *testing.T, stdin *strings.Reader, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", h.dir, "--batch", "--no-tty"}, args...)...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// exportSecretKey writes the armored private key to a file and returns its path.
func (h *gpgHome) exportSecretKey(t *testing.T, passphrase string) string {
	t.Helper()
	args := []string{"--armor", "--export-secret-keys"}
	if passphrase != "" {
		args = append([]string{"--pinentry-mode", "loopback", "--passphrase", passphrase}, args...)
	}
	data := h.run(t, nil, append(args, h.email)...)
	path := filepath.Join(t.TempDir(), "secret-key.asc")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runRelease runs scripts/release and returns its combined output.
func runRelease(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runReleaseEnv(t, nil, args...)
}

// runReleaseEnv runs scripts/release with extra NAME=value environment
// entries.
func runReleaseEnv(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	script := filepath.Join(testbuild.RepoRoot(t), "scripts", "release")
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
