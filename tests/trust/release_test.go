package trust_test

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/rktfly/rkt/internal/testbuild"
)

// checkRelease checks the files scripts/release wrote into dir for the image
// and returns the signer's fingerprint read from pubkeys.asc.
func checkRelease(t *testing.T, dir string, image []byte) string {
	t.Helper()
	copied, err := os.ReadFile(filepath.Join(dir, "stage1-fly.aci"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copied, image) {
		t.Error("released stage1-fly.aci differs from the built image")
	}

	sum := sha512.Sum512(image)
	checksum, err := os.ReadFile(filepath.Join(dir, "stage1-fly.aci.sha512"))
	if err != nil {
		t.Fatal(err)
	}
	wantChecksum := hex.EncodeToString(sum[:]) + "  stage1-fly.aci\n"
	if string(checksum) != wantChecksum {
		t.Errorf("checksum file = %q, want %q", checksum, wantChecksum)
	}

	pubkeys, err := os.ReadFile(filepath.Join(dir, "pubkeys.asc"))
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pubkeys))
	if err != nil {
		t.Fatalf("read pubkeys.asc: %v", err)
	}
	if len(keyring) != 1 {
		t.Errorf("pubkeys.asc has %d keys, want the signer's only", len(keyring))
	}
	for _, entity := range keyring {
		if entity.PrivateKey != nil {
			t.Error("pubkeys.asc contains a private key")
		}
	}

	sig, err := os.ReadFile(filepath.Join(dir, "stage1-fly.aci.asc"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(sig), "-----BEGIN PGP SIGNATURE-----") {
		t.Errorf("signature is not ASCII-armored: %q", sig[:min(len(sig), 40)])
	}
	signer, err := openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(image), bytes.NewReader(sig), nil)
	if err != nil {
		t.Fatalf("signature does not verify with pubkeys.asc: %v", err)
	}

	tampered := bytes.Clone(image)
	tampered[len(tampered)/2] ^= 0x01
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(tampered), bytes.NewReader(sig), nil); err == nil {
		t.Error("signature verifies a tampered image")
	}
	return strings.ToLower(hex.EncodeToString(signer.PrimaryKey.Fingerprint))
}

func TestReleaseWithKeyFile(t *testing.T) {
	aci := testbuild.Stage1ACI(t)
	image, err := os.ReadFile(aci)
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "release test passphrase"
	home := newGPGHome(t, "keyfile@example.com", passphrase)
	keyFile := home.exportSecretKey(t, passphrase)
	passFile := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()

	output, err := runRelease(t, "--key-file", keyFile, "--passphrase-file", passFile, "--out", out, aci)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, output)
	}
	if fingerprint := checkRelease(t, out, image); fingerprint != home.fingerprint {
		t.Errorf("signed by %s, want %s", fingerprint, home.fingerprint)
	}
	if !strings.Contains(output, strings.ToUpper(home.fingerprint)) {
		t.Errorf("release output does not name the key %s:\n%s", home.fingerprint, output)
	}
}

func TestReleaseWrongPassphrase(t *testing.T) {
	aci := testbuild.Stage1ACI(t)
	home := newGPGHome(t, "wrongpass@example.com", "right passphrase")
	keyFile := home.exportSecretKey(t, "right passphrase")
	passFile := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(passFile, []byte("wrong passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()

	output, err := runRelease(t, "--key-file", keyFile, "--passphrase-file", passFile, "--out", out, aci)
	if err == nil {
		t.Fatalf("release with a wrong passphrase succeeded:\n%s", output)
	}
	if _, err := os.Stat(filepath.Join(out, "stage1-fly.aci.asc")); err == nil {
		t.Error("a failed release left a signature behind")
	}
}

func TestReleaseWithGnupgHome(t *testing.T) {
	aci := testbuild.Stage1ACI(t)
	image, err := os.ReadFile(aci)
	if err != nil {
		t.Fatal(err)
	}
	home := newGPGHome(t, "home@example.com", "")
	out := t.TempDir()

	output, err := runRelease(t, "--gnupg-home", home.dir, "--key", home.email, "--out", out, aci)
	if err != nil {
		t.Fatalf("release: %v\n%s", err, output)
	}
	if fingerprint := checkRelease(t, out, image); fingerprint != home.fingerprint {
		t.Errorf("signed by %s, want %s", fingerprint, home.fingerprint)
	}
}

func TestReleaseCheckReproducible(t *testing.T) {
	aci := testbuild.Stage1ACI(t)
	version := label(t, readACIManifest(t, aci), "version")
	home := newGPGHome(t, "reproducible@example.com", "")
	env := []string{
		"RKT_VERSION=" + version,
		"ACIBUILD=" + filepath.Join(t.TempDir(), "acibuild"),
	}

	out := t.TempDir()
	output, err := runReleaseEnv(t, env, "--check-reproducible", "--gnupg-home", home.dir, "--out", out, aci)
	if err != nil {
		t.Fatalf("release of the built image: %v\n%s", err, output)
	}
	if !strings.Contains(output, "stage1-fly.aci is reproducible") {
		t.Errorf("release output does not report the reproducibility check:\n%s", output)
	}

	// An image that differs from what this checkout builds is not released.
	changed := filepath.Join(t.TempDir(), "stage1-fly.aci")
	data := append(mustRead(t, aci), 0)
	if err := os.WriteFile(changed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	output, err = runReleaseEnv(t, env, "--check-reproducible", "--gnupg-home", home.dir, changed)
	if err == nil {
		t.Fatalf("release of a changed image succeeded:\n%s", output)
	}
	if !strings.Contains(output, "differs from a fresh build") {
		t.Errorf("release output does not explain the failure:\n%s", output)
	}
	if _, err := os.Stat(changed + ".asc"); err == nil {
		t.Error("the changed image was signed")
	}
}

func TestReleaseUsageErrors(t *testing.T) {
	aci := testbuild.Stage1ACI(t)
	home := newGPGHome(t, "usage@example.com", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "no key", args: []string{aci}, want: "no signing key"},
		{name: "both key sources", args: []string{"--gnupg-home", home.dir, "--key-file", "/nonexistent", aci}, want: "mutually exclusive"},
		{name: "missing image", args: []string{"--gnupg-home", home.dir, filepath.Join(t.TempDir(), "none.aci")}, want: "not found"},
		{name: "unknown option", args: []string{"--sign-with", "x", aci}, want: "unknown option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			output, err := runRelease(t, tc.args...)
			if err == nil {
				t.Fatalf("release succeeded:\n%s", output)
			}
			if !strings.Contains(output, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, output)
			}
		})
	}
}
