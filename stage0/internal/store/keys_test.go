package store

import (
	"regexp"
	"strings"
	"testing"
)

// TestStoreKeyAndTreeID checks the hand-written checks against the
// patterns they replace.
func TestStoreKeyAndTreeID(t *testing.T) {
	keyPattern := regexp.MustCompile(`^sha512-[0-9a-f]{64}$`)
	treeIDPattern := regexp.MustCompile(`^deps-sha512-[0-9a-f]{64}$`)
	hex64 := strings.Repeat("0123456789abcdef", 4)
	inputs := []string{
		"",
		"sha512-",
		"sha512-" + hex64,
		"sha512-" + hex64[:63],
		"sha512-" + hex64 + "0",
		"sha512-" + strings.ToUpper(hex64),
		"sha512-" + hex64[:63] + "g",
		"SHA512-" + hex64,
		"deps-sha512-" + hex64,
		"deps-sha512-" + hex64[:63],
		"deps-" + hex64,
		"xdeps-sha512-" + hex64,
	}
	for _, s := range inputs {
		if got, want := isStoreKey(s), keyPattern.MatchString(s); got != want {
			t.Errorf("isStoreKey(%q) = %v, want %v", s, got, want)
		}
		if got, want := isTreeID(s), treeIDPattern.MatchString(s); got != want {
			t.Errorf("isTreeID(%q) = %v, want %v", s, got, want)
		}
	}
}
