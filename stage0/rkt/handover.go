//go:build rktlean

package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/stage0/internal/localfetch"
)

// fullBinaryName is the file name of the complete rkt, which rkt looks for
// next to its own binary first.
const fullBinaryName = "rkt-full"

// fullBinaryPath is the path of an installed rkt-full, looked up when none
// is next to rkt. The Makefile sets it from configure's --with-rkt-full.
var fullBinaryPath = "/usr/local/libexec/rkt/rkt-full"

// readsHandedOverFrom is false in rkt, which sets RKT_HANDED_OVER_FROM for
// rkt-full and ignores a value it finds in its own environment.
const readsHandedOverFrom = false

// fullCommandError is returned by a subcommand that only rkt-full serves.
type fullCommandError struct {
	command string
}

func (e *fullCommandError) Error() string {
	return e.command + " runs in rkt-full"
}

// handOver replaces this process with rkt-full when err shows that the
// command needs it: same pid, argv and open standard streams, and the same
// environment plus the path of this binary in RKT_HANDED_OVER_FROM.
// The command has run its deferred cleanup and has written no pod and no
// image by then. In a new data directory it may have created the empty
// image store, which rkt-full would create too.
// It returns ok false for any other error, and the exit status when rkt-full
// cannot be started, after printing why.
func handOver(cmd *cobra.Command, err error) (code int, ok bool) {
	var needs *localfetch.NeedsError
	var command *fullCommandError
	var reason string
	switch {
	case errors.As(err, &needs):
		reason = needs.Error() + ", which rkt-full does"
	case errors.As(err, &command):
		reason = command.Error()
	default:
		return 0, false
	}

	env := os.Environ()
	if exe, err := os.Executable(); err == nil {
		env = append(env, handedOverFromEnv+"="+exe)
	}
	paths := fullBinaryPaths()
	for _, path := range paths {
		err := unix.Exec(path, os.Args, env)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		stderr.Printf("%s: %s, but %s could not be started: %v", topCommandName(cmd), reason, path, err)
		return exitFailure, true
	}
	stderr.Printf("%s: %s, but rkt-full was not found at %s: install rkt-full of the same build next to rkt",
		topCommandName(cmd), reason, strings.Join(paths, " or "))
	return exitFailure, true
}

// fullBinaryPaths returns where rkt looks for rkt-full, in order: next to
// the rkt binary, then fullBinaryPath.
func fullBinaryPaths() []string {
	var paths []string
	if exe, err := os.Executable(); err == nil {
		paths = append(paths, filepath.Join(filepath.Dir(exe), fullBinaryName))
	}
	if fullBinaryPath != "" && !slices.Contains(paths, fullBinaryPath) {
		paths = append(paths, fullBinaryPath)
	}
	return paths
}
