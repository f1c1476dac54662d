package trust

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// keyOptions tune newTestKey.
type keyOptions struct {
	rsa      bool
	created  time.Time     // zero means now
	lifetime time.Duration // zero means no expiry
}

func newTestKey(t *testing.T, name string, opts keyOptions) *openpgp.Entity {
	t.Helper()
	config := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	if opts.rsa {
		config = &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048}
	}
	if !opts.created.IsZero() {
		created := opts.created
		config.Time = func() time.Time { return created }
	}
	if opts.lifetime > 0 {
		config.KeyLifetimeSecs = uint32(opts.lifetime / time.Second)
	}
	entity, err := openpgp.NewEntity(name, "test key", name+"@example.com", config)
	if err != nil {
		t.Fatalf("generate key %q: %v", name, err)
	}
	return entity
}

// signAt returns the armored detached signature of data made at the time.
func signAt(t *testing.T, signer *openpgp.Entity, data []byte, at time.Time) []byte {
	t.Helper()
	var sig bytes.Buffer
	config := &packet.Config{Time: func() time.Time { return at }}
	if err := openpgp.ArmoredDetachSign(&sig, signer, bytes.NewReader(data), config); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return sig.Bytes()
}

func sign(t *testing.T, signer *openpgp.Entity, data []byte) []byte {
	t.Helper()
	return signAt(t, signer, data, time.Now())
}

func armoredPublicKey(t *testing.T, entity *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatalf("armor: %v", err)
	}
	if err := entity.Serialize(w); err != nil {
		t.Fatalf("serialize key: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("armor: %v", err)
	}
	return buf.Bytes()
}

// placeKey writes the public key into configDir/trustedkeys/<sub>/<fingerprint>.
func placeKey(t *testing.T, configDir, sub string, entity *openpgp.Entity) string {
	t.Helper()
	dir := filepath.Join(configDir, "trustedkeys", filepath.FromSlash(sub))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, Fingerprint(entity))
	if err := os.WriteFile(path, armoredPublicKey(t, entity), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// maskKey writes the empty file that masks the key in configDir/trustedkeys/<sub>.
func maskKey(t *testing.T, configDir, sub string, entity *openpgp.Entity) {
	t.Helper()
	dir := filepath.Join(configDir, "trustedkeys", filepath.FromSlash(sub))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, Fingerprint(entity)), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newKeystore(t *testing.T) *Keystore {
	t.Helper()
	root := t.TempDir()
	return &Keystore{
		SystemConfig: filepath.Join(root, "system"),
		LocalConfig:  filepath.Join(root, "local"),
	}
}
