package podstate

import (
	"fmt"
)

// PodJSON is the JSON object of rkt list and rkt status --format=json,
// field for field the shape of rkt's lib.Pod.
type PodJSON struct {
	UUID     string    `json:"name"`
	State    string    `json:"state"`
	Networks []NetInfo `json:"networks,omitempty"`
	// AppNames duplicates the names in Apps, as rkt still emits it.
	AppNames []string   `json:"app_names,omitempty"`
	Apps     []*AppJSON `json:"apps,omitempty"`
	// CreatedAt and StartedAt are Unix seconds.
	CreatedAt       *int64            `json:"created_at,omitempty"`
	StartedAt       *int64            `json:"started_at,omitempty"`
	UserAnnotations map[string]string `json:"user_annotations,omitempty"`
	UserLabels      map[string]string `json:"user_labels,omitempty"`
}

// AppJSON is one app in PodJSON. Its times are Unix nanoseconds.
type AppJSON struct {
	Name            string            `json:"name"`
	State           string            `json:"state"`
	CreatedAt       *int64            `json:"created_at,omitempty"`
	StartedAt       *int64            `json:"started_at,omitempty"`
	FinishedAt      *int64            `json:"finished_at,omitempty"`
	ExitCode        *int32            `json:"exit_code,omitempty"`
	ImageID         string            `json:"image_id,omitempty"`
	Mounts          []*MountJSON      `json:"mounts,omitempty"`
	UserAnnotations map[string]string `json:"user_annotations,omitempty"`
	UserLabels      map[string]string `json:"user_labels,omitempty"`
}

// MountJSON is one mount of an app in AppJSON.
type MountJSON struct {
	Name          string `json:"name"`
	ContainerPath string `json:"container_path"`
	HostPath      string `json:"host_path"`
	ReadOnly      bool   `json:"read_only"`
}

// JSON converts the summary into rkt's JSON shape. As in rkt, a pod without
// a creation time (its pod-created file is missing) cannot be converted.
func (s *Summary) JSON() (*PodJSON, error) {
	if s.CreatedAt.IsZero() {
		return nil, fmt.Errorf("pod %q: no creation time (pod-created is missing)", s.Pod.UUID)
	}
	out := &PodJSON{
		UUID:      s.Pod.UUID,
		State:     s.Pod.State,
		Networks:  s.Networks,
		CreatedAt: int64Ptr(s.CreatedAt.Unix()),
	}
	if !s.StartedAt.IsZero() {
		out.StartedAt = int64Ptr(s.StartedAt.Unix())
	}
	if s.Manifest == nil {
		return out, nil
	}
	out.UserAnnotations = nonEmptyMap(s.Manifest.UserAnnotations)
	out.UserLabels = nonEmptyMap(s.Manifest.UserLabels)

	appState := AppState(s.Pod.State)
	for i, ra := range s.Manifest.Apps {
		app := &AppJSON{
			Name:      ra.Name.String(),
			State:     appState,
			CreatedAt: int64Ptr(s.CreatedAt.UnixNano()),
			ImageID:   s.Apps[i].ImageID,
		}
		if !s.StartedAt.IsZero() {
			app.StartedAt = int64Ptr(s.StartedAt.UnixNano())
		}
		if !s.GCMarkedAt.IsZero() {
			app.FinishedAt = int64Ptr(s.GCMarkedAt.UnixNano())
		}
		if code := s.Apps[i].ExitCode; code != nil {
			value := int32(*code)
			app.ExitCode = &value
		}
		if ra.App != nil {
			app.UserAnnotations = nonEmptyMap(ra.App.UserAnnotations)
			app.UserLabels = nonEmptyMap(ra.App.UserLabels)
		}
		for _, m := range ra.Mounts {
			mount := &MountJSON{Name: m.Volume.String(), ContainerPath: m.Path}
			for _, vol := range s.Manifest.Volumes {
				if vol.Name != m.Volume {
					continue
				}
				if vol.Kind == "host" {
					mount.HostPath = vol.Source
				}
				if vol.ReadOnly != nil {
					mount.ReadOnly = *vol.ReadOnly
				}
				break
			}
			app.Mounts = append(app.Mounts, mount)
		}
		out.AppNames = append(out.AppNames, app.Name)
		out.Apps = append(out.Apps, app)
	}
	return out, nil
}

func int64Ptr(v int64) *int64 { return &v }

func nonEmptyMap[M ~map[string]string](m M) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return map[string]string(m)
}
