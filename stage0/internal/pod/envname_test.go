package pod

import (
	"regexp"
	"testing"
)

// TestValidEnvName checks the hand-written check against the appc pattern
// it replaces.
func TestValidEnvName(t *testing.T) {
	appcPattern := regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9.-]*$`)
	names := []string{
		"", "A", "a", "_", "PATH", "_x9", "a.b-c", "x-", "x.",
		"9", "9a", ".a", "-a", "a b", "a=b", "ä", "a\x00", "A_Z09",
	}
	for _, name := range names {
		want := appcPattern.MatchString(name)
		if got := validEnvName(name); got != want {
			t.Errorf("validEnvName(%q) = %v, want %v", name, got, want)
		}
	}
}
