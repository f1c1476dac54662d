package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/buildinfo"
)

var cmdVersion = &cobra.Command{
	Use:   "version",
	Short: "Print the version and exit",
	Args:  cobra.NoArgs,
	RunE: runWrapper(func(cmd *cobra.Command, args []string) error {
		stdout.Printf("rkt Version: %s", buildinfo.Version)
		stdout.Printf("appc Version: %s", buildinfo.AppcVersion)
		stdout.Printf("Go Version: %s", runtime.Version())
		stdout.Printf("Go OS/Arch: %s/%s", runtime.GOOS, runtime.GOARCH)
		stdout.Printf("Features: %s", buildinfo.Features)
		return nil
	}),
}

func init() {
	cmdRkt.AddCommand(cmdVersion)
}
