// Package testrkt holds the helpers that the functional tests under tests/
// share for running the built rkt binary.
package testrkt

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// Result is the output and exit status of one finished command.
type Result struct {
	Stdout string
	Stderr string
	Code   int
}

// Run runs cmd to completion, captures its stdout and stderr, and returns
// them with the exit status. It fails t when cmd cannot be started or
// waited for, so Code is set only by a command that ran.
func Run(t testing.TB, cmd *exec.Cmd) Result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", strings.Join(cmd.Args, " "), err)
	}
	return res
}
