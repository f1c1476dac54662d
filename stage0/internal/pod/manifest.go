package pod

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/envfile"
)

// App is one app of a pod as the command line describes it: the image and
// the per-app overrides that follow it.
type App struct {
	// Image is the image argument as given on the command line.
	Image string
	// Key is the store key the image resolved to (sha512- and 64 hex digits).
	Key string
	// Manifest is the image manifest of Key.
	Manifest *schema.ImageManifest
	// TreeID is the ID of the rendered tree of Key in the tree store.
	TreeID string

	// Name is the --name override. Empty means the name derived from the image.
	Name string
	// Exec is the --exec override. Empty keeps the image's exec.
	Exec string
	// Args are the words after "--", appended to the exec. Nil means none.
	Args []string
	// User and Group are the --user and --group overrides.
	User  string
	Group string
	// SupplementaryGIDs replaces the image's list when it is not nil.
	SupplementaryGIDs []int
	// WorkingDir is the --working-dir override.
	WorkingDir string
	// Environment holds the --environment values, in command-line order.
	Environment types.Environment
	// Mounts holds the --mount values that follow this image.
	Mounts []schema.Mount
	// ReadOnlyRootFS is --readonly-rootfs.
	ReadOnlyRootFS bool
	// Annotations, UserAnnotations and UserLabels are set by --annotation,
	// --user-annotation and --user-label.
	Annotations     types.Annotations
	UserAnnotations types.UserAnnotations
	UserLabels      types.UserLabels
	// Isolators replace image isolators of the same name.
	Isolators types.Isolators
	// Signature is the --signature file for this image.
	Signature string
}

// ManifestConfig holds the pod-level inputs of the generated pod manifest.
type ManifestConfig struct {
	// Version is rkt's version string, written as the manifest's acVersion.
	Version string
	Apps    []*App
	// Mounts are the --mount values given before any image.
	Mounts  []schema.Mount
	Volumes []types.Volume
	Ports   []types.ExposedPort
	// Environment layers, applied after each app's --environment:
	// InheritEnv (rkt's environment, filling only unset names), then
	// EnvFile (--set-env-file), then SetEnv (--set-env).
	InheritEnv []string
	EnvFile    types.Environment
	SetEnv     types.Environment
	// UserAnnotations and UserLabels are the pod-level ones.
	UserAnnotations types.UserAnnotations
	UserLabels      types.UserLabels
}

// validEnvName reports whether name follows the appc rule for environment
// variable names, [A-Za-z_][A-Za-z_0-9.-]*. A hand-written check replaces a
// package-level regexp, whose compilation would run at every rkt start.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// GenerateManifest builds the pod manifest that run and prepare write to
// $P/pod. Image mount points are not turned into mounts: the stage1 matches
// them to volumes by name.
func GenerateManifest(cfg ManifestConfig) (*schema.PodManifest, error) {
	version, err := types.NewSemVer(cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("rkt version %q is not a semantic version: %w", cfg.Version, err)
	}

	pm := schema.BlankPodManifest()
	pm.ACVersion = *version
	// run and prepare never make mutable pods.
	pm.Annotations.Set(abi.AnnotationMutable, "false")
	pm.UserAnnotations = cfg.UserAnnotations
	pm.UserLabels = cfg.UserLabels
	pm.Ports = cfg.Ports

	if err := checkVolumes(cfg.Volumes); err != nil {
		return nil, err
	}
	pm.Volumes = cfg.Volumes

	seen := make(map[types.ACName]bool, len(cfg.Apps))
	for _, app := range cfg.Apps {
		ra, err := runtimeApp(app, cfg)
		if err != nil {
			return nil, err
		}
		if seen[ra.Name] {
			return nil, fmt.Errorf("multiple apps with name %q: use --name to give each app a distinct name", ra.Name)
		}
		seen[ra.Name] = true
		pm.Apps = append(pm.Apps, *ra)
	}
	return pm, nil
}

func checkVolumes(volumes []types.Volume) error {
	names := make(map[types.ACName]bool, len(volumes))
	for _, v := range volumes {
		if names[v.Name] {
			return fmt.Errorf("duplicate volume name %q", v.Name)
		}
		names[v.Name] = true
	}
	return nil
}

func runtimeApp(app *App, cfg ManifestConfig) (*schema.RuntimeApp, error) {
	name, err := AppName(app)
	if err != nil {
		return nil, err
	}
	hash, err := types.NewHash(app.Key)
	if err != nil {
		return nil, fmt.Errorf("image %q: store key %q: %w", app.Image, app.Key, err)
	}
	imageName := app.Manifest.Name

	ra := &schema.RuntimeApp{
		Name: *name,
		Image: schema.RuntimeImage{
			Name:   &imageName,
			ID:     *hash,
			Labels: app.Manifest.Labels,
		},
		ReadOnlyRootFS: app.ReadOnlyRootFS,
		Annotations:    app.Annotations,
		Mounts:         mergeMounts(app.Mounts, cfg.Mounts),
	}

	ra.App = copyApp(app.Manifest.App)
	if ra.App == nil && needsAppSection(app) {
		if app.Exec == "" {
			return nil, fmt.Errorf("image %q has no app section: use --exec=BINARY to give it one", app.Image)
		}
		// Same as rkt: an image without an app section runs as rkt's own user.
		ra.App = &types.App{User: strconv.Itoa(getuid()), Group: strconv.Itoa(getgid())}
	}
	if ra.App == nil {
		return ra, nil
	}

	applyOverrides(ra.App, app)
	if err := applyEnvironment(&ra.App.Environment, app.Environment, cfg); err != nil {
		return nil, fmt.Errorf("app %q: %w", ra.Name, err)
	}
	return ra, nil
}

// needsAppSection reports whether an override needs the runtime app to
// have an app section.
func needsAppSection(app *App) bool {
	return app.Exec != "" || app.Args != nil || app.User != "" || app.Group != "" ||
		app.SupplementaryGIDs != nil || app.WorkingDir != "" || len(app.Environment) > 0 ||
		len(app.Isolators) > 0 || len(app.UserAnnotations) > 0 || len(app.UserLabels) > 0
}

// copyApp copies the image's app section so that overrides do not change
// the image manifest, which is written unchanged to appsinfo.
func copyApp(a *types.App) *types.App {
	if a == nil {
		return nil
	}
	c := *a
	c.Exec = append([]string(nil), a.Exec...)
	c.Environment = append(types.Environment(nil), a.Environment...)
	c.Isolators = append(types.Isolators(nil), a.Isolators...)
	c.SupplementaryGIDs = append([]int(nil), a.SupplementaryGIDs...)
	return &c
}

func applyOverrides(ra *types.App, app *App) {
	if app.Exec != "" {
		ra.Exec = []string{app.Exec}
	}
	ra.Exec = append(ra.Exec, app.Args...)
	if app.User != "" {
		ra.User = app.User
	}
	if app.Group != "" {
		ra.Group = app.Group
	}
	if app.SupplementaryGIDs != nil {
		ra.SupplementaryGIDs = app.SupplementaryGIDs
	}
	if app.WorkingDir != "" {
		ra.WorkingDirectory = app.WorkingDir
	}
	for _, iso := range app.Isolators {
		ra.Isolators.ReplaceIsolatorsByName(iso, []types.ACIdentifier{iso.Name})
	}
	if len(app.UserAnnotations) > 0 {
		ra.UserAnnotations = mergeMaps(ra.UserAnnotations, app.UserAnnotations)
	}
	if len(app.UserLabels) > 0 {
		ra.UserLabels = mergeMaps(ra.UserLabels, app.UserLabels)
	}
}

func mergeMaps[M ~map[string]string](base, over M) M {
	out := make(M, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// applyEnvironment layers the environment, last wins: the image's, then the
// app's --environment, then --set-env-file, then --set-env. The inherited
// environment only fills names that are still unset, so applying it last
// gives the documented order image, --environment, --inherit-env,
// --set-env-file, --set-env. Inherited names that appc forbids are skipped.
//
// The stage1 writes the environment to a file of NAME=value lines, so a
// value with a newline or NUL is rejected here, before a pod exists.
func applyEnvironment(env *types.Environment, appEnv types.Environment, cfg ManifestConfig) error {
	for _, layer := range []types.Environment{appEnv, cfg.EnvFile, cfg.SetEnv} {
		for _, ev := range layer {
			env.Set(ev.Name, ev.Value)
		}
	}
	for _, kv := range cfg.InheritEnv {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !validEnvName(name) {
			continue
		}
		if _, set := env.Get(name); set {
			continue
		}
		if err := envfile.Validate(envfile.Var{Name: name, Value: value}); err != nil {
			return fmt.Errorf("--inherit-env: %w: unset it or give it with --set-env", err)
		}
		env.Set(name, value)
	}
	for _, ev := range *env {
		if err := envfile.Validate(envfile.Var{Name: ev.Name, Value: ev.Value}); err != nil {
			return err
		}
	}
	return nil
}

// mergeMounts returns the app's mounts followed by the pod-level ones, with
// mounts whose cleaned target path was already seen dropped.
func mergeMounts(appMounts, podMounts []schema.Mount) []schema.Mount {
	var out []schema.Mount
	seen := make(map[string]bool, len(appMounts)+len(podMounts))
	for _, list := range [][]schema.Mount{appMounts, podMounts} {
		for _, m := range list {
			target := filepath.Clean(m.Path)
			if seen[target] {
				continue
			}
			seen[target] = true
			out = append(out, m)
		}
	}
	return out
}

// AppName returns the app's --name, or else the name derived from the last
// component of its image name: lower-cased, with characters outside
// [a-z0-9-] replaced by "-" and leading and trailing "-" trimmed.
func AppName(app *App) (*types.ACName, error) {
	if app.Name != "" {
		n, err := types.NewACName(app.Name)
		if err != nil {
			return nil, fmt.Errorf("app name %q: %w", app.Name, err)
		}
		return n, nil
	}
	return DefaultAppName(app.Manifest.Name.String())
}

// DefaultAppName derives an app name from the last "/"-separated component
// of an image name, as types.SanitizeACName does.
func DefaultAppName(imageName string) (*types.ACName, error) {
	base := imageName[strings.LastIndex(imageName, "/")+1:]
	name, err := types.SanitizeACName(base)
	if err != nil {
		return nil, fmt.Errorf("derive app name from image name %q: %w (use --name)", imageName, err)
	}
	n, err := types.NewACName(name)
	if err != nil {
		return nil, fmt.Errorf("app name %q derived from image name %q: %w", name, imageName, err)
	}
	return n, nil
}
