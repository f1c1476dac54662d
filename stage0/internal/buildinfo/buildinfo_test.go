package buildinfo

import (
	"os"
	"regexp"
	"testing"
)

// TestDefaultVersionMatchesConfigure keeps the version of a plain go build
// equal to configure.ac's AC_INIT version.
func TestDefaultVersionMatchesConfigure(t *testing.T) {
	data, err := os.ReadFile("../../../configure.ac")
	if err != nil {
		t.Fatal(err)
	}
	match := regexp.MustCompile(`AC_INIT\(\[rkt\], \[([^]]+)\]`).FindSubmatch(data)
	if match == nil {
		t.Fatal("no AC_INIT([rkt], [VERSION]...) in configure.ac")
	}
	if got := string(match[1]); got != defaultVersion {
		t.Errorf("configure.ac version %q != defaultVersion %q", got, defaultVersion)
	}
}

// TestDefaultsWithoutLinkerFlags checks the values that a build without the
// Makefile's -ldflags gets, as go test is: those of
// ./configure --with-stage1-flavors=fly with the default prefix.
func TestDefaultsWithoutLinkerFlags(t *testing.T) {
	want := map[string][2]string{
		"Version":                {Version, defaultVersion},
		"Stage1DefaultName":      {Stage1DefaultName, "coreos.com/rkt/stage1-fly"},
		"Stage1DefaultVersion":   {Stage1DefaultVersion, defaultVersion},
		"Stage1DefaultLocation":  {Stage1DefaultLocation, ""},
		"Stage1DefaultFilename":  {Stage1DefaultFilename, "stage1-fly.aci"},
		"Stage1DefaultImagesDir": {Stage1DefaultImagesDir, "/usr/local/lib/rkt/stage1-images"},
		"Features":               {Features, "-TPM -SDJOURNAL"},
		"AppcVersion":            {AppcVersion, "0.8.11"},
	}
	for name, values := range want {
		if values[0] != values[1] {
			t.Errorf("%s = %q, want %q", name, values[0], values[1])
		}
	}
}
