package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/podstate"
)

// rmRunningWait bounds how long rm waits for a running pod to exit, so that
// rkt rm right after rkt stop finds the pod exited instead of failing.
const rmRunningWait = 5 * time.Second

var (
	cmdRm = &cobra.Command{
		Use:   "rm --uuid-file=FILE | UUID ...",
		Short: "Remove all files and resources associated with an exited pod",
		RunE:  runWrapper(runRm),
	}
	flagRmUUIDFile string
)

func init() {
	cmdRkt.AddCommand(cmdRm)
	cmdRm.Flags().StringVar(&flagRmUUIDFile, "uuid-file", "", "read pod UUID from file instead of argument")
}

func runRm(cmd *cobra.Command, args []string) error {
	if err := requireRoot(); err != nil {
		return err
	}
	prefixes, err := podUUIDArgs(args, flagRmUUIDFile)
	if err != nil {
		return err
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	if err := podstate.EnsureDirs(dir); err != nil {
		return err
	}
	notices := warnLogger(cmd)

	failed := actOnPods(dir, prefixes, notices, func(p *podstate.Pod) error {
		err := podstate.Remove(p, podstate.RemoveOptions{
			RunningWait: rmRunningWait,
			LocalConfig: globalFlags.localConfig,
			Debug:       globalFlags.debug,
			Notices:     notices,
			Log:         debugLogger(cmd),
			Stderr:      os.Stderr,
		})
		if err != nil {
			return err
		}
		stdout.Printf("%q", p.UUID)
		return nil
	})
	if failed {
		notices.Print("failed to remove one or more pods")
		return &exitCodeError{code: exitFailure}
	}
	return nil
}
