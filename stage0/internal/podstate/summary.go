package podstate

import (
	"errors"
	"io/fs"
	"time"

	"github.com/appc/spec/schema"

	"github.com/rktfly/rkt/common/abi"
)

// Summary is the data that rkt list and rkt status show about one pod, read
// from its directory in one pass.
type Summary struct {
	Pod *Pod
	// Manifest is nil while the pod manifest is not written yet.
	Manifest   *schema.PodManifest
	Apps       []AppSummary
	CreatedAt  time.Time
	StartedAt  time.Time
	GCMarkedAt time.Time
	// Pid is the pid from pid or ppid, valid when HasPid is true.
	Pid      int
	HasPid   bool
	Networks []NetInfo
	// Problems are per-app read errors that still leave a usable summary,
	// such as a missing appsinfo manifest.
	Problems []error
}

// AppSummary describes one app of the pod manifest.
type AppSummary struct {
	Name string
	// ImageName is "name" or "name:version" from appsinfo/<app>/manifest,
	// or "--" when that manifest cannot be read.
	ImageName string
	// ImageID is the store key of the image from the pod manifest.
	ImageID string
	// ExitCode is set only when a stage1 recorded the app's exit status.
	ExitCode *int
}

// maxSummarizeAttempts bounds how often Summarize reads a pod whose state
// directory changed meanwhile. A pod moves at most four times, from embryo
// through prepare, prepared and run to exited-garbage.
const maxSummarizeAttempts = 5

// Summarize reads the pod's manifest, app image manifests, times, pid,
// exit statuses and networks. Another rkt process may write or delete the
// pod's files meanwhile. So when a file is missing or unreadable, Summarize
// derives the pod's state again and acts on the result:
//   - a pod that vanished gives an error wrapping ErrPodGone;
//   - a pod that moved to another state directory is read again there;
//   - a pod in transition (see InTransition) gives the summary of what could
//     be read, with no error and no Problems;
//   - any other pod gives the read error, or the summary with its Problems.
//
// It updates p to the state it derived last.
func (p *Pod) Summarize() (*Summary, error) {
	for attempt := 1; ; attempt++ {
		s, complete, err := p.summarizeOnce()
		if err == nil && complete {
			return s, nil
		}
		stateDir := p.StateDir
		if refreshErr := p.Refresh(); refreshErr != nil {
			if errors.Is(refreshErr, ErrPodGone) || err == nil {
				return nil, refreshErr
			}
			return nil, err
		}
		if p.StateDir != stateDir && attempt < maxSummarizeAttempts {
			continue
		}
		if p.InTransition() {
			s.Problems = nil
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// InTransition reports whether the pod's state, when it was derived, lasts
// only while another rkt process writes or deletes the pod's files. These
// states are embryo, preparing, deleting and exited deleting, and the files of
// such a pod may be missing or half-written.
func (p *Pod) InTransition() bool {
	switch p.State {
	case abi.StateEmbryo, abi.StatePreparing, abi.StateDeleting, abi.StateExitedDeleting:
		return true
	}
	return false
}

// summarizeOnce reads the summary from the pod's current directory. complete
// is false when the pod manifest or pod-created is missing or when s has
// Problems. On an error, s holds what was read before it.
func (p *Pod) summarizeOnce() (s *Summary, complete bool, err error) {
	s = &Summary{Pod: p}
	if s.CreatedAt, err = p.CreatedAt(); err != nil {
		return s, false, err
	}
	if s.StartedAt, err = p.StartedAt(); err != nil {
		return s, false, err
	}
	if s.GCMarkedAt, err = p.GCMarkedAt(); err != nil {
		return s, false, err
	}
	s.Pid, s.HasPid = p.Pid()
	if s.Networks, err = p.Networks(); err != nil {
		s.Problems = append(s.Problems, err)
	}

	manifest, err := p.Manifest()
	if errors.Is(err, fs.ErrNotExist) {
		// Embryo and preparing pods have no manifest yet, and a pod that
		// was moved or deleted meanwhile has none at this path.
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	s.Manifest = manifest

	for _, ra := range manifest.Apps {
		app := AppSummary{Name: ra.Name.String(), ImageName: "--"}
		if ra.Image.ID.Val != "" {
			app.ImageID = ra.Image.ID.String()
		}
		im, err := p.AppImageManifest(app.Name)
		if err != nil {
			s.Problems = append(s.Problems, err)
		} else {
			app.ImageName = imageNameWithVersion(im)
		}
		if code, ok := p.ExitCode(app.Name); ok {
			app.ExitCode = &code
		}
		s.Apps = append(s.Apps, app)
	}
	return s, len(s.Problems) == 0 && !s.CreatedAt.IsZero(), nil
}

func imageNameWithVersion(im *schema.ImageManifest) string {
	name := im.Name.String()
	if version, ok := im.Labels.Get("version"); ok {
		name += ":" + version
	}
	return name
}

// AppState returns the app state that rkt reports for an app of an
// immutable pod, derived from the pod state alone.
func AppState(podState string) string {
	switch podState {
	case abi.StatePrepared:
		return "created"
	case abi.StateRunning:
		return "running"
	case abi.StateExited, abi.StateExitedGarbage, abi.StateExitedDeleting,
		abi.StateGarbage, abi.StateDeleting:
		return "exited"
	default:
		return "unknown"
	}
}
