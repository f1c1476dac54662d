package main

import (
	"github.com/spf13/cobra"
)

var (
	prepareApps     = newAppList()
	preparePodFlags podFlags
	prepareQuiet    bool

	cmdPrepare = &cobra.Command{
		Use:   "prepare [--volume=name,kind=host,source=/some/path] [--mount=volume=name,target=/path] IMAGE [-- image-args...[---]]...",
		Short: "Prepare to run image(s) in a pod in rkt",
		Long: `Prepares a pod for run-prepared and prints its UUID.

Image arguments and per-image flags are those of "rkt run".`,
		Args: cobra.ArbitraryArgs,
		RunE: runWrapper(runPrepare),
	}
)

func init() {
	cmdPrepare.Flags().SetInterspersed(false)
	addPodFlags(cmdPrepare.Flags(), &preparePodFlags)
	cmdPrepare.Flags().BoolVar(&prepareQuiet, "quiet", false, "print only the pod UUID")
	addAppFlags(cmdPrepare.Flags(), prepareApps)
	cmdRkt.AddCommand(cmdPrepare)
}

func runPrepare(cmd *cobra.Command, args []string) error {
	if err := requireRoot(); err != nil {
		return err
	}
	if err := parseApps(prepareApps, args, cmd.Flags(), true); err != nil && preparePodFlags.podManifest == "" {
		return err
	}

	pp, err := preparePod(prepareOptions{
		cmd:   cmd,
		apps:  prepareApps,
		flags: &preparePodFlags,
		debug: debugLogger(cmd),
		warn:  warnLogger(cmd),
	})
	if err != nil {
		return err
	}
	if err := pp.pod.MarkPrepared(); err != nil {
		return err
	}
	stdout.Print(pp.pod.UUID)
	return nil
}
