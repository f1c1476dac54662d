// Package cli holds what the four fly entrypoints share in main: their
// loggers, the one-line error report and the exit codes.
package cli

import (
	"errors"
	"io"
	"log"
	"os"
	"syscall"

	"github.com/rktfly/rkt/common/abi"
)

// ExitFailure is the exit status of an entrypoint that fails itself.
const ExitFailure = abi.ExitFailure

// Loggers returns the error logger, which always writes to stderr, and the
// debug logger, which writes to stderr only with --debug. Both prefix each
// line with "<name>: ".
func Loggers(name string, debug bool) (errs, debugLog *log.Logger) {
	errs = log.New(os.Stderr, name+": ", 0)
	debugLog = log.New(io.Discard, name+": ", 0)
	if debug {
		debugLog.SetOutput(os.Stderr)
	}
	return errs, debugLog
}

// Fail prints err as one line and returns ExitFailure. With debug the line
// is the whole chain. Without it, the line is the outermost message and
// the innermost error that still names a value, such as a path or mount
// error rather than a bare errno.
func Fail(errs *log.Logger, err error, debug bool) int {
	if debug {
		errs.Print(err)
	} else {
		errs.Print(Summary(err))
	}
	return ExitFailure
}

// Summary shortens a wrapped error chain to its outermost message and its
// innermost error that is not a bare errno.
func Summary(err error) string {
	full := err.Error()
	inner := errors.Unwrap(err)
	if inner == nil {
		return full
	}
	head := full[:len(full)-len(inner.Error())]
	if len(head) < 2 || head[len(head)-2:] != ": " {
		// The outer message does not end in the inner one: keep it whole.
		return full
	}
	deepest := inner
	for {
		next := errors.Unwrap(deepest)
		if next == nil {
			break
		}
		if _, isErrno := next.(syscall.Errno); isErrno {
			break
		}
		deepest = next
	}
	return head + deepest.Error()
}
