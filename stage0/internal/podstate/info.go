package podstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/appc/spec/schema"
	"golang.org/x/sys/unix"

	"github.com/rktfly/rkt/common/poddir"
)

// CreatedAt returns the pod's creation time, the mtime of pod-created, or
// the zero time if that file is missing.
func (p *Pod) CreatedAt() (time.Time, error) {
	return mtime(poddir.PodCreatedPath(p.Path()))
}

// StartedAt returns the pod's start time, the mtime of pid or else ppid
// or the zero time if the stage1 wrote neither.
func (p *Pod) StartedAt() (time.Time, error) {
	for _, path := range []string{poddir.PidPath(p.Path()), poddir.PpidPath(p.Path())} {
		t, err := mtime(path)
		if err != nil || !t.IsZero() {
			return t, err
		}
	}
	return time.Time{}, nil
}

// GCMarkedAt returns the time gc marked the pod, the ctime of its directory
// in exited-garbage or garbage (a rename sets it), or the zero time for a
// pod in another state directory.
func (p *Pod) GCMarkedAt() (time.Time, error) {
	if p.StateDir != poddir.StateDirExitedGarbage && p.StateDir != poddir.StateDirGarbage {
		return time.Time{}, nil
	}
	return ctime(p.Path())
}

// Pid returns the pid that stage1 published in pid, or else in ppid, and
// whether either file could be read.
func (p *Pod) Pid() (int, bool) {
	for _, path := range []string{poddir.PidPath(p.Path()), poddir.PpidPath(p.Path())} {
		if pid, err := poddir.ReadPid(path); err == nil {
			return pid, true
		}
	}
	return 0, false
}

// Manifest reads and parses the pod manifest.
func (p *Pod) Manifest() (*schema.PodManifest, error) {
	data, err := p.ManifestBytes()
	if err != nil {
		return nil, err
	}
	var manifest schema.PodManifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("parse pod manifest of pod %q: %w", p.UUID, err)
	}
	return &manifest, nil
}

// ManifestBytes returns the pod manifest file as it is on disk.
func (p *Pod) ManifestBytes() ([]byte, error) {
	data, err := os.ReadFile(poddir.PodManifestPath(p.Path()))
	if err != nil {
		return nil, fmt.Errorf("read pod manifest of pod %q: %w", p.UUID, err)
	}
	return data, nil
}

// AppImageManifest reads appsinfo/<app>/manifest, the image manifest that
// prepare recorded for app.
func (p *Pod) AppImageManifest(app string) (*schema.ImageManifest, error) {
	path := poddir.AppInfoManifestPath(p.Path(), app)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read image manifest of app %q: %w", app, err)
	}
	var manifest schema.ImageManifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("parse image manifest %s: %w", path, err)
	}
	return &manifest, nil
}

// Stage1TreeStoreID returns the content of stage1TreeStoreID, or "" when
// the file is missing.
func (p *Pod) Stage1TreeStoreID() (string, error) {
	data, err := os.ReadFile(poddir.Stage1TreeStoreIDPath(p.Path()))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// UsesOverlay reports whether the pod was prepared in overlay mode.
func (p *Pod) UsesOverlay() bool {
	_, err := os.Stat(poddir.OverlayPreparedPath(p.Path()))
	return err == nil
}

// ExitCode returns the exit status that a stage1 recorded for app in
// $S1/rkt/status/<app>, and whether there is one. In overlay mode it also
// looks in the stage1 overlay's upper dir, which keeps the file when the
// overlay is not mounted. fly writes no status file.
func (p *Pod) ExitCode(app string) (int, bool) {
	paths := []string{poddir.AppStatusPath(p.Path(), app)}
	if treeID, err := p.Stage1TreeStoreID(); err == nil && treeID != "" {
		upper := poddir.OverlayUpperDir(p.Path(), treeID)
		paths = append(paths, upper+"/rkt/status/"+app)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		code, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			continue
		}
		return code, true
	}
	return 0, false
}

// NetInfo is one entry of net-info.json, which networking stage1s write
// (fly does not).
type NetInfo struct {
	NetName    string `json:"netName"`
	NetConf    string `json:"netConf"`
	PluginPath string `json:"pluginPath"`
	IfName     string `json:"ifName"`
	IP         net.IP `json:"ip"`
	Args       string `json:"args"`
	Mask       net.IP `json:"mask"`
}

// Networks reads net-info.json. A missing file gives no networks.
func (p *Pod) Networks() ([]NetInfo, error) {
	data, err := os.ReadFile(poddir.NetInfoPath(p.Path()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nets []NetInfo
	if err := json.Unmarshal(data, &nets); err != nil {
		return nil, fmt.Errorf("parse %s: %w", poddir.NetInfoPath(p.Path()), err)
	}
	return nets, nil
}

// SupervisorReady reports whether the stage1 marked its supervisor ready:
// rkt/supervisor-status is a symlink to "ready". fly never does.
func (p *Pod) SupervisorReady() bool {
	target, err := os.Readlink(poddir.SupervisorStatusPath(p.Path()))
	return err == nil && target == "ready"
}

func mtime(path string) (time.Time, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return info.ModTime(), nil
}

func ctime(path string) (time.Time, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return time.Time{}, nil
		}
		return time.Time{}, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return time.Unix(st.Ctim.Unix()), nil
}
