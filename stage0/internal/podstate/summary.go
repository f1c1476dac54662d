package podstate

import (
	"errors"
	"fmt"
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

// Summarize reads the pod's manifest, app image manifests, times, pid,
// exit statuses and networks. A pod whose directory vanished (deleted by a
// concurrent gc) gives an error wrapping ErrPodGone.
func (p *Pod) Summarize() (*Summary, error) {
	s := &Summary{Pod: p}
	var err error
	if s.CreatedAt, err = p.CreatedAt(); err != nil {
		return nil, p.goneOr(err)
	}
	if s.StartedAt, err = p.StartedAt(); err != nil {
		return nil, p.goneOr(err)
	}
	if s.GCMarkedAt, err = p.GCMarkedAt(); err != nil {
		return nil, p.goneOr(err)
	}
	s.Pid, s.HasPid = p.Pid()
	if s.Networks, err = p.Networks(); err != nil {
		s.Problems = append(s.Problems, err)
	}

	manifest, err := p.Manifest()
	if errors.Is(err, fs.ErrNotExist) {
		// Embryo and preparing pods have no manifest yet. A pod that was
		// deleted meanwhile has no directory either.
		if goneErr := p.goneOr(err); errors.Is(goneErr, ErrPodGone) {
			return nil, goneErr
		}
		return s, nil
	}
	if err != nil {
		return nil, err
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
	return s, nil
}

// goneOr returns an error wrapping ErrPodGone if the pod directory no longer
// exists, and err otherwise.
func (p *Pod) goneOr(err error) error {
	if _, statErr := lstat(p.Path()); errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("pod %q was not present: %w", p.UUID, ErrPodGone)
	}
	return err
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
