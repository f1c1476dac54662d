// Command enter is fly's enter entrypoint: it runs a command in the root of
// a running app, as the app's user, with the app's environment.
package main

import (
	"os"

	"github.com/rktfly/rkt/stage1-fly/internal/cli"
	"github.com/rktfly/rkt/stage1-fly/internal/flyenter"
)

func main() {
	os.Exit(run())
}

func run() int {
	flags, err := flyenter.ParseFlags(os.Args[1:])
	errs, debug := cli.Loggers("enter", flags.Debug)
	if err != nil {
		return cli.Fail(errs, err, true)
	}
	// Enter returns only on failure: on success the command replaced the process.
	return cli.Fail(errs, flyenter.Enter(flags, debug), flags.Debug)
}
