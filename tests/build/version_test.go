package build

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// TestRktVersionCompiledIn checks that the Makefile passed configure's
// values to the linker: `rkt version` prints them.
func TestRktVersionCompiledIn(t *testing.T) {
	out, err := exec.Command(testbuild.RktBinary(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("rkt version: %v\n%s", err, out)
	}
	want := []string{
		"rkt Version: " + rktVersion(t),
		"appc Version: " + configValue(t, "APPC_VERSION"),
		"Features: " + configValue(t, "RKT_FEATURES"),
	}
	lines := strings.Split(string(out), "\n")
	for _, line := range want {
		found := false
		for _, got := range lines {
			if strings.TrimSpace(got) == line {
				found = true
			}
		}
		if !found {
			t.Errorf("rkt version output lacks the line %q:\n%s", line, out)
		}
	}
}
