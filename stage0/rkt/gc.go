package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/podstate"
)

var (
	cmdGC = &cobra.Command{
		Use:   "gc [--grace-period=duration] [--expire-prepared=duration] [--mark-only]",
		Short: "Garbage collect rkt pods no longer in use",
		Args:  cobra.NoArgs,
		RunE:  runWrapper(runGC),
	}
	flagGCGracePeriod    time.Duration
	flagGCExpirePrepared time.Duration
	flagGCMarkOnly       bool
)

func init() {
	cmdRkt.AddCommand(cmdGC)
	flags := cmdGC.Flags()
	flags.DurationVar(&flagGCGracePeriod, "grace-period", 30*time.Minute, "duration to wait before discarding inactive pods from garbage")
	flags.DurationVar(&flagGCExpirePrepared, "expire-prepared", 24*time.Hour, "duration to wait before expiring prepared pods")
	flags.BoolVar(&flagGCMarkOnly, "mark-only", false, "if set to true, then the exited/aborted pods will be moved to the garbage directories without actually deleting them, this is useful for marking the exit time of a pod")
}

func runGC(cmd *cobra.Command, args []string) error {
	if err := requireRoot(); err != nil {
		return err
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	if err := podstate.EnsureDirs(dir); err != nil {
		return err
	}
	return podstate.GC(dir, podstate.GCOptions{
		GracePeriod:    flagGCGracePeriod,
		ExpirePrepared: flagGCExpirePrepared,
		MarkOnly:       flagGCMarkOnly,
		LocalConfig:    globalFlags.localConfig,
		Debug:          globalFlags.debug,
		Stdout:         os.Stdout,
		Notices:        warnLogger(cmd),
		Log:            debugLogger(cmd),
		Stderr:         os.Stderr,
	})
}
