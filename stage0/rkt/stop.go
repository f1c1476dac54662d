package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/podstate"
)

var (
	cmdStop = &cobra.Command{
		Use:   "stop --uuid-file=FILE | UUID ...",
		Short: "Stop a pod",
		RunE:  runWrapper(runStop),
	}
	flagStopForce    bool
	flagStopUUIDFile string
)

func init() {
	cmdRkt.AddCommand(cmdStop)
	cmdStop.Flags().BoolVar(&flagStopForce, "force", false, "forced stopping")
	cmdStop.Flags().StringVar(&flagStopUUIDFile, "uuid-file", "", "read pod UUID from file instead of argument")
}

// runStop stops each pod through its stage1 stop entrypoint and prints its
// quoted UUID. A pod that has already exited is reported, not an error.
func runStop(cmd *cobra.Command, args []string) error {
	prefixes, err := podUUIDArgs(args, flagStopUUIDFile)
	if err != nil {
		return err
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	notices := warnLogger(cmd)

	failed := false
	for _, prefix := range prefixes {
		p, err := podstate.GetByPrefix(dir, prefix)
		if err != nil {
			notices.Printf("cannot get pod: %v", err)
			failed = true
			continue
		}
		if p.AfterRun() {
			stdout.Printf("pod %q is already stopped", p.UUID)
			continue
		}
		if !p.Running() {
			notices.Printf("pod %q is not running", p.UUID)
			failed = true
			continue
		}
		err = p.Stop(podstate.StopOptions{Force: flagStopForce, Stdout: os.Stdout, Stderr: os.Stderr})
		if errors.Is(err, podstate.ErrWrongState) {
			stdout.Printf("pod %q is already stopped", p.UUID)
			continue
		}
		if err != nil {
			notices.Print(err)
			failed = true
			continue
		}
		stdout.Printf("%q", p.UUID)
	}
	if failed {
		return &exitCodeError{code: exitFailure}
	}
	return nil
}
