package podstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
)

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrPodGone means that no state directory contains the pod (any more).
	ErrPodGone = errors.New("pod not present")
	// ErrNoMatch means that a UUID prefix matches no pod.
	ErrNoMatch = errors.New("no matches found")
	// ErrAmbiguous means that a UUID prefix matches more than one pod.
	ErrAmbiguous = errors.New("ambiguous uuid")
	// ErrWrongState means that a pod is not in a state that allows the
	// requested operation.
	ErrWrongState = errors.New("pod is not in the expected state")
)

// Pod is one pod directory as it was found: its UUID, the state directory
// that contained it and the state derived from that directory and its lock.
type Pod struct {
	// UUID is the canonical lower-case form.
	UUID string
	// DataDir is the absolute data directory ($D).
	DataDir string
	// StateDir is one of the poddir.StateDir* names.
	StateDir string
	// State is one of the abi.State* names.
	State string
}

// Path returns the pod directory, $D/pods/<state dir>/<uuid>.
func (p *Pod) Path() string {
	return poddir.PodDir(p.DataDir, p.StateDir, p.UUID)
}

// Running reports whether the pod was running when its state was derived.
func (p *Pod) Running() bool { return p.State == abi.StateRunning }

// AfterRun reports whether the pod has run and stopped: exited or any
// garbage state that follows it.
func (p *Pod) AfterRun() bool {
	switch p.State {
	case abi.StateExited, abi.StateExitedGarbage, abi.StateExitedDeleting:
		return true
	}
	return false
}

// Finished reports whether the pod has reached a state from which it never
// runs again, which is what rkt status --wait waits for.
func (p *Pod) Finished() bool {
	switch p.State {
	case abi.StateExited, abi.StateExitedGarbage, abi.StateExitedDeleting,
		abi.StateGarbage, abi.StateDeleting:
		return true
	}
	return false
}

// ListedStateDirs are the state directories that rkt list shows and that
// UUID prefixes are matched against.
var ListedStateDirs = []string{
	poddir.StateDirPrepare,
	poddir.StateDirPrepared,
	poddir.StateDirRun,
	poddir.StateDirExitedGarbage,
}

// EnsureDirs creates $D/pods and its six state directories with mode 0750,
// as every rkt command that touches pods does.
func EnsureDirs(dataDir string) error {
	for _, state := range poddir.StateDirNames() {
		if err := os.MkdirAll(poddir.StateDir(dataDir, state), poddir.DirMode); err != nil {
			return fmt.Errorf("create pod state directory: %w", err)
		}
	}
	return nil
}

// Get finds the pod with the full UUID id, checking the state directories in
// rkt's order (embryo, prepare, prepared, run, exited-garbage, garbage),
// and derives its state. A pod found in no state
// directory gives an error wrapping ErrPodGone.
func Get(dataDir, id string) (*Pod, error) {
	if !IsUUID(id) {
		return nil, fmt.Errorf("pod %q: not a canonical lower-case UUID", id)
	}
	for _, stateDir := range poddir.StateDirNames() {
		p := &Pod{UUID: id, DataDir: dataDir, StateDir: stateDir}
		err := p.deriveState()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("pod %q was not present: %w", id, ErrPodGone)
}

// Refresh derives the pod's state again, searching from its last known state
// directory onwards, since pods only move forward through the states.
func (p *Pod) Refresh() error {
	dirs := poddir.StateDirNames()
	start := 0
	for i, name := range dirs {
		if name == p.StateDir {
			start = i
		}
	}
	for _, stateDir := range dirs[start:] {
		candidate := &Pod{UUID: p.UUID, DataDir: p.DataDir, StateDir: stateDir}
		err := candidate.deriveState()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		*p = *candidate
		return nil
	}
	return fmt.Errorf("pod %q was not present: %w", p.UUID, ErrPodGone)
}

// deriveState opens the pod directory in p.StateDir and sets p.State from
// its lock. It returns an error wrapping fs.ErrNotExist if the directory is
// not there.
func (p *Pod) deriveState() error {
	path := p.Path()
	if !abi.LockDecidesState(p.StateDir) {
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return fmt.Errorf("pod %s: %w", path, fs.ErrNotExist)
		}
		state, err := abi.PodState(p.StateDir, false)
		p.State = state
		return err
	}

	l, err := lock.OpenDir(path)
	if err != nil {
		return err
	}
	defer l.Close()
	locked := false
	if err := l.TryShared(); errors.Is(err, lock.ErrLocked) {
		locked = true
	} else if err != nil {
		return fmt.Errorf("derive state of pod %q: %w", p.UUID, err)
	}
	state, err := abi.PodState(p.StateDir, locked)
	p.State = state
	return err
}

// ListOptions select the pods that List returns.
type ListOptions struct {
	// StateDirs are the state directories to read, in that order. Empty
	// means ListedStateDirs.
	StateDirs []string
	// Skipped, if not nil, is called for each entry that is not a pod
	// directory (a file, or a name that is not a UUID).
	Skipped func(path string, reason string)
}

// List returns the pods in the chosen state directories, sorted by UUID. A
// pod that moves between two state directories while they are read is
// reported once, from the first directory that listed it; a pod that
// vanishes while its state is derived is left out. A missing state directory
// counts as empty.
func List(dataDir string, opts ListOptions) ([]*Pod, error) {
	stateDirs := opts.StateDirs
	if len(stateDirs) == 0 {
		stateDirs = ListedStateDirs
	}
	seen := make(map[string]bool)
	var pods []*Pod
	for _, stateDir := range stateDirs {
		dir := poddir.StateDir(dataDir, stateDir)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list pods: %w", err)
		}
		for _, entry := range entries {
			name := entry.Name()
			if !entry.IsDir() {
				if opts.Skipped != nil {
					opts.Skipped(filepath.Join(dir, name), "not a directory")
				}
				continue
			}
			if !IsUUID(name) {
				if opts.Skipped != nil {
					opts.Skipped(filepath.Join(dir, name), "not a pod UUID")
				}
				continue
			}
			if seen[name] {
				continue
			}
			p := &Pod{UUID: name, DataDir: dataDir, StateDir: stateDir}
			err := p.deriveState()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			seen[name] = true
			pods = append(pods, p)
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].UUID < pods[j].UUID })
	return pods, nil
}

// ResolveUUID returns the full UUID of the one pod in ListedStateDirs whose
// UUID starts with prefix, compared case-insensitively. An empty prefix is an
// error, never a match for every pod. No match wraps ErrNoMatch and more
// than one wraps ErrAmbiguous.
func ResolveUUID(dataDir, prefix string) (string, error) {
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	if prefix == "" {
		return "", errors.New("empty pod UUID")
	}
	var matches []string
	seen := make(map[string]bool)
	for _, stateDir := range ListedStateDirs {
		entries, err := os.ReadDir(poddir.StateDir(dataDir, stateDir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("resolve pod UUID %q: %w", prefix, err)
		}
		for _, entry := range entries {
			name := entry.Name()
			if !entry.IsDir() || !IsUUID(name) || !strings.HasPrefix(name, prefix) || seen[name] {
				continue
			}
			seen[name] = true
			matches = append(matches, name)
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w for %q", ErrNoMatch, prefix)
	case 1:
		return matches[0], nil
	default:
		return "", fmt.Errorf("%w, %d matches", ErrAmbiguous, len(matches))
	}
}

// GetByPrefix resolves prefix with ResolveUUID and returns the pod.
func GetByPrefix(dataDir, prefix string) (*Pod, error) {
	id, err := ResolveUUID(dataDir, prefix)
	if err != nil {
		return nil, err
	}
	return Get(dataDir, id)
}

// IsUUID reports whether s is a UUID in the canonical lower-case
// 8-4-4-4-12 form, the only form that names a pod directory.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
