package build

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/rktfly/rkt/internal/testbuild"
)

// leanTag is the build tag of the rkt binary that hands downloads and
// signature checks to rkt-full. The Makefile builds bin/rkt with it.
const leanTag = "rktlean"

// heavyPackages must not be linked into rkt: their package init costs
// start-up time on every warm run, and only rkt-full needs them.
var heavyPackages = []string{
	"github.com/rktfly/rkt/stage0/internal/fetch",
	"github.com/rktfly/rkt/stage0/internal/trust",
	"net/http",
	"crypto/tls",
	"golang.org/x/net/html",
	"github.com/ProtonMail/go-crypto/openpgp",
	"github.com/schollz/progressbar/v3",
}

// replacedPackages must not be linked into rkt either. Both builds use
// stage0/internal/imageref in their place.
var replacedPackages = []string{"github.com/appc/spec/discovery"}

// listDeps returns the import paths that `go list -deps` reports for
// stage0/rkt with the build tags.
func listDeps(t *testing.T, tags string) []string {
	t.Helper()
	args := []string{"list", "-deps"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "./stage0/rkt")...)
	cmd.Dir = testbuild.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

func TestLeanRktLinksNoHeavyPackage(t *testing.T) {
	deps := listDeps(t, leanTag)
	if !slices.Contains(deps, "github.com/rktfly/rkt/stage0/internal/localfetch") {
		t.Fatalf("go list -deps -tags %s ./stage0/rkt lacks localfetch: the listing is not the rkt build", leanTag)
	}
	for _, pkg := range append(heavyPackages, replacedPackages...) {
		if slices.Contains(deps, pkg) {
			t.Errorf("rkt (tag %s) links %s, which only rkt-full may link", leanTag, pkg)
		}
	}
}

// TestFullRktLinksHeavyPackages checks the list above against the build
// without the tag, so that a renamed package cannot make the lean check
// pass by naming nothing.
func TestFullRktLinksHeavyPackages(t *testing.T) {
	deps := listDeps(t, "")
	for _, pkg := range heavyPackages {
		if !slices.Contains(deps, pkg) {
			t.Errorf("rkt-full does not link %s: update heavyPackages", pkg)
		}
	}
}

// buildTags returns the -tags build setting that `go version -m` reports
// for the binary at path, "" when it has none.
func buildTags(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", path).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", path, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 2 && fields[0] == "build" && strings.HasPrefix(fields[1], "-tags=") {
			return strings.TrimPrefix(fields[1], "-tags=")
		}
	}
	return ""
}

func TestBuiltBinariesTags(t *testing.T) {
	if got := buildTags(t, testbuild.RktBinary(t)); got != leanTag {
		t.Errorf("bin/rkt was built with tags %q, want %q", got, leanTag)
	}
	if got := buildTags(t, testbuild.FullBinary(t)); got != "" {
		t.Errorf("bin/rkt-full was built with tags %q, want none", got)
	}
}
