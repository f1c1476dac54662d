// Command run is fly's run entrypoint. stage0 execs it with the pod
// directory as working directory. It sets up the app rootfs and then
// replaces itself with the app, so its exit status is the app's.
package main

import (
	"os"

	"github.com/rktfly/rkt/stage1-fly/internal/cli"
	"github.com/rktfly/rkt/stage1-fly/internal/flyrun"
)

func main() {
	os.Exit(run())
}

func run() int {
	flags, err := flyrun.ParseFlags(os.Args[1:], os.Stdout)
	errs, debug := cli.Loggers("run", flags.Debug)
	if err != nil {
		return cli.Fail(errs, err, true)
	}
	// Run returns only on failure: on success the app replaced the process.
	return cli.Fail(errs, flyrun.Run(flags, debug), flags.Debug)
}
