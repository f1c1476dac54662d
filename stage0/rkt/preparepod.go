package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/common/jsonname"
	"github.com/rktfly/rkt/common/lock"
	"github.com/rktfly/rkt/common/poddir"
	"github.com/rktfly/rkt/stage0/internal/buildinfo"
	"github.com/rktfly/rkt/stage0/internal/pod"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// validOSArch is the set of os/arch labels that stage0 runs (narrower
// than the appc library's).
var validOSArch = map[string][]string{
	"linux": {"amd64", "i386", "aarch64", "aarch64_be", "armv6l", "armv7l", "armv7b", "ppc64le"},
}

// checkOSArch requires an app image to carry both an "os" and an "arch"
// label with values from validOSArch. The stage1 image is not checked.
func checkOSArch(labels types.Labels) error {
	values := labels.ToMap()
	var missing []string
	for _, name := range []types.ACIdentifier{"os", "arch"} {
		if _, ok := values[name]; !ok {
			missing = append(missing, strconv.Quote(string(name)))
		}
	}
	if len(missing) > 0 {
		noun := "label"
		if len(missing) > 1 {
			noun = "labels"
		}
		return fmt.Errorf("missing %s %s: an app image needs os=linux and arch set to one of %s",
			strings.Join(missing, " and "), noun, strings.Join(validOSArch["linux"], ", "))
	}
	if err := types.IsValidOSArch(values, validOSArch); err != nil {
		return fmt.Errorf("unsupported os/arch labels: %w", err)
	}
	return nil
}

// preparedPod is a pod created and prepared by preparePod, still locked.
type preparedPod struct {
	pod            *pod.Pod
	store          *store.Store
	apps           []pod.PreparedApp
	stage1Manifest *schema.ImageManifest
}

// prepareOptions are the inputs of preparePod.
type prepareOptions struct {
	cmd          *cobra.Command
	apps         *appList
	flags        *podFlags
	uuidFileSave string
	debug        *log.Logger
	warn         *log.Logger
}

// preparePod checks the input, imports every image and generates the pod
// manifest before it creates the pod directory, so that bad input leaves
// no pod behind. It then creates and prepares the pod, holding
// $D/locks/prepareLock shared meanwhile. The pod stays locked.
func preparePod(o prepareOptions) (*preparedPod, error) {
	policy, err := o.flags.effectivePullPolicy(o.cmd.Flags())
	if err != nil {
		return nil, err
	}
	if err := checkPodManifestConflicts(o.flags, o.apps, policy); err != nil {
		return nil, err
	}
	if err := checkMounts(o.apps, o.flags.volumes); err != nil {
		return nil, err
	}

	dir, err := dataDir()
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	s, err := store.Open(poddir.CASDir(dir), store.Options{Log: o.debug})
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}

	resolver := &imageResolver{store: s, insecure: globalFlags.insecureOptions, pullPolicy: policy, debug: o.debug}
	selector := &stage1Selector{images: resolver, cfg: cfg}
	if err := preflightImages(selector, o); err != nil {
		return nil, err
	}
	stage1Key, err := selector.selectStage1(o.flags.stage1)
	if err != nil {
		return nil, err
	}
	s1m, err := s.ImageManifest(stage1Key)
	if err != nil {
		return nil, fmt.Errorf("stage1 image %s: %w", stage1Key, err)
	}
	if o.flags.privateUsers {
		return nil, privateUsersError(s1m)
	}
	stage1Tree, err := s.RenderTree(stage1Key)
	if err != nil {
		return nil, fmt.Errorf("render stage1 image %s: %w", stage1Key, err)
	}

	manifest, apps, err := buildPodManifest(o, s, resolver)
	if err != nil {
		return nil, err
	}
	if globalFlags.insecureOptions.has(insecureImage) {
		o.warn.Print("warning: image signature verification has been disabled")
	}

	p, err := pod.Create(dir, o.debug)
	if err != nil {
		return nil, err
	}
	if o.uuidFileSave != "" {
		if err := os.WriteFile(o.uuidFileSave, []byte(p.UUID), 0o644); err != nil {
			return nil, fmt.Errorf("--uuid-file-save: %w", err)
		}
	}

	useOverlay := !o.flags.noOverlay
	if useOverlay {
		if ok, reason := pod.OverlaySupported(dir); !ok {
			o.warn.Printf("disabling overlay support: %q", reason)
			useOverlay = false
		}
	}

	err = withPrepareLock(dir, func() error {
		return p.Prepare(pod.PrepareConfig{
			Store:        s,
			Stage1TreeID: stage1Tree,
			Apps:         apps,
			Manifest:     manifest,
			UseOverlay:   useOverlay,
		})
	})
	if err != nil {
		return nil, err
	}
	return &preparedPod{pod: p, store: s, apps: apps, stage1Manifest: s1m}, nil
}

// privateUsersError explains why --private-users cannot be used.
func privateUsersError(s1m *schema.ImageManifest) error {
	if s1m.Name.String() == abi.Stage1FlyName {
		return fmt.Errorf("--private-users is not supported by the fly stage1 (%s), which runs apps without user namespaces: drop the flag or choose another stage1", abi.Stage1FlyName)
	}
	return errors.New("--private-users is not supported yet: drop the flag")
}

// withPrepareLock runs fn holding $D/locks/prepareLock shared, so that
// image gc does not remove the rendered trees the pod is prepared from.
func withPrepareLock(dir string, fn func() error) error {
	if err := os.MkdirAll(poddir.LocksDir(dir), poddir.DirMode); err != nil {
		return fmt.Errorf("create locks directory: %w", err)
	}
	l, err := lock.OpenFile(poddir.PrepareLockPath(dir))
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.Shared(); err != nil {
		return err
	}
	return fn()
}

// checkMounts requires every --mount to name a --volume.
func checkMounts(al *appList, volumes volumeList) error {
	names := make(map[types.ACName]bool, len(volumes))
	for _, v := range volumes {
		names[v.Name] = true
	}
	mounts := append([]schema.Mount(nil), al.mounts...)
	for _, app := range al.apps {
		mounts = append(mounts, app.Mounts...)
	}
	for _, m := range mounts {
		if !names[m.Volume] {
			return fmt.Errorf("dangling mount point %q: no --volume named %q is given", m.Path, m.Volume)
		}
	}
	return nil
}

// buildPodManifest resolves the app images and returns the serialized pod
// manifest with the apps to prepare: generated from the command line, or
// read from --pod-manifest.
func buildPodManifest(o prepareOptions, s *store.Store, resolver *imageResolver) ([]byte, []pod.PreparedApp, error) {
	if o.flags.podManifest != "" {
		return readPodManifest(o.flags.podManifest, s)
	}

	for _, app := range o.apps.apps {
		if err := resolveApp(app, s, resolver); err != nil {
			return nil, nil, err
		}
	}

	env := types.Environment(o.flags.setEnv)
	var envFile types.Environment
	for _, path := range o.flags.setEnvFiles {
		if err := readEnvFile(path, &envFile); err != nil {
			return nil, nil, err
		}
	}
	var inherit []string
	if o.flags.inheritEnv {
		inherit = os.Environ()
	}

	pm, err := pod.GenerateManifest(pod.ManifestConfig{
		Version:    buildinfo.Version,
		Apps:       o.apps.apps,
		Mounts:     o.apps.mounts,
		Volumes:    o.flags.volumes,
		Ports:      o.flags.ports,
		InheritEnv: inherit,
		EnvFile:    envFile,
		SetEnv:     env,
	})
	if err != nil {
		return nil, nil, err
	}
	data, err := json.Marshal(pm)
	if err != nil {
		return nil, nil, fmt.Errorf("serialize pod manifest: %w", err)
	}

	apps := make([]pod.PreparedApp, 0, len(pm.Apps))
	for i, ra := range pm.Apps {
		app := o.apps.apps[i]
		apps = append(apps, pod.PreparedApp{Name: ra.Name.String(), Key: app.Key, TreeID: app.TreeID})
	}
	return data, apps, nil
}

// resolveApp finds or imports the app's image and renders its tree.
func resolveApp(app *pod.App, s *store.Store, resolver *imageResolver) error {
	key, err := resolver.resolve(app.Image, app.Signature)
	if err != nil {
		return err
	}
	im, err := s.ImageManifest(key)
	if err != nil {
		return fmt.Errorf("image %q: %w", app.Image, err)
	}
	if err := checkOSArch(im.Labels); err != nil {
		return fmt.Errorf("image %q: %w", app.Image, err)
	}
	tree, err := s.RenderTree(key)
	if err != nil {
		return fmt.Errorf("render image %q: %w", app.Image, err)
	}
	app.Key, app.Manifest, app.TreeID = key, im, tree
	return nil
}

// readPodManifest reads a --pod-manifest file, whose bytes are written to
// the pod as they are. Each app's image must be in the store, and each app
// needs an app section in the file or in its image.
func readPodManifest(path string, s *store.Store) ([]byte, []pod.PreparedApp, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--pod-manifest: %w", err)
	}
	var pm schema.PodManifest
	if err := json.Unmarshal(data, &pm); err != nil {
		return nil, nil, fmt.Errorf("--pod-manifest %s: %w", path, err)
	}
	// The stage1 rejects such a manifest, which decoders read differently.
	if err := jsonname.Check(data); err != nil {
		return nil, nil, fmt.Errorf("--pod-manifest %s: %w", path, err)
	}
	if len(pm.Apps) == 0 {
		return nil, nil, fmt.Errorf("--pod-manifest %s: the manifest has no apps", path)
	}

	apps := make([]pod.PreparedApp, 0, len(pm.Apps))
	for _, ra := range pm.Apps {
		key, err := s.ResolveKey(ra.Image.ID.String())
		if err != nil {
			return nil, nil, fmt.Errorf("--pod-manifest %s: app %q: image %s: %w", path, ra.Name, ra.Image.ID, err)
		}
		im, err := s.ImageManifest(key)
		if err != nil {
			return nil, nil, fmt.Errorf("--pod-manifest %s: app %q: %w", path, ra.Name, err)
		}
		if err := checkOSArch(im.Labels); err != nil {
			return nil, nil, fmt.Errorf("--pod-manifest %s: app %q: image %s: %w", path, ra.Name, key, err)
		}
		if ra.App == nil && im.App == nil {
			return nil, nil, fmt.Errorf("--pod-manifest %s: app %q has no app section and neither has its image %s", path, ra.Name, key)
		}
		tree, err := s.RenderTree(key)
		if err != nil {
			return nil, nil, fmt.Errorf("--pod-manifest %s: app %q: render image %s: %w", path, ra.Name, key, err)
		}
		apps = append(apps, pod.PreparedApp{Name: ra.Name.String(), Key: key, TreeID: tree})
	}
	return data, apps, nil
}
