package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/fsroot"
	"github.com/rktfly/rkt/stage0/internal/podstate"
)

var (
	cmdEnter = &cobra.Command{
		Use:   "enter [--app=APPNAME] UUID [CMD [ARGS ...]]",
		Short: "Enter the namespaces of an app within a rkt pod",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runWrapper(runEnter),
	}
	flagEnterApp string
)

func init() {
	cmdRkt.AddCommand(cmdEnter)
	cmdEnter.Flags().StringVar(&flagEnterApp, "app", "", "name of the app to enter within the specified pod")
	// Flags stop at the UUID, so the command's own flags pass through.
	cmdEnter.Flags().SetInterspersed(false)
}

// runEnter replaces rkt with the stage1 enter entrypoint, which runs the
// command chrooted in the app's rootfs with the app's environment.
func runEnter(cmd *cobra.Command, args []string) error {
	if err := requireRoot(); err != nil {
		return err
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	p, err := podstate.GetByPrefix(dir, args[0])
	if err != nil {
		return err
	}
	if !p.Running() {
		return fmt.Errorf("pod %q isn't currently running", p.UUID)
	}
	app, err := p.AppName(flagEnterApp)
	if err != nil {
		return err
	}
	pid, err := p.WaitPid(context.Background())
	if err != nil {
		return err
	}

	command := args[1:]
	if len(command) == 0 {
		shell := defaultShell(pid)
		warnLogger(cmd).Printf("no command specified, assuming %q", shell)
		command = []string{shell}
	}
	binary, argv, err := p.EnterCommand(app, pid, command)
	if err != nil {
		return err
	}
	if err := os.Chdir(p.Path()); err != nil {
		return err
	}
	debugLogger(cmd).Printf("exec %q", argv)
	if err := unix.Exec(binary, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", binary, err)
	}
	return nil
}

// defaultShell returns /bin/bash, rkt's default, when the app's root has
// it, and /bin/sh otherwise, so that images without bash still get a shell.
func defaultShell(pid int) string {
	root := "/proc/" + strconv.Itoa(pid) + "/root"
	f, err := fsroot.OpenInRoot(root, "/bin/bash", unix.O_PATH, 0)
	if err == nil {
		f.Close()
		return "/bin/bash"
	}
	if errors.Is(err, syscall.ENOENT) {
		return "/bin/sh"
	}
	return "/bin/bash"
}
