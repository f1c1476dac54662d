package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func TestKeyringSystemAndLocal(t *testing.T) {
	ks := newKeystore(t)
	systemKey := newTestKey(t, "System", keyOptions{})
	localKey := newTestKey(t, "Local", keyOptions{})
	placeKey(t, ks.SystemConfig, "prefix.d/example.com", systemKey)
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", localKey)

	for _, tc := range []struct {
		name   string
		entity *openpgp.Entity
	}{
		{name: "system key", entity: systemKey},
		{name: "local key", entity: localKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entity := tc.entity
			signer, err := verify(ks, "example.com/app", testImage, sign(t, entity, testImage))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if signer.Fingerprint != Fingerprint(entity) {
				t.Errorf("fingerprint = %q, want %q", signer.Fingerprint, Fingerprint(entity))
			}
		})
	}

	keyring, err := ks.Keyring("example.com/app")
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	if len(keyring) != 2 {
		t.Fatalf("keyring has %d keys, want 2", len(keyring))
	}
	if Fingerprint(keyring[0]) != Fingerprint(systemKey) {
		t.Errorf("first key = %s, want the system key %s", Fingerprint(keyring[0]), Fingerprint(systemKey))
	}
}

func TestKeyringSameKeyInBothConfigs(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Both", keyOptions{})
	placeKey(t, ks.SystemConfig, "prefix.d/example.com/app", key)
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)

	keyring, err := ks.Keyring("example.com/app")
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	if len(keyring) != 1 {
		t.Errorf("keyring has %d keys, want the shared key once", len(keyring))
	}
	if _, err := verify(ks, "example.com/app", testImage, sign(t, key, testImage)); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestKeyringLocalMasksSystem(t *testing.T) {
	for _, tc := range []struct {
		name       string
		systemSub  string
		maskSub    string
		wantMasked bool
	}{
		{name: "root key masked in local root.d", systemSub: "root.d", maskSub: "root.d", wantMasked: true},
		{name: "prefix key masked in local prefix", systemSub: "prefix.d/example.com/app", maskSub: "prefix.d/example.com/app", wantMasked: true},
		{name: "root key masked by local prefix", systemSub: "root.d", maskSub: "prefix.d/example.com", wantMasked: true},
		{name: "mask for another prefix", systemSub: "prefix.d/example.com/app", maskSub: "prefix.d/example.com/other", wantMasked: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks := newKeystore(t)
			key := newTestKey(t, "System", keyOptions{})
			placeKey(t, ks.SystemConfig, tc.systemSub, key)
			maskKey(t, ks.LocalConfig, tc.maskSub, key)

			_, err := verify(ks, "example.com/app", testImage, sign(t, key, testImage))
			if tc.wantMasked {
				requireReason(t, err, ErrUntrustedKey)
			} else if err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestKeyringLocalPrefixAfterMask(t *testing.T) {
	// A mask only removes what was loaded before it: the same key stored
	// again for a longer prefix is trusted for the names under that prefix.
	ks := newKeystore(t)
	key := newTestKey(t, "Key", keyOptions{})
	placeKey(t, ks.SystemConfig, "root.d", key)
	maskKey(t, ks.LocalConfig, "root.d", key)
	placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)

	if _, err := verify(ks, "example.com/app", testImage, sign(t, key, testImage)); err != nil {
		t.Errorf("verify under the prefix: %v", err)
	}
	_, err := verify(ks, "example.com/other", testImage, sign(t, key, testImage))
	requireReason(t, err, ErrUntrustedKey)
}

func TestKeyringFileNameMismatch(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Key", keyOptions{})
	path := placeKey(t, ks.LocalConfig, "prefix.d/example.com/app", key)
	wrong := filepath.Join(filepath.Dir(path), strings.Repeat("0", 40))
	if err := os.Rename(path, wrong); err != nil {
		t.Fatal(err)
	}

	_, err := ks.Keyring("example.com/app")
	if err == nil {
		t.Fatal("keyring loaded a key whose file name is not its fingerprint")
	}
	for _, want := range []string{wrong, Fingerprint(key)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestKeyringInvalidName(t *testing.T) {
	ks := newKeystore(t)
	for _, name := range []string{"", "../etc", "example.com/../x", "/abs", "Upper.com/app"} {
		t.Run(name, func(t *testing.T) {
			if _, err := ks.Keyring(name); err == nil {
				t.Errorf("keyring for %q loaded, want an error", name)
			}
		})
	}
}

func TestHasPrefixKeys(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Key", keyOptions{})
	placeKey(t, ks.SystemConfig, "prefix.d/example.com/app", key)
	placeKey(t, ks.LocalConfig, "root.d", key)
	maskKey(t, ks.LocalConfig, "prefix.d/example.org", key)

	for _, tc := range []struct {
		name string
		want bool
	}{
		{name: "example.com/app", want: true},
		{name: "example.com/app/sub", want: true},
		{name: "example.com/application", want: false},
		{name: "example.com", want: false},
		{name: "example.org/app", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ks.HasPrefixKeys(tc.name)
			if err != nil {
				t.Fatalf("HasPrefixKeys: %v", err)
			}
			if got != tc.want {
				t.Errorf("HasPrefixKeys(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func TestStorePrefixKey(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Stored", keyOptions{})

	path, err := ks.StorePrefixKey("coreos.com/rkt/stage1-fly", key)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	want := filepath.Join(ks.LocalConfig, "trustedkeys", "prefix.d", "coreos.com", "rkt", "stage1-fly", Fingerprint(key))
	if path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("key file mode = %v, want 0644", info.Mode().Perm())
	}
	for d := filepath.Dir(path); d != ks.LocalConfig; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o755 {
			t.Errorf("directory %s mode = %v, want 0755", d, info.Mode().Perm())
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		t.Errorf("key file is not an armored public key: %q", data[:min(len(data), 60)])
	}
	if strings.Contains(string(data), "PRIVATE") {
		t.Error("key file contains private key material")
	}

	if _, err := verify(ks, "coreos.com/rkt/stage1-fly", testImage, sign(t, key, testImage)); err != nil {
		t.Errorf("verify with the stored key: %v", err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("prefix directory has %d entries, want only the key", len(entries))
	}
}

func TestStoreRootKey(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Root", keyOptions{})
	path, err := ks.StoreRootKey(key)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	want := filepath.Join(ks.LocalConfig, "trustedkeys", "root.d", Fingerprint(key))
	if path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	if _, err := verify(ks, "any.example/name", testImage, sign(t, key, testImage)); err != nil {
		t.Errorf("verify with the stored root key: %v", err)
	}
}

func TestStorePrefixKeyInvalidPrefix(t *testing.T) {
	ks := newKeystore(t)
	key := newTestKey(t, "Key", keyOptions{})
	for _, prefix := range []string{"", "..", "a/../../b", "/etc", "https://example.com/app"} {
		t.Run(prefix, func(t *testing.T) {
			if _, err := ks.StorePrefixKey(prefix, key); err == nil {
				t.Errorf("stored a key for prefix %q", prefix)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(ks.LocalConfig, "trustedkeys")); err == nil {
		t.Error("an invalid prefix created the trusted key directory")
	}
}

func TestFormatFingerprint(t *testing.T) {
	got := FormatFingerprint("8b86de38890ddb7291867b025210bd8888182190")
	want := "8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190"
	if got != want {
		t.Errorf("FormatFingerprint = %q, want %q", got, want)
	}
}
