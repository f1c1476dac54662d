package flyrun

import (
	"path/filepath"

	"github.com/rktfly/rkt/stage1-fly/internal/manifest"
)

// resolveHostVolumes returns a copy of volumes in which the source of each
// host volume has its symlinks resolved on the host. The mount plan matches
// sources against mountinfo, which lists resolved paths: a source such as
// /var/run/x, with /var/run -> /run, would otherwise hide the mounts below
// /run/x, which a read-only recursive volume must remount read-only too. A
// source that cannot be resolved, such as a missing one, is kept as given,
// so that applying the plan reports it.
func resolveHostVolumes(volumes []manifest.Volume) []manifest.Volume {
	resolved := make([]manifest.Volume, len(volumes))
	copy(resolved, volumes)
	for i, v := range resolved {
		if v.Kind != "host" || !filepath.IsAbs(v.Source) {
			continue
		}
		resolvedSource, err := filepath.EvalSymlinks(v.Source)
		if err != nil {
			continue
		}
		resolved[i].Source = resolvedSource
	}
	return resolved
}
