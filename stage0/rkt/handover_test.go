//go:build rktlean

package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rktfly/rkt/stage0/internal/localfetch"
)

func TestFullBinaryPathsOrder(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	next := filepath.Join(filepath.Dir(exe), "rkt-full")

	saved := fullBinaryPath
	defer func() { fullBinaryPath = saved }()
	cases := []struct {
		name       string
		configured string
		want       []string
	}{
		{name: "configured elsewhere", configured: "/opt/rkt/libexec/rkt-full", want: []string{next, "/opt/rkt/libexec/rkt-full"}},
		{name: "configured next to rkt", configured: next, want: []string{next}},
		{name: "none configured", configured: "", want: []string{next}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fullBinaryPath = tc.configured
			if got := fullBinaryPaths(); !slices.Equal(got, tc.want) {
				t.Errorf("fullBinaryPaths() = %q, want %q", got, tc.want)
			}
		})
	}
}

// captureStderr replaces the stderr logger for the test and returns what
// was written to it.
func captureStderr(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	saved := stderr
	stderr = log.New(&buf, "", 0)
	t.Cleanup(func() { stderr = saved })
	return &buf
}

func TestHandOverMissingFullBinary(t *testing.T) {
	saved := fullBinaryPath
	defer func() { fullBinaryPath = saved }()
	fullBinaryPath = filepath.Join(t.TempDir(), "rkt-full")

	cases := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "image needs download",
			err:  fmt.Errorf("stage1 image: %w", &localfetch.NeedsError{Image: "https://example.com/s1.aci", Work: "a download"}),
			want: "run: image https://example.com/s1.aci needs a download, which rkt-full does, but rkt-full was not found at ",
		},
		{
			name: "command needs rkt-full",
			err:  &fullCommandError{command: "rkt fetch"},
			want: "run: rkt fetch runs in rkt-full, but rkt-full was not found at ",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := captureStderr(t)
			code, ok := handOver(cmdRun, tc.err)
			if !ok {
				t.Fatal("handOver did not handle the error")
			}
			if code != exitFailure {
				t.Errorf("exit code = %d, want %d", code, exitFailure)
			}
			if !strings.HasPrefix(out.String(), tc.want) {
				t.Errorf("message = %q, want prefix %q", out.String(), tc.want)
			}
			if !strings.Contains(out.String(), fullBinaryPath) {
				t.Errorf("message %q does not name %s", out.String(), fullBinaryPath)
			}
		})
	}
}

func TestHandOverIgnoresOtherErrors(t *testing.T) {
	out := captureStderr(t)
	if _, ok := handOver(cmdRun, errors.New("image not found")); ok {
		t.Error("handOver handled an error that needs no rkt-full")
	}
	if out.Len() > 0 {
		t.Errorf("handOver printed %q", out.String())
	}
}
