package mountplan

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/rktfly/rkt/common/user"
	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

// volumeMount is one volume mounted at one path in the app rootfs, with
// the effective readOnly and recursive settings.
type volumeMount struct {
	Volume    manifest.Volume
	Path      string
	ReadOnly  bool
	Recursive bool
	// Implicit marks an empty volume that the stage1 added for an image
	// mount point that no volume or mount serves.
	Implicit bool
}

// mountRequest is a path that needs a volume, from a runtime-app mount or
// from a mount point.
type mountRequest struct {
	name       string
	path       string
	appVolume  *manifest.Volume
	mountPoint *manifest.MountPoint
	// explicit is true for a runtime-app mount, false for a mount point
	// that no mount serves.
	explicit bool
}

// resolveVolumes matches the app's mounts and mount points to the pod's
// volumes and returns them sorted shallowest path first, so
// that a volume mounted inside another volume's path is mounted after it.
//
// It differs from rkt's fly where fly failed. A mount point is served by
// the mount of the same name or, failing that, by a mount at the same
// cleaned path, as in rkt's other stage1s. A mount point that neither
// serves gets an implicit empty volume. Empty volumes and a mount's
// appVolume are mounted. Unset recursive stays non-recursive, as in fly.
func resolveVolumes(in Input) ([]volumeMount, error) {
	requests, order, err := collectRequests(in)
	if err != nil {
		return nil, err
	}

	volumes := make(map[string]manifest.Volume, len(in.Volumes))
	for _, v := range in.Volumes {
		name := v.Name
		if _, ok := volumes[name]; ok {
			return nil, fmt.Errorf("duplicate volume name %q in the pod manifest", name)
		}
		volumes[name] = v
		if _, used := requests[name]; !used {
			in.Log.Printf("volume %q is not mounted by the app, skipping it", name)
		}
	}

	var mounts []volumeMount
	byPath := make(map[string]*mountRequest)
	for _, name := range order {
		request := requests[name]
		volume, implicit, err := volumeFor(in, request, volumes)
		if err != nil {
			return nil, err
		}

		target := path.Join("/", request.path)
		if other, ok := byPath[target]; ok {
			return nil, samePathError(other, request, target)
		}
		byPath[target] = request

		readOnly := volume.ReadOnly != nil && *volume.ReadOnly
		if volume.ReadOnly == nil && request.mountPoint != nil {
			readOnly = request.mountPoint.ReadOnly
		}
		mounts = append(mounts, volumeMount{
			Volume:    volume,
			Path:      target,
			ReadOnly:  readOnly,
			Recursive: volume.Recursive != nil && *volume.Recursive,
			Implicit:  implicit,
		})
	}

	sort.SliceStable(mounts, func(i, j int) bool {
		di, dj := depth(mounts[i].Path), depth(mounts[j].Path)
		if di != dj {
			return di < dj
		}
		return mounts[i].Path < mounts[j].Path
	})
	return mounts, nil
}

// samePathError returns the error for two requests at one target path.
// A mount point at the path of a mount joins that mount, so the two are
// either two mounts or two mount points that no mount serves.
func samePathError(other, request *mountRequest, target string) error {
	if other.explicit || request.explicit {
		return fmt.Errorf("volumes %q and %q are both mounted at %q: mount only one volume there", other.name, request.name, target)
	}
	return fmt.Errorf("the image's mount points %q and %q are both at %q: mount one volume there, which serves both", other.name, request.name, target)
}

// collectRequests keys the runtime app's mounts by volume name, then merges
// the image's mount points and the runtime app's mount points into them.
// A mount point joins the mount of its name, else the first mount at its
// cleaned path, else it becomes a request of its own.
func collectRequests(in Input) (map[string]*mountRequest, []string, error) {
	requests := make(map[string]*mountRequest)
	mountsByPath := make(map[string]*mountRequest)
	var order []string
	for _, m := range in.App.Mounts {
		name := m.Volume
		if _, ok := requests[name]; ok {
			return nil, nil, fmt.Errorf("duplicate mount given: %q", name)
		}
		request := &mountRequest{name: name, path: m.Path, appVolume: m.AppVolume, explicit: true}
		requests[name] = request
		if target := path.Join("/", m.Path); mountsByPath[target] == nil {
			mountsByPath[target] = request
		}
		order = append(order, name)
	}

	var mountPoints []manifest.MountPoint
	if in.ImageManifest != nil && in.ImageManifest.App != nil {
		mountPoints = append(mountPoints, in.ImageManifest.App.MountPoints...)
	}
	if in.App.App != nil {
		mountPoints = append(mountPoints, in.App.App.MountPoints...)
	}
	for i := range mountPoints {
		mp := mountPoints[i]
		name := mp.Name
		request, ok := requests[name]
		if !ok {
			if mount, ok := mountsByPath[path.Join("/", mp.Path)]; ok {
				in.Log.Printf("mount point %q at %q is served by the mount of volume %q", name, mp.Path, mount.name)
				if mount.mountPoint == nil {
					mount.mountPoint = &mp
				}
				continue
			}
			requests[name] = &mountRequest{name: name, path: mp.Path, mountPoint: &mp}
			order = append(order, name)
			continue
		}
		if path.Clean(request.path) != path.Clean(mp.Path) {
			return nil, nil, fmt.Errorf("conflicting path information from mount and mountpoint %q: %q and %q", name, request.path, mp.Path)
		}
		if request.mountPoint == nil {
			request.mountPoint = &mp
		}
	}
	return requests, order, nil
}

// volumeFor returns the volume that serves request: the pod volume of its
// name, else the mount's appVolume, else an implicit empty volume for a
// mount point, which implicit reports.
func volumeFor(in Input, request *mountRequest, volumes map[string]manifest.Volume) (volume manifest.Volume, implicit bool, err error) {
	volume, ok := volumes[request.name]
	switch {
	case ok:
	case request.appVolume != nil:
		volume = *request.appVolume
		volume.Name = request.name
	case request.mountPoint != nil:
		in.Log.Printf("mount point %q has no volume, using an implicit empty volume", request.name)
		mode := "0755"
		uid, gid := 0, 0
		volume = manifest.Volume{Name: request.name, Kind: "empty", Mode: &mode, UID: &uid, GID: &gid}
		implicit = true
	default:
		return manifest.Volume{}, false, fmt.Errorf("missing volume %q for the mount at %q", request.name, request.path)
	}

	switch volume.Kind {
	case "host":
		if !path.IsAbs(volume.Source) {
			return manifest.Volume{}, false, fmt.Errorf("volume %q: source %q is not an absolute path", request.name, volume.Source)
		}
	case "empty":
		if volume.Mode != nil {
			if _, err := parseMode(*volume.Mode); err != nil {
				return manifest.Volume{}, false, fmt.Errorf("volume %q: %w", request.name, err)
			}
		}
		for _, id := range []struct {
			name  string
			value *int
		}{{"uid", volume.UID}, {"gid", volume.GID}} {
			if id.value == nil {
				continue
			}
			if err := user.CheckID(*id.value); err != nil {
				return manifest.Volume{}, false, fmt.Errorf("volume %q: %s: %v", request.name, id.name, err)
			}
		}
	default:
		return manifest.Volume{}, false, fmt.Errorf("volume %q: kind %q is not host or empty", request.name, volume.Kind)
	}
	return volume, implicit, nil
}

// parseMode parses an empty volume's mode, an octal string such as "0755".
func parseMode(s string) (os.FileMode, error) {
	mode, err := strconv.ParseUint(s, 8, 32)
	if err != nil || mode > 0o7777 {
		return 0, fmt.Errorf("mode %q is not an octal file mode", s)
	}
	fileMode := os.FileMode(mode & 0o777)
	if mode&0o4000 != 0 {
		fileMode |= os.ModeSetuid
	}
	if mode&0o2000 != 0 {
		fileMode |= os.ModeSetgid
	}
	if mode&0o1000 != 0 {
		fileMode |= os.ModeSticky
	}
	return fileMode, nil
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}
