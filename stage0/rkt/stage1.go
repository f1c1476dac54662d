package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/appc/spec/schema/types"
	"github.com/spf13/pflag"

	"github.com/rktfly/rkt/stage0/internal/buildinfo"
	"github.com/rktfly/rkt/stage0/internal/config"
	"github.com/rktfly/rkt/stage0/internal/imageref"
	"github.com/rktfly/rkt/stage0/internal/store"
)

// stage1Flags records the one --stage1-* flag given.
type stage1Flags struct {
	kind  string // flag name without "--", such as "stage1-path"
	value string
}

// stage1Flag is one of the mutually exclusive --stage1-* flags.
type stage1Flag struct {
	name  string
	flags *stage1Flags
}

func (f *stage1Flag) Set(v string) error {
	switch f.flags.kind {
	case "":
	case f.name:
		return fmt.Errorf("--%s already used", f.name)
	default:
		return fmt.Errorf("flags --%s and --%s are mutually exclusive", f.flags.kind, f.name)
	}
	f.flags.kind = f.name
	f.flags.value = v
	return nil
}

func (f *stage1Flag) String() string { return "" }
func (f *stage1Flag) Type() string   { return "string" }

func addStage1Flags(fs *pflag.FlagSet, f *stage1Flags) {
	for _, def := range []struct{ name, usage string }{
		{name: "stage1-url", usage: "file, http or https URL of the stage1 image"},
		{name: "stage1-path", usage: "path of the stage1 image file"},
		{name: "stage1-name", usage: "name[:version] of the stage1 image, from the store or else found by discovery"},
		{name: "stage1-hash", usage: "image ID of the stage1 image in the store"},
		{name: "stage1-from-dir", usage: "file name of the stage1 image in the stage1 images directory"},
	} {
		fs.Var(&stage1Flag{name: def.name, flags: f}, def.name, def.usage)
	}
}

// stage1Selector picks the stage1 image from the --stage1-* flags, the
// stage1 configuration or the build defaults.
type stage1Selector struct {
	images *imageResolver
	cfg    *config.Config
}

// imagesDir returns the configured stage1 images directory, or the build
// default.
func (s *stage1Selector) imagesDir() string {
	if s.cfg.Paths.Stage1Images != "" {
		return s.cfg.Paths.Stage1Images
	}
	return buildinfo.Stage1DefaultImagesDir
}

// trusted reports whether the stage1 at path skips the signature check:
// it is the build-default location or lies in the build-default images
// directory.
func trusted(path string) bool {
	if buildinfo.Stage1DefaultLocation != "" && path == buildinfo.Stage1DefaultLocation {
		return true
	}
	dir := filepath.Clean(buildinfo.Stage1DefaultImagesDir)
	return buildinfo.Stage1DefaultImagesDir != "" && strings.HasPrefix(filepath.Clean(path), dir+string(filepath.Separator))
}

// selectStage1 returns the store key of the stage1 image chosen by the
// flags, the configuration or the build defaults, and records its use.
func (s *stage1Selector) selectStage1(f stage1Flags) (string, error) {
	fetcher, err := s.images.imageFetcher()
	if err != nil {
		return "", err
	}
	key, err := s.stage1Key(fetcher, f)
	if err != nil {
		return "", err
	}
	s.markUsed(key)
	return key, nil
}

// stage1Key returns the store key of the stage1 image chosen by the flags,
// the configuration or the build defaults. Every image goes through fetcher
// with pull policy new and no dependencies, so that the signature is checked
// unless the location is trusted.
func (s *stage1Selector) stage1Key(fetcher imageFetcher, f stage1Flags) (string, error) {
	ctx := context.Background()
	var key string
	var err error
	switch f.kind {
	case "stage1-path":
		key, err = s.fromPath(ctx, fetcher, f.value)
	case "stage1-url":
		key, err = s.fromURL(ctx, fetcher, f.value)
	case "stage1-from-dir":
		key, err = s.fromImagesDir(ctx, fetcher, f.value)
	case "stage1-name":
		key, err = fetcher.FetchStage1Name(ctx, f.value)
	case "stage1-hash":
		key, err = fetcher.FetchStage1Hash(ctx, f.value)
	default:
		return s.fromDefault(ctx, fetcher)
	}
	if err != nil {
		return "", fmt.Errorf("stage1 image from --%s %q: %w", f.kind, f.value, err)
	}
	return key, nil
}

// markUsed records the use of the stage1 image with the same resolution as
// app images, so that image gc keeps a stage1 that pods use. A failure only
// affects image gc's grace period, so it is logged, not returned.
func (s *stage1Selector) markUsed(key string) {
	if _, err := s.images.store.MarkUsedIfOlder(key, lastUsedResolution); err != nil && s.images.debug != nil {
		s.images.debug.Printf("mark stage1 image %s used: %v", key, err)
	}
}

func (s *stage1Selector) fromPath(ctx context.Context, fetcher imageFetcher, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return fetcher.FetchStage1Location(ctx, abs, trusted(abs))
}

// fromImagesDir fetches the image file name from the stage1 images directory.
func (s *stage1Selector) fromImagesDir(ctx context.Context, fetcher imageFetcher, name string) (string, error) {
	dir := s.imagesDir()
	if err := checkInImagesDir(dir, name, s.cfg.Paths.Stage1Images != ""); err != nil {
		return "", err
	}
	return s.fromPath(ctx, fetcher, filepath.Join(dir, name))
}

// checkInImagesDir checks that the file name exists in the stage1 images
// directory. Its error names the directory, the origin of that setting and
// the fix. The fetcher reports every other error when it opens the file.
func checkInImagesDir(dir, name string, configured bool) error {
	_, err := os.Stat(filepath.Join(dir, name))
	if !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	origin := "the build default"
	if configured {
		origin = `set by "stage1-images" in a paths.d file`
	}
	return fmt.Errorf(`not found in the stage1 images directory %s (%s): `+
		`set "stage1-images" in a paths.d file under --local-config or --system-config, or use --stage1-path`, dir, origin)
}

// fromURL fetches a file, http or https URL. A file URL is trusted like the
// path it names.
func (s *stage1Selector) fromURL(ctx context.Context, fetcher imageFetcher, location string) (string, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", fmt.Errorf("invalid URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		return fetcher.FetchStage1Location(ctx, location, trusted(u.Path))
	case "http", "https":
		return fetcher.FetchStage1Location(ctx, location, false)
	}
	return "", fmt.Errorf("unsupported URL scheme %q: use file, http or https", u.Scheme)
}

// fromDefault looks up the configured or built-in name:version in the
// store, and else fetches the configured or build-default location, falling
// back to the file next to the rkt binary, which is not signature-checked.
func (s *stage1Selector) fromDefault(ctx context.Context, fetcher imageFetcher) (string, error) {
	name, version := s.cfg.Stage1.Name, s.cfg.Stage1.Version
	if name == "" || version == "" {
		name, version = buildinfo.Stage1DefaultName, buildinfo.Stage1DefaultVersion
	}

	if !strings.HasSuffix(version, "-dirty") {
		key, err := s.lookupNameVersion(name, version)
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}

	location := s.cfg.Stage1.Location
	filename := ""
	if location == "" {
		location = buildinfo.Stage1DefaultLocation
		filename = buildinfo.Stage1DefaultFilename
	}
	if location == "" && filename == "" {
		return "", errors.New("neither the location of the default stage1 image nor its filename are set, use --stage1-{path,url,name,hash,from-dir} flag")
	}
	if filename == "" {
		filename = filepath.Base(location)
	}

	var firstErr error
	if location != "" {
		key, err := s.fromLocation(ctx, fetcher, location)
		if err == nil {
			return key, nil
		}
		if !filepath.IsAbs(location) {
			return "", fmt.Errorf("default stage1 image %s: %w", location, err)
		}
		firstErr = fmt.Errorf("default stage1 image %s: %w", location, err)
	}

	exe, err := rktBinary()
	if err != nil {
		return "", errors.Join(firstErr, fmt.Errorf("locate the rkt binary: %w", err))
	}
	fallback := filepath.Join(filepath.Dir(exe), filename)
	key, err := fetcher.FetchStage1Location(ctx, fallback, true)
	if err != nil {
		return "", errors.Join(firstErr, fmt.Errorf("default stage1 image %s next to the rkt binary: %w (use --stage1-path to name one)", fallback, err))
	}
	return key, nil
}

func (s *stage1Selector) lookupNameVersion(name, version string) (string, error) {
	_, labels, err := parseImageName(name)
	if err != nil {
		return "", fmt.Errorf("default stage1: %w", err)
	}
	labels = append(labels, types.Label{Name: "version", Value: version})
	return s.images.store.FindByName(name, labels)
}

// fromLocation fetches the default location: an absolute path, or else a
// URL. It skips the signature check when the location is trusted.
func (s *stage1Selector) fromLocation(ctx context.Context, fetcher imageFetcher, location string) (string, error) {
	if filepath.IsAbs(location) {
		return fetcher.FetchStage1Location(ctx, location, trusted(location))
	}
	return s.fromURL(ctx, fetcher, location)
}

// parseImageName splits an image string into its name and its labels,
// with os and arch defaulted to the host's.
func parseImageName(img string) (string, types.Labels, error) {
	app, err := imageref.ParseApp(img)
	if err != nil {
		return "", nil, fmt.Errorf("image name %q is invalid: %w", img, err)
	}
	appcOS, appcArch, err := types.ToAppcOSArch(runtime.GOOS, runtime.GOARCH, goarm())
	if err != nil {
		return "", nil, fmt.Errorf("image name %q: %w", img, err)
	}
	if _, ok := app.Labels["os"]; !ok {
		app.Labels["os"] = appcOS
	}
	if _, ok := app.Labels["arch"]; !ok {
		app.Labels["arch"] = appcArch
	}
	labels, err := types.LabelsFromMap(app.Labels)
	if err != nil {
		return "", nil, fmt.Errorf("image name %q: %w", img, err)
	}
	return app.Name.String(), labels, nil
}

// goarm returns the arm flavour the appc os/arch mapping needs.
func goarm() string {
	if runtime.GOARCH == "arm" {
		return "7"
	}
	return ""
}

// handedOverFromEnv names the variable in which rkt passes the path of its
// binary to rkt-full when it hands a command over.
const handedOverFromEnv = "RKT_HANDED_OVER_FROM"

// handedOverFrom is the path of the rkt binary that handed this command
// over, or empty. takeHandedOverFrom sets it.
var handedOverFrom string

// takeHandedOverFrom removes RKT_HANDED_OVER_FROM from the environment, so
// that neither the stage1 nor the app inherits it. In rkt-full, which only
// rkt starts with the variable set, it keeps the value in handedOverFrom.
func takeHandedOverFrom() {
	if path, ok := os.LookupEnv(handedOverFromEnv); ok {
		os.Unsetenv(handedOverFromEnv)
		if readsHandedOverFrom && filepath.IsAbs(path) {
			handedOverFrom = path
		}
	}
}

// rktBinary returns the path of the rkt binary that the user ran: the one
// that handed the command over to this rkt-full, or else this binary. The
// default stage1 image is looked for next to it.
func rktBinary() (string, error) {
	if handedOverFrom != "" {
		return handedOverFrom, nil
	}
	return os.Executable()
}
