package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/stage0/internal/podstate"
)

var (
	cmdStatus = &cobra.Command{
		Use:   "status [--wait=bool|timeout] [--wait-ready=bool|timeout] --uuid-file=FILE | UUID",
		Short: "Check the status of a rkt pod",
		RunE:  runWrapper(runStatus),
	}
	flagStatusWait      = waitFlag{}
	flagStatusWaitReady = waitFlag{}
	flagStatusFormat    string
	flagStatusUUIDFile  string
)

func init() {
	cmdRkt.AddCommand(cmdStatus)
	flags := cmdStatus.Flags()
	flags.Var(&flagStatusWait, "wait", "toggle waiting for the pod to finish. Use the output to determine the actual terminal state.")
	flags.Lookup("wait").NoOptDefVal = "true"
	flags.Var(&flagStatusWaitReady, "wait-ready", "toggle waiting until the pod is ready.")
	flags.Lookup("wait-ready").NoOptDefVal = "true"
	flags.StringVar(&flagStatusFormat, "format", "", "choose the output format, allowed format includes 'json', 'json-pretty'. If empty, then the result is printed as key value pairs")
	flags.StringVar(&flagStatusUUIDFile, "uuid-file", "", "read pod UUID from file instead of argument")
}

// waitFlag is a --wait style flag: a boolean (true waits forever) or a
// duration that bounds the wait.
type waitFlag struct {
	enabled bool
	// timeout is zero for waiting forever.
	timeout time.Duration
}

func (w *waitFlag) String() string {
	switch {
	case !w.enabled:
		return "false"
	case w.timeout == 0:
		return "true"
	default:
		return w.timeout.String()
	}
}

func (w *waitFlag) Set(value string) error {
	if b, err := strconv.ParseBool(value); err == nil {
		*w = waitFlag{enabled: b}
		return nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return fmt.Errorf("%q is neither a boolean nor a duration", value)
	}
	*w = waitFlag{enabled: d > 0, timeout: d}
	return nil
}

func (w *waitFlag) Type() string { return "bool|duration" }

func (w *waitFlag) context() (context.Context, context.CancelFunc) {
	if w.timeout > 0 {
		return context.WithTimeout(context.Background(), w.timeout)
	}
	return context.WithCancel(context.Background())
}

func runStatus(cmd *cobra.Command, args []string) error {
	if err := checkFormat(flagStatusFormat); err != nil {
		return err
	}
	prefix, err := onePodUUIDArg(args, flagStatusUUIDFile)
	if err != nil {
		return err
	}
	dir, err := dataDir()
	if err != nil {
		return err
	}
	p, err := podstate.GetByPrefix(dir, prefix)
	if err != nil {
		return fmt.Errorf("unable to resolve UUID: %w", err)
	}

	if flagStatusWaitReady.enabled {
		if err := waitPod(p, &flagStatusWaitReady, func(p *podstate.Pod) bool {
			return p.State == abi.StateRunning && p.SupervisorReady()
		}); err != nil {
			return fmt.Errorf("wait for pod %q to be ready: %w", p.UUID, err)
		}
	}
	if flagStatusWait.enabled {
		if err := waitPod(p, &flagStatusWait, (*podstate.Pod).Finished); err != nil {
			return fmt.Errorf("wait for pod %q to finish: %w", p.UUID, err)
		}
	}

	s, err := p.Summarize()
	if err != nil {
		return err
	}
	if flagStatusFormat != formatTabbed {
		pod, err := s.JSON()
		if err != nil {
			return err
		}
		return printJSON(pod, flagStatusFormat)
	}
	printStatus(s)
	return nil
}

// waitPod polls the pod's state every 100 ms until done returns true or the
// flag's timeout passes.
func waitPod(p *podstate.Pod, flag *waitFlag, done func(*podstate.Pod) bool) error {
	ctx, cancel := flag.context()
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for !done(p) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("still %s after %s", p.State, flag.timeout)
		case <-ticker.C:
		}
		if err := p.Refresh(); err != nil {
			return err
		}
	}
	return nil
}

// printStatus prints the key=value lines of rkt status in rkt's order. Which
// keys appear depends on the pod's state, and the app exit codes come last,
// sorted by app name.
func printStatus(s *podstate.Summary) {
	state := s.Pod.State
	stdout.Printf("state=%s", state)
	stdout.Printf("created=%s", s.CreatedAt.Format(podTimeLayout))
	if !s.StartedAt.IsZero() {
		stdout.Printf("started=%s", s.StartedAt.Format(podTimeLayout))
	}
	if state == abi.StateRunning || state == abi.StateExited {
		stdout.Printf("networks=%s", formatNetworks(s.Networks))
	}
	switch state {
	case abi.StateRunning, abi.StateDeleting, abi.StateExitedDeleting, abi.StateExited, abi.StateExitedGarbage:
	default:
		return
	}
	if s.HasPid {
		stdout.Printf("pid=%d", s.Pid)
	}
	stdout.Printf("exited=%t", state == abi.StateExited || state == abi.StateExitedGarbage)
	if state == abi.StateRunning {
		return
	}
	apps := append([]podstate.AppSummary(nil), s.Apps...)
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	for _, app := range apps {
		if app.ExitCode != nil {
			stdout.Printf("app-%s=%d", app.Name, *app.ExitCode)
		}
	}
}
