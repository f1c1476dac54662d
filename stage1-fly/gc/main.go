// Command gc is fly's gc entrypoint: gc [--debug] [--local-config DIR]
// UUID. fly makes no resources of its own to collect: stage0 unmounts and
// removes the pod, so gc only parses its arguments.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rktfly/rkt/stage1-fly/internal/cli"
)

func main() {
	os.Exit(run())
}

func run() int {
	set := flag.NewFlagSet("gc", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	debug := set.Bool("debug", false, "print debug messages to stderr")
	set.String("local-config", "", "local configuration directory (ignored)")
	err := set.Parse(os.Args[1:])
	errs, debugLog := cli.Loggers("gc", *debug)
	if err != nil {
		return cli.Fail(errs, fmt.Errorf("parse flags: %w", err), true)
	}
	// rkt's fly gc prints this line with --debug, without the prefix.
	debugLog.SetPrefix("")
	debugLog.Print("gc: not doing anything since stage0 is cleaning up the mounts")
	return 0
}
