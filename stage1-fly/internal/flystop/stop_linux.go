// Package flystop is fly's stop entrypoint: it signals the
// app whose pid run wrote, or its process group when that pid is gone.
package flystop

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/poddir"
)

// Stop sends SIGTERM, or SIGKILL with force, to the pid in podDir/pid. If
// that process no longer exists, the signal goes to the process group in
// podDir/pgid, the group that rkt ran in.
func Stop(podDir string, force bool) error {
	signal := unix.SIGTERM
	if force {
		signal = unix.SIGKILL
	}
	pid, err := poddir.ReadPid(poddir.PidPath(podDir))
	if err != nil {
		return fmt.Errorf("error reading pid: %w", err)
	}
	if unix.Kill(pid, 0) == nil {
		if err := unix.Kill(pid, signal); err != nil {
			return fmt.Errorf("send %v to pid %d: %w", signal, pid, err)
		}
		return nil
	}

	pgid, err := poddir.ReadPid(poddir.PgidPath(podDir))
	if err != nil {
		return fmt.Errorf("error reading pgid: %w", err)
	}
	if err := unix.Kill(-pgid, signal); err != nil {
		return fmt.Errorf("send %v to process group %d: %w", signal, pgid, err)
	}
	return nil
}
