package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/appc/spec/schema/types"
	"github.com/spf13/pflag"

	"github.com/rktfly/rkt/stage0/internal/buildinfo"
	"github.com/rktfly/rkt/stage0/internal/config"
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
		{name: "stage1-url", usage: "URL of the stage1 image (only file:// is supported yet)"},
		{name: "stage1-path", usage: "path of the stage1 image file"},
		{name: "stage1-name", usage: "name[:version] of the stage1 image in the store"},
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
	return dir != "" && strings.HasPrefix(filepath.Clean(path), dir+string(filepath.Separator))
}

// selectStage1 returns the store key of the stage1 image chosen by the
// flags, the configuration or the build defaults.
func (s *stage1Selector) selectStage1(f stage1Flags) (string, error) {
	switch f.kind {
	case "stage1-path":
		return s.fromPath(f.value)
	case "stage1-url":
		return s.fromURL(f.value)
	case "stage1-from-dir":
		return s.fromPath(filepath.Join(s.imagesDir(), f.value))
	case "stage1-name":
		return s.fromName(f.value)
	case "stage1-hash":
		key, err := s.images.store.ResolveKey(f.value)
		if err != nil {
			return "", fmt.Errorf("stage1 image %q: %w", f.value, err)
		}
		return key, nil
	}
	return s.fromDefault()
}

func (s *stage1Selector) fromPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("stage1 image %q: %w", path, err)
	}
	key, err := s.images.importFile(abs, "", trusted(abs))
	if err != nil {
		return "", fmt.Errorf("stage1: %w", err)
	}
	return key, nil
}

func (s *stage1Selector) fromURL(u string) (string, error) {
	parsed, err := url.Parse(u)
	if err == nil && parsed.Scheme == "file" {
		return s.fromPath(parsed.Path)
	}
	return "", fmt.Errorf("--stage1-url %q: fetching the stage1 from a URL is not supported yet, use --stage1-path with a local file", u)
}

func (s *stage1Selector) fromName(img string) (string, error) {
	name, labels, err := parseImageName(img)
	if err != nil {
		return "", fmt.Errorf("--stage1-name: %w", err)
	}
	key, err := s.images.store.FindByName(name, labels)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("stage1 image %s not found in the store; fetching by name is not supported yet, use --stage1-path", img)
	}
	if err != nil {
		return "", fmt.Errorf("stage1 image %q: %w", img, err)
	}
	return key, nil
}

// fromDefault looks up the configured or built-in name:version in the
// store, and else imports the default location, falling back to the file
// next to the rkt binary. The default stage1 is not signature-checked.
func (s *stage1Selector) fromDefault() (string, error) {
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
		key, err := s.fromLocation(location)
		if err == nil {
			return key, nil
		}
		if !filepath.IsAbs(location) {
			return "", err
		}
		firstErr = err
	}

	exe, err := os.Executable()
	if err != nil {
		return "", errors.Join(firstErr, fmt.Errorf("locate the rkt binary: %w", err))
	}
	fallback := filepath.Join(filepath.Dir(exe), filename)
	key, err := s.images.importFile(fallback, "", true)
	if err != nil {
		return "", errors.Join(firstErr, fmt.Errorf("default stage1: %w (use --stage1-path to name one)", err))
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

func (s *stage1Selector) fromLocation(location string) (string, error) {
	if filepath.IsAbs(location) {
		return s.images.importFile(location, "", true)
	}
	u, err := url.Parse(location)
	if err == nil && u.Scheme == "file" {
		return s.images.importFile(u.Path, "", true)
	}
	return "", fmt.Errorf("default stage1 location %q: fetching the stage1 from a URL is not supported yet, use --stage1-path", location)
}
