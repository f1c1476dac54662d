package trustedkeys

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestKeyDirsLoadOrder(t *testing.T) {
	c := Config{SystemConfig: "/usr/lib/rkt", LocalConfig: "/etc/rkt"}
	got := c.KeyDirs("example.com/app")
	want := []string{
		"/usr/lib/rkt/trustedkeys/root.d",
		"/etc/rkt/trustedkeys/root.d",
		"/usr/lib/rkt/trustedkeys/prefix.d/example.com",
		"/usr/lib/rkt/trustedkeys/prefix.d/example.com/app",
		"/etc/rkt/trustedkeys/prefix.d/example.com",
		"/etc/rkt/trustedkeys/prefix.d/example.com/app",
	}
	if !slices.Equal(got, want) {
		t.Errorf("KeyDirs = %q, want %q", got, want)
	}
}

func TestKeyDirsSkipsEmptyConfig(t *testing.T) {
	got := Config{LocalConfig: "/etc/rkt"}.KeyDirs("a")
	want := []string{"/etc/rkt/trustedkeys/root.d", "/etc/rkt/trustedkeys/prefix.d/a"}
	if !slices.Equal(got, want) {
		t.Errorf("KeyDirs = %q, want %q", got, want)
	}
}

func TestValidateIdentifierRejectsDotDot(t *testing.T) {
	for _, name := range []string{"example.com/../etc", "example.com//app", "./app"} {
		if err := ValidateIdentifier(name); err == nil {
			t.Errorf("ValidateIdentifier(%q) succeeded, want an error", name)
		}
	}
	if err := ValidateIdentifier("example.com/app"); err != nil {
		t.Errorf("ValidateIdentifier(example.com/app): %v", err)
	}
}

func TestStateChangesWithKeyFile(t *testing.T) {
	dir := t.TempDir()
	c := Config{LocalConfig: dir}
	before, err := c.State("example.com/app")
	if err != nil {
		t.Fatal(err)
	}
	otherBefore, err := c.State("example.org/app")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, PrefixPath(dir+"/"+Dir, "example.com"), "0123")
	after, err := c.State("example.com/app")
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Error("State did not change when a prefix key file was added")
	}
	other, err := c.State("example.org/app")
	if err != nil {
		t.Fatal(err)
	}
	if other != otherBefore {
		t.Error("State of an unrelated name changed when a prefix key file was added")
	}
}

// writeFile creates dir and a key file named "key" in it.
func writeFile(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
