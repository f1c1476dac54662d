package main

import (
	"errors"
	"fmt"
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

	failed := actOnPods(dir, prefixes, notices, func(p *podstate.Pod) error {
		if p.AfterRun() {
			stdout.Printf("pod %q is already stopped", p.UUID)
			return nil
		}
		if !p.Running() {
			return fmt.Errorf("pod %q is not running", p.UUID)
		}
		err := p.Stop(podstate.StopOptions{Force: flagStopForce, Stdout: os.Stdout, Stderr: os.Stderr})
		if errors.Is(err, podstate.ErrWrongState) {
			stdout.Printf("pod %q is already stopped", p.UUID)
			return nil
		}
		if err != nil {
			return err
		}
		stdout.Printf("%q", p.UUID)
		return nil
	})
	if failed {
		return &exitCodeError{code: exitFailure}
	}
	return nil
}
