package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/pod"
	"github.com/rktfly/rkt/stage0/internal/store"
)

var (
	runPreparedFlags runtimeFlags

	cmdRunPrepared = &cobra.Command{
		Use:   "run-prepared UUID",
		Short: "Run a prepared application pod in rkt",
		Args:  cobra.ExactArgs(1),
		RunE:  runWrapper(runRunPrepared),
	}
)

func init() {
	addRuntimeFlags(cmdRunPrepared.Flags(), &runPreparedFlags)
	cmdRkt.AddCommand(cmdRunPrepared)
}

func runRunPrepared(cmd *cobra.Command, args []string) error {
	if err := requireRoot(); err != nil {
		return err
	}
	if runPreparedFlags.mdsRegister {
		return errors.New("--mds-register: the metadata service is not supported yet, drop the flag")
	}
	dns := runPreparedFlags.dnsConfig()
	if _, _, err := dns.Mode(); err != nil {
		return err
	}

	dir, err := dataDir()
	if err != nil {
		return err
	}
	uuid, err := resolvePreparedUUID(dir, args[0])
	if err != nil {
		return err
	}

	debug := debugLogger(cmd)
	p, err := pod.OpenPrepared(dir, uuid, debug)
	if errors.Is(err, pod.ErrNotPrepared) {
		return fmt.Errorf("pod %q is not prepared", uuid)
	}
	if err != nil {
		return err
	}
	if err := p.MarkRunning(); err != nil {
		return fmt.Errorf("pod %q is not prepared: %w", uuid, err)
	}

	s, err := store.Open(poddir.CASDir(dir), store.Options{Log: debug})
	if err != nil {
		return fmt.Errorf("open image store: %w", err)
	}
	// rkt accepts --ipc here but never forwards it, and run-prepared sends
	// no --local-config.
	return p.Run(pod.RunConfig{
		Store: s,
		Flags: runPreparedFlags.stage1Flags(),
		DNS:   dns,
		Warn:  warnLogger(cmd),
	})
}

// resolvePreparedUUID expands a UUID prefix (case-insensitive) against the
// pods in the prepare, prepared, run and exited-garbage states.
func resolvePreparedUUID(dir, prefix string) (string, error) {
	prefix = strings.ToLower(prefix)
	if prefix == "" {
		return "", errors.New("empty pod UUID")
	}
	var matches []string
	for _, state := range []string{poddir.StateDirPrepare, poddir.StateDirPrepared, poddir.StateDirRun, poddir.StateDirExitedGarbage} {
		names, err := listDir(poddir.StateDir(dir, state))
		if err != nil {
			return "", err
		}
		for _, name := range names {
			if strings.HasPrefix(name, prefix) {
				matches = append(matches, name)
			}
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no matches found for %q", prefix)
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("ambiguous uuid, %d matches", len(matches))
}
