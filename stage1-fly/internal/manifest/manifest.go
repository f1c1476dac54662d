// Package manifest decodes the parts of the appc pod manifest ($P/pod) and
// image manifest ($A/manifest) that fly's run and enter read.
//
// The types mirror the appc schema (github.com/appc/spec/schema v0.8.11):
// the same field names and JSON keys, but plain strings for names and ids.
// Decoding checks acKind and the names that become path components (see
// checkNames), and nothing else of the appc validation. stage0 writes only
// manifests that the appc schema accepted: it encodes the pod manifest
// with the schema, which validates it, and it parses a --pod-manifest file
// with the schema before it copies it. It copies each image manifest from
// its image store, which parses every manifest with the schema at import. Linking the schema packages instead would cost
// every stage1 start their package initialization (regular expressions,
// semver and resource tables).
//
// The JSON is read with the jsontext tokenizer of
// github.com/go-json-experiment/json, set to accept what encoding/json
// accepts: duplicate object names and invalid UTF-8 in strings. Tests and
// fuzz tests compare the decoder with encoding/json.
package manifest

import (
	"fmt"
)

// Values of acKind.
const (
	PodManifestKind   = "PodManifest"
	ImageManifestKind = "ImageManifest"
)

// PodManifest is a pod manifest.
type PodManifest struct {
	ACKind  string       `json:"acKind"`
	Apps    []RuntimeApp `json:"apps"`
	Volumes []Volume     `json:"volumes"`
}

// RuntimeApp is one app of a pod manifest.
type RuntimeApp struct {
	Name  string       `json:"name"`
	Image RuntimeImage `json:"image"`
	// App is nil when the pod manifest takes the image manifest's app.
	App    *App    `json:"app,omitempty"`
	Mounts []Mount `json:"mounts,omitempty"`
}

// RuntimeImage is the image of a RuntimeApp.
type RuntimeImage struct {
	Name string `json:"name,omitempty"`
	// ID is the image ID, such as "sha512-1a2b...".
	ID string `json:"id"`
}

// App is the app section of a pod or image manifest.
type App struct {
	Exec              []string     `json:"exec"`
	User              string       `json:"user"`
	Group             string       `json:"group"`
	SupplementaryGIDs []int        `json:"supplementaryGIDs,omitempty"`
	WorkingDirectory  string       `json:"workingDirectory,omitempty"`
	Environment       Environment  `json:"environment,omitempty"`
	MountPoints       []MountPoint `json:"mountPoints,omitempty"`
}

// Environment is an app's environment, in manifest order.
type Environment []EnvironmentVariable

// EnvironmentVariable is one variable of an Environment.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Get returns the value of the variable name and whether it is set.
func (e Environment) Get(name string) (string, bool) {
	for _, v := range e {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// MountPoint is a path in the image at which the app expects a volume.
type MountPoint struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Mount mounts a volume at a path of a runtime app. AppVolume, when set,
// is the volume itself, in place of the pod volume named Volume.
type Mount struct {
	Volume    string  `json:"volume"`
	Path      string  `json:"path"`
	AppVolume *Volume `json:"appVolume,omitempty"`
}

// Volume is a pod volume: a host directory or file (kind "host") or a new
// empty directory (kind "empty"). A nil pointer field is unset. The appc
// schema sets an unset Mode, UID and GID of an empty volume to "0755", 0
// and 0 when it decodes the manifest, and users of this type do the same.
type Volume struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Source    string  `json:"source,omitempty"`
	ReadOnly  *bool   `json:"readOnly,omitempty"`
	Recursive *bool   `json:"recursive,omitempty"`
	Mode      *string `json:"mode,omitempty"`
	UID       *int    `json:"uid,omitempty"`
	GID       *int    `json:"gid,omitempty"`
}

// ImageManifest is an image manifest.
type ImageManifest struct {
	ACKind      string      `json:"acKind"`
	Name        string      `json:"name"`
	App         *App        `json:"app,omitempty"`
	Annotations Annotations `json:"annotations,omitempty"`
}

// Annotations are the annotations of an image manifest.
type Annotations []Annotation

// Annotation is one name and value of Annotations.
type Annotation struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Get returns the value of the annotation name and whether it is present.
func (a Annotations) Get(name string) (string, bool) {
	for _, annotation := range a {
		if annotation.Name == name {
			return annotation.Value, true
		}
	}
	return "", false
}

// DecodePod decodes a pod manifest and checks that its acKind is
// "PodManifest".
func DecodePod(data []byte) (*PodManifest, error) {
	var pm PodManifest
	d := newDecoder(data)
	if err := d.podManifest(&pm); err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	if pm.ACKind != PodManifestKind {
		return nil, fmt.Errorf("invalid acKind %q, expected %q", pm.ACKind, PodManifestKind)
	}
	if err := pm.checkNames(); err != nil {
		return nil, err
	}
	return &pm, nil
}

// DecodeImage decodes an image manifest and checks that its acKind is
// "ImageManifest".
func DecodeImage(data []byte) (*ImageManifest, error) {
	var im ImageManifest
	d := newDecoder(data)
	if err := d.imageManifest(&im); err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	if im.ACKind != ImageManifestKind {
		return nil, fmt.Errorf("invalid acKind %q, expected %q", im.ACKind, ImageManifestKind)
	}
	if im.App != nil {
		if err := im.App.checkNames(); err != nil {
			return nil, err
		}
	}
	return &im, nil
}

// checkNames rejects the names that the stage1 joins into paths, such as
// "../etc" as an app or volume name, unless they are ACNames, as the appc
// schema's decoder does. Like that decoder, it accepts an empty app, mount
// or mount point name, which is what a missing key decodes to, but no
// volume without a name.
func (pm *PodManifest) checkNames() error {
	for _, app := range pm.Apps {
		if err := checkOptionalACName("app name", app.Name); err != nil {
			return err
		}
		if app.App != nil {
			if err := app.App.checkNames(); err != nil {
				return err
			}
		}
		for _, m := range app.Mounts {
			if err := checkOptionalACName("mount volume", m.Volume); err != nil {
				return err
			}
			if m.AppVolume != nil {
				if err := checkACName("app volume name", m.AppVolume.Name); err != nil {
					return err
				}
			}
		}
	}
	for _, v := range pm.Volumes {
		if err := checkACName("volume name", v.Name); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) checkNames() error {
	for _, mp := range a.MountPoints {
		if err := checkOptionalACName("mount point name", mp.Name); err != nil {
			return err
		}
	}
	return nil
}

func checkOptionalACName(field, name string) error {
	if name == "" {
		return nil
	}
	return checkACName(field, name)
}

// checkACName returns the appc schema's error for a name that is not an
// ACName: one or more of a-z, 0-9 and "-", with no "-" at either end.
func checkACName(field, name string) error {
	if name == "" {
		return fmt.Errorf("%s: ACName cannot be empty", field)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("%s %q: ACName must contain only lower case alphanumeric characters plus \"-\"", field, name)
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("%s %q: ACName must start and end with only lower case alphanumeric characters", field, name)
	}
	return nil
}
