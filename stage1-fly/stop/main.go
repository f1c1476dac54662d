// Command stop is fly's stop entrypoint: stop [--force] UUID, run with the
// pod directory as working directory. The UUID is not used.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rktfly/rkt/stage1-fly/internal/cli"
	"github.com/rktfly/rkt/stage1-fly/internal/flystop"
)

func main() {
	os.Exit(run())
}

func run() int {
	set := flag.NewFlagSet("stop", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	force := set.Bool("force", false, "send SIGKILL instead of SIGTERM")
	debug := set.Bool("debug", false, "print debug messages to stderr")
	err := set.Parse(os.Args[1:])
	errs, _ := cli.Loggers("stop", *debug)
	if err != nil {
		return cli.Fail(errs, fmt.Errorf("parse flags: %w", err), true)
	}
	if err := flystop.Stop(".", *force); err != nil {
		return cli.Fail(errs, err, *debug)
	}
	return 0
}
