//go:build !rktlean

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/stage0/internal/trust"
)

// writeTestKey generates a key and writes its armored public part to a file.
func writeTestKey(t *testing.T) (*openpgp.Entity, string) {
	t.Helper()
	entity, err := openpgp.NewEntity("Trust Test", "", "trust@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return entity, path
}

// useTempConfig points the global configuration flags at temporary
// directories for the test.
func useTempConfig(t *testing.T) (system, local string) {
	t.Helper()
	saved := globalFlags
	t.Cleanup(func() { globalFlags = saved })
	root := t.TempDir()
	globalFlags.systemConfig = filepath.Join(root, "system")
	globalFlags.localConfig = filepath.Join(root, "local")
	return globalFlags.systemConfig, globalFlags.localConfig
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestTrustFlagErrors(t *testing.T) {
	useTempConfig(t)
	_, keyFile := writeTestKey(t)
	for _, tc := range []struct {
		name string
		opts trustOptions
		keys []string
		want string
	}{
		{name: "prefix and root", opts: trustOptions{prefix: "example.com/app", root: true}, keys: []string{keyFile}, want: "mutually exclusive"},
		{name: "key without scope", opts: trustOptions{}, keys: []string{keyFile}, want: "implicit unbounded trust"},
		{name: "root without key", opts: trustOptions{root: true}, want: "--root needs a key"},
		{name: "prefix with scheme", opts: trustOptions{prefix: "https://example.com/app"}, keys: []string{keyFile}, want: "URL scheme"},
		{name: "invalid prefix", opts: trustOptions{prefix: "Example.com/../app", skipFingerprintReview: true}, keys: []string{keyFile}, want: "invalid prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			importer := newTrustImporter(tc.opts, false, false, devNull(t), &out)
			err := trustKeys(context.Background(), importer, tc.opts, tc.keys)
			if err == nil {
				t.Fatalf("trust succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestTrustPrefixKeyFile(t *testing.T) {
	_, local := useTempConfig(t)
	entity, keyFile := writeTestKey(t)
	opts := trustOptions{prefix: "example.com/app", skipFingerprintReview: true}

	var out bytes.Buffer
	importer := newTrustImporter(opts, false, false, devNull(t), &out)
	if err := trustKeys(context.Background(), importer, opts, []string{keyFile}); err != nil {
		t.Fatalf("trust: %v", err)
	}
	path := filepath.Join(local, "trustedkeys", "prefix.d", "example.com", "app", trust.Fingerprint(entity))
	if _, err := os.Stat(path); err != nil {
		t.Errorf("key file not stored: %v", err)
	}
	want := `Added key for prefix "example.com/app" at "` + path + `"`
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}

func TestTrustRootKeyFile(t *testing.T) {
	_, local := useTempConfig(t)
	entity, keyFile := writeTestKey(t)
	opts := trustOptions{root: true, skipFingerprintReview: true}

	var out bytes.Buffer
	importer := newTrustImporter(opts, false, false, devNull(t), &out)
	if err := trustKeys(context.Background(), importer, opts, []string{keyFile}); err != nil {
		t.Fatalf("trust: %v", err)
	}
	path := filepath.Join(local, "trustedkeys", "root.d", trust.Fingerprint(entity))
	if !strings.Contains(out.String(), `Added root key at "`+path+`"`) {
		t.Errorf("output lacks the root key line:\n%s", out.String())
	}
}

func TestTrustReviewNeedsTerminal(t *testing.T) {
	_, local := useTempConfig(t)
	entity, keyFile := writeTestKey(t)
	opts := trustOptions{prefix: "example.com/app"}

	var out bytes.Buffer
	importer := newTrustImporter(opts, false, false, devNull(t), &out)
	err := trustKeys(context.Background(), importer, opts, []string{keyFile})
	if err == nil || !strings.Contains(err.Error(), "not a terminal") {
		t.Fatalf("error = %v, want a refusal because stdin is not a terminal", err)
	}
	if !strings.Contains(out.String(), trust.FormatFingerprint(trust.Fingerprint(entity))) {
		t.Errorf("the fingerprint was not shown before the refusal:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(local, "trustedkeys")); err == nil {
		t.Error("a refused key created the trusted key directory")
	}
}

func TestTrustHTTPKeyNeedsFlag(t *testing.T) {
	useTempConfig(t)
	opts := trustOptions{prefix: "example.com/app", skipFingerprintReview: true}
	var out bytes.Buffer
	importer := newTrustImporter(opts, false, false, devNull(t), &out)
	// No request is sent: the scheme is rejected first.
	err := trustKeys(context.Background(), importer, opts, []string{"http://127.0.0.1:1/key.asc"})
	if err == nil || !strings.Contains(err.Error(), "--insecure-allow-http") {
		t.Errorf("error = %v, want a refusal naming --insecure-allow-http", err)
	}
}

// openPTY returns the controller and the terminal side of a new
// pseudo-terminal.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	controller = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { controller.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pseudo-terminal: %v", err)
	}
	number, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("get pseudo-terminal number: %v", err)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", number), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { terminal.Close() })
	return controller, terminal
}

func TestTrustReviewOnTerminal(t *testing.T) {
	for _, tc := range []struct {
		answer     string
		wantStored bool
	}{
		{answer: "yes", wantStored: true},
		{answer: "no", wantStored: false},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			_, local := useTempConfig(t)
			entity, keyFile := writeTestKey(t)
			controller, terminal := openPTY(t)
			if _, err := controller.WriteString("maybe\n" + tc.answer + "\n"); err != nil {
				t.Fatal(err)
			}

			opts := trustOptions{prefix: "example.com/app"}
			var out bytes.Buffer
			importer := newTrustImporter(opts, false, false, terminal, &out)
			err := trustKeys(context.Background(), importer, opts, []string{keyFile})
			if tc.wantStored && err != nil {
				t.Fatalf("trust: %v", err)
			}
			if !tc.wantStored && !errors.Is(err, trust.ErrKeyRejected) {
				t.Fatalf("error = %v, want a rejected key", err)
			}
			if got := strings.Count(out.String(), "Are you sure you want to trust this key (yes/no)?"); got != 2 {
				t.Errorf("question asked %d times, want 2 (after an invalid answer)", got)
			}
			path := filepath.Join(local, "trustedkeys", "prefix.d", "example.com", "app", trust.Fingerprint(entity))
			_, statErr := os.Stat(path)
			if stored := statErr == nil; stored != tc.wantStored {
				t.Errorf("key stored = %v, want %v", stored, tc.wantStored)
			}
		})
	}
}
