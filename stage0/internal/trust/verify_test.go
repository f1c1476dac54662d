package trust

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

var testImage = []byte("not really a tar, but signatures do not care\x00\x01\x02")

func verify(ks *Keystore, name string, image, sig []byte) (*Signer, error) {
	var sigReader io.ReadSeeker
	if sig != nil {
		sigReader = bytes.NewReader(sig)
	}
	return ks.CheckSignature(name, bytes.NewReader(image), sigReader)
}

func requireReason(t *testing.T, err, reason error) *VerifyError {
	t.Helper()
	if err == nil {
		t.Fatalf("verification succeeded, expected %v", reason)
	}
	if !errors.Is(err, reason) {
		t.Fatalf("error %q is not %v", err, reason)
	}
	var verr *VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("error %q is not a *VerifyError", err)
	}
	return verr
}

func TestVerifyGoodSignature(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Publisher", keyOptions{rsa: true})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)

	signers, err := ks.Verify("example.com/app", bytes.NewReader(testImage), bytes.NewReader(sign(t, key, testImage)))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want := []string{"Publisher (test key) <Publisher@example.com>"}
	if !slices.Equal(signers, want) {
		t.Errorf("signers = %q, want %q", signers, want)
	}
}

func TestVerifyRewindsReaders(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Publisher", keyOptions{})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)

	image := bytes.NewReader(testImage)
	sig := bytes.NewReader(sign(t, key, testImage))
	if _, err := io.Copy(io.Discard, image); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Verify("example.com/app", image, sig); err != nil {
		t.Errorf("verify after reading both readers: %v", err)
	}
}

func TestVerifyPrefixScope(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Publisher", keyOptions{})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)
	sig := sign(t, key, testImage)

	for _, tc := range []struct {
		name    string
		trusted bool
	}{
		{name: "example.com/app", trusted: true},
		{name: "example.com/app/sub", trusted: true},
		{name: "example.com/application", trusted: false},
		{name: "example.com", trusted: false},
		{name: "example.org/app", trusted: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(ks, tc.name, testImage, sig)
			if tc.trusted && err != nil {
				t.Fatalf("verify: %v", err)
			}
			if !tc.trusted {
				requireReason(t, err, ErrUntrustedKey)
			}
		})
	}
}

func TestVerifyWrongKey(t *testing.T) {
	ks := newKeystore(t)
	trusted := newTestKey(t, "Trusted", keyOptions{})
	other := newTestKey(t, "Other", keyOptions{})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", trusted)

	_, err := verify(ks, "example.com/app", testImage, sign(t, other, testImage))
	verr := requireReason(t, err, ErrUntrustedKey)

	msg := err.Error()
	for _, want := range []string{`"example.com/app"`, Fingerprint(other), "rkt trust --prefix=example.com/app", "--insecure-options=image"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if len(verr.TrustedFor) != 0 {
		t.Errorf("TrustedFor = %q, want none for a key that is not stored", verr.TrustedFor)
	}
}

func TestVerifyKeyForOtherPrefix(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Publisher", keyOptions{})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/other", key)

	_, err := verify(ks, "example.com/app", testImage, sign(t, key, testImage))
	verr := requireReason(t, err, ErrUntrustedKey)
	if verr.Fingerprint != Fingerprint(key) {
		t.Errorf("fingerprint = %q, want %q", verr.Fingerprint, Fingerprint(key))
	}
	if !slices.Equal(verr.TrustedFor, []string{"example.com/other"}) {
		t.Errorf("TrustedFor = %q, want [example.com/other]", verr.TrustedFor)
	}
	if !strings.Contains(err.Error(), `trusted only for prefix "example.com/other"`) {
		t.Errorf("message %q does not name the other prefix", err)
	}
}

func TestVerifyRootKey(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Root", keyOptions{})
	placeKey(t, ks.SystemConfig, "root.d", key)
	sig := sign(t, key, testImage)

	for _, name := range []string{"example.com/app", "coreos.com/rkt/stage1-fly", "a"} {
		t.Run(name, func(t *testing.T) {
			signer, err := verify(ks, name, testImage, sig)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if signer.Fingerprint != Fingerprint(key) {
				t.Errorf("fingerprint = %q, want %q", signer.Fingerprint, Fingerprint(key))
			}
		})
	}
}

func TestVerifyTamperedImage(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Publisher", keyOptions{})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)
	sig := sign(t, key, testImage)

	for _, i := range []int{0, len(testImage) / 2, len(testImage) - 1} {
		tampered := bytes.Clone(testImage)
		tampered[i] ^= 0x01
		_, err := verify(ks, "example.com/app", tampered, sig)
		verr := requireReason(t, err, ErrInvalidSignature)
		if verr.Fingerprint != Fingerprint(key) {
			t.Errorf("byte %d: fingerprint = %q, want %q", i, verr.Fingerprint, Fingerprint(key))
		}
	}

	_, err := verify(ks, "example.com/app", append(bytes.Clone(testImage), 'x'), sig)
	requireReason(t, err, ErrInvalidSignature)
}

func TestVerifyTamperedSignature(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Publisher", keyOptions{})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)
	sig := sign(t, key, testImage)

	lines := strings.Split(string(sig), "\n")
	// The last base64 line before the checksum line holds the signature
	// value: change one character of it.
	body := -1
	for i, line := range lines {
		if strings.HasPrefix(line, "=") {
			body = i - 1
			break
		}
	}
	if body < 0 {
		t.Fatalf("no armor checksum line in %q", sig)
	}
	for _, tc := range []struct {
		name         string
		mutate       func() []byte
		notSignature bool
	}{
		{name: "flipped value", mutate: func() []byte {
			changed := slices.Clone(lines)
			line := []byte(changed[body])
			line[len(line)/2] = flipBase64(line[len(line)/2])
			changed[body] = string(line)
			return []byte(strings.Join(changed, "\n"))
		}},
		{name: "not armored", mutate: func() []byte { return []byte("garbage") }, notSignature: true},
		{name: "empty", mutate: func() []byte { return []byte{} }, notSignature: true},
		{name: "public key instead", mutate: func() []byte { return armoredPublicKey(t, key) }, notSignature: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(ks, "example.com/app", testImage, tc.mutate())
			requireReason(t, err, ErrInvalidSignature)
			const notSignature = "the signature file is not an armored OpenPGP signature"
			if got := strings.Contains(err.Error(), notSignature); got != tc.notSignature {
				t.Errorf("error %q: contains %q = %v, want %v", err, notSignature, got, tc.notSignature)
			}
		})
	}
}

func flipBase64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

func TestVerifyMissingSignature(t *testing.T) {
	ks := newKeystore(t)
	_, err := verify(ks, "example.com/app", testImage, nil)
	requireReason(t, err, ErrMissingSignature)
	if !strings.Contains(err.Error(), "--signature") {
		t.Errorf("message %q does not say how to provide the signature", err)
	}

	err = MissingSignatureError("example.com/app", "https://example.com/app.aci.asc", errors.New("server returned 404 Not Found"))
	requireReason(t, err, ErrMissingSignature)
	if !strings.Contains(err.Error(), "https://example.com/app.aci.asc") {
		t.Errorf("message %q does not name the signature location", err)
	}
}

func TestVerifyExpiredKey(t *testing.T) {
	ks := newKeystore(t)
	created := time.Now().Add(-48 * time.Hour)
	key := newTestKey(t, "Expired", keyOptions{created: created, lifetime: time.Hour})
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)

	// Signed while the key was still valid, verified after it expired.
	sig := signAt(t, key, testImage, created.Add(time.Minute))
	_, err := verify(ks, "example.com/app", testImage, sig)
	verr := requireReason(t, err, ErrKeyExpired)
	if verr.Fingerprint != Fingerprint(key) {
		t.Errorf("fingerprint = %q, want %q", verr.Fingerprint, Fingerprint(key))
	}
}

func TestVerifyRevokedKey(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Revoked", keyOptions{})
	sig := sign(t, key, testImage)
	if err := key.RevokeKey(packet.KeyCompromised, "test", nil); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)

	_, err := verify(ks, "example.com/app", testImage, sig)
	requireReason(t, err, ErrKeyRevoked)
}

func TestVerifySigningSubkey(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Subkeys", keyOptions{})
	if err := key.AddSigningSubkey(&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}); err != nil {
		t.Fatalf("add signing subkey: %v", err)
	}
	sig := sign(t, key, testImage)

	t.Run("trusted", func(t *testing.T) {
		placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)
		signer, err := verify(ks, "example.com/app", testImage, sig)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if signer.Fingerprint != Fingerprint(key) {
			t.Errorf("fingerprint = %q, want the primary key's %q", signer.Fingerprint, Fingerprint(key))
		}
	})
	t.Run("other prefix", func(t *testing.T) {
		_, err := verify(ks, "example.com/other", testImage, sig)
		verr := requireReason(t, err, ErrUntrustedKey)
		// The signature names the subkey. The error gives the primary
		// key, which is the name of the file to trust or remove.
		if verr.Fingerprint != Fingerprint(key) {
			t.Errorf("fingerprint = %q, want the primary key's %q", verr.Fingerprint, Fingerprint(key))
		}
		if !slices.Equal(verr.TrustedFor, []string{"example.com/app"}) {
			t.Errorf("TrustedFor = %q, want [example.com/app]", verr.TrustedFor)
		}
	})
}

func TestFormatSigners(t *testing.T) {
	got := FormatSigners([]string{"A <a@example.com>", "B"})
	want := "signature verified:\n  A <a@example.com>\n  B\n"
	if got != want {
		t.Errorf("FormatSigners = %q, want %q", got, want)
	}
}
