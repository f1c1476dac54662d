package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/appc/spec/discovery"
	"github.com/appc/spec/schema/types"

	"github.com/rktfly/rkt/stage0/internal/store"
)

// imageKind is the kind of source that an image argument names.
type imageKind int

const (
	imageHash imageKind = iota
	imageFile
	imageHTTP
	imageDocker
	imageName
)

// classifyImage decides what an image argument names and returns, for
// files, the path (a file:// URL is turned into its path).
func classifyImage(img string) (imageKind, string, error) {
	if strings.Count(img, "-") == 1 && strings.HasPrefix(img, "sha512-") {
		return imageHash, img, nil
	}

	if u, err := url.Parse(img); err == nil && u.Scheme != "" {
		switch u.Scheme {
		case "file", "http", "https":
			if !strings.HasSuffix(u.Path, ".aci") {
				return 0, "", fmt.Errorf("invalid image string %q: a %s URL must name an .aci file", img, u.Scheme)
			}
			if u.Scheme == "file" {
				return imageFile, u.Path, nil
			}
			return imageHTTP, img, nil
		case "docker":
			return imageDocker, img, nil
		}
		return imageName, img, nil
	}
	if strings.HasPrefix(img, "docker:") {
		return imageDocker, img, nil
	}

	switch {
	case filepath.IsAbs(img):
		return imageFile, img, nil
	case isRegularFile(img):
		return imageFile, img, nil
	case strings.Contains(img, ":"):
		return imageName, img, nil
	case strings.Contains(img, "./"), strings.HasSuffix(img, ".aci"):
		return imageFile, img, nil
	}
	return imageName, img, nil
}

func isRegularFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// imageResolver finds or imports the images named on the command line.
type imageResolver struct {
	store      *store.Store
	insecure   insecureOptions
	pullPolicy string
	debug      *log.Logger
}

// resolve returns the store key of the image argument img. signature is
// the --signature file for it, if any.
func (r *imageResolver) resolve(img, signature string) (string, error) {
	kind, target, err := classifyImage(img)
	if err != nil {
		return "", err
	}

	switch kind {
	case imageHash:
		key, err := r.store.ResolveKey(target)
		if err != nil {
			return "", fmt.Errorf("image %q: %w", img, err)
		}
		return key, nil
	case imageFile:
		return r.importFile(target, signature, false)
	case imageHTTP:
		return "", fmt.Errorf("image %q: fetching over http(s) is not supported yet: download the ACI and give its file path", img)
	case imageDocker:
		return "", fmt.Errorf("image %q: docker images are not supported yet: convert it to an ACI and give its file path", img)
	}
	return r.findByName(img)
}

// importFile imports an ACI file after the signature check, which is
// skipped for trusted files (the default stage1) and with
// --insecure-options=image.
func (r *imageResolver) importFile(path, signature string, trusted bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("image %q is not a regular file: give the path of an ACI file", path)
	}

	if !trusted && !r.insecure.has(insecureImage) {
		if err := checkSignature(abs, signature); err != nil {
			return "", err
		}
	}

	// The store's error names the file already.
	key, err := r.store.ImportFile(abs, store.ImportOptions{})
	if err != nil {
		return "", err
	}
	r.debug.Printf("image %s is %s", abs, key)
	return key, nil
}

// checkSignature is the signature check of a local file. Verification is
// not implemented yet, so every image that reaches it fails with advice.
//
// TODO: verify the detached signature against the trusted keys once the
// key store exists. Until then only --insecure-options=image runs images.
func checkSignature(path, signature string) error {
	if signature == "" {
		signature = strings.TrimSuffix(path, ".aci") + ".aci.asc"
	}
	if _, err := os.Stat(signature); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no signature found for %s: use --signature=FILE, or --insecure-options=image to skip verification", path)
	}
	return fmt.Errorf("verify signature %s of %s: signature verification is not supported yet, use --insecure-options=image to skip it", signature, path)
}

// findByName looks up name[:version][,label=value...] in the store. The
// os and arch labels default to the host's.
func (r *imageResolver) findByName(img string) (string, error) {
	if r.pullPolicy == "update" {
		return "", fmt.Errorf("image %q: fetching by name is not supported yet, give the ACI file path", img)
	}
	name, labels, err := parseImageName(img)
	if err != nil {
		return "", err
	}
	key, err := r.store.FindByName(name, labels)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("image %s not found in the store; fetching by name is not supported yet, give the ACI file path", img)
	}
	if err != nil {
		return "", fmt.Errorf("image %q: %w", img, err)
	}
	return key, nil
}

// parseImageName splits an image string into its name and its labels,
// with os and arch defaulted to the host's.
func parseImageName(img string) (string, types.Labels, error) {
	app, err := discovery.NewAppFromString(img)
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
