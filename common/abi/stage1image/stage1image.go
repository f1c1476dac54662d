// Package stage1image reads the stage1 annotations of a stage1 image
// manifest: its entrypoints and its interface version. It is separate from
// package abi so that the stage1 entrypoints, which import abi, do not link
// the appc schema packages, whose package initialization (regular
// expressions, semver and resource tables) slows every stage1 start.
package stage1image

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/appc/spec/schema"

	"github.com/rktfly/rkt/common/abi"
)

// InterfaceVersion returns the stage1 interface version that im declares in
// its interface-version annotation, or abi.DefaultInterfaceVersion when the
// annotation is absent. A value that is not a decimal integer is an error.
func InterfaceVersion(im *schema.ImageManifest) (int, error) {
	if im == nil {
		return 0, errors.New("read stage1 interface version: no image manifest")
	}
	value, ok := im.Annotations.Get(abi.AnnotationInterfaceVersion)
	if !ok {
		return abi.DefaultInterfaceVersion, nil
	}
	version, err := strconv.Atoi(value)
	if err != nil {
		return 0, fmt.Errorf("parse annotation %s value %q of image %q: %w",
			abi.AnnotationInterfaceVersion, value, im.Name, err)
	}
	return version, nil
}

// Entrypoint returns the value of the entrypoint annotation name in im and
// whether it is present and non-empty.
func Entrypoint(im *schema.ImageManifest, name string) (string, bool) {
	if im == nil {
		return "", false
	}
	value, ok := im.Annotations.Get(name)
	if !ok || value == "" {
		return "", false
	}
	return value, true
}

// SupportsMutable reports whether im declares all three of the app/rm,
// app/start and app/stop entrypoints, which rkt requires of a stage1 for
// mutable pods.
func SupportsMutable(im *schema.ImageManifest) bool {
	for _, name := range []string{abi.AnnotationAppRm, abi.AnnotationAppStart, abi.AnnotationAppStop} {
		if _, ok := Entrypoint(im, name); !ok {
			return false
		}
	}
	return true
}
