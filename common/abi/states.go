package abi

import (
	"fmt"

	"github.com/rktfly/rkt/common/poddir"
)

// Pod state names exactly as rkt status and rkt list print them.
const (
	StateEmbryo         = "embryo"
	StatePreparing      = "preparing"
	StateAbortedPrepare = "aborted prepare"
	StatePrepared       = "prepared"
	StateRunning        = "running"
	StateExited         = "exited"
	StateExitedGarbage  = "exited garbage"
	StateExitedDeleting = "exited deleting"
	StateGarbage        = "garbage"
	StateDeleting       = "deleting"
)

// LockDecidesState reports whether the pod's state in stateDir depends on
// whether its directory is locked. For embryo and prepared the lock is not
// tested.
func LockDecidesState(stateDir string) bool {
	return stateDir != poddir.StateDirEmbryo && stateDir != poddir.StateDirPrepared
}

// PodState returns the state of a pod found in the state directory stateDir
// (one of the poddir.StateDir* names), where locked means that a
// flock(LOCK_SH|LOCK_NB) on the pod directory failed because another open
// file description holds LOCK_EX. locked is ignored for embryo and prepared.
func PodState(stateDir string, locked bool) (string, error) {
	switch stateDir {
	case poddir.StateDirEmbryo:
		return StateEmbryo, nil
	case poddir.StateDirPrepared:
		return StatePrepared, nil
	case poddir.StateDirPrepare:
		return pick(locked, StatePreparing, StateAbortedPrepare), nil
	case poddir.StateDirRun:
		return pick(locked, StateRunning, StateExited), nil
	case poddir.StateDirExitedGarbage:
		return pick(locked, StateExitedDeleting, StateExitedGarbage), nil
	case poddir.StateDirGarbage:
		return pick(locked, StateDeleting, StateGarbage), nil
	default:
		return "", fmt.Errorf("unknown pod state directory %q", stateDir)
	}
}

func pick(locked bool, lockedState, unlockedState string) string {
	if locked {
		return lockedState
	}
	return unlockedState
}
