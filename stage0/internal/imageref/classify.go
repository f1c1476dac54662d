package imageref

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Kind is the class of an image argument.
type Kind int

const (
	// KindHash is a store key or a prefix of one ("sha512-…").
	KindHash Kind = iota
	// KindFile is a local ACI, given as a path or a file:// URL.
	KindFile
	// KindHTTP is an http:// or https:// URL of an ACI.
	KindHTTP
	// KindName is an appc image name with optional version and labels.
	KindName
	// KindDocker is a docker:// or docker: reference.
	KindDocker
)

// String returns a lower-case word for k, as used in messages.
func (k Kind) String() string {
	switch k {
	case KindHash:
		return "hash"
	case KindFile:
		return "file"
	case KindHTTP:
		return "url"
	case KindName:
		return "name"
	case KindDocker:
		return "docker"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// IsHash reports whether s has the form of an image ID: exactly one "-",
// preceded by "sha512".
func IsHash(s string) bool {
	return strings.Count(s, "-") == 1 && strings.HasPrefix(s, "sha512-")
}

// Classify returns the kind of the image argument s, following rkt's
// order: hash, then URL scheme, then the path and name heuristics.
func Classify(s string) (Kind, error) {
	if s == "" {
		return 0, fmt.Errorf("invalid image string %q: empty", s)
	}
	if IsHash(s) {
		return KindHash, nil
	}
	if strings.HasPrefix(s, "docker:") {
		return KindDocker, nil
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		switch u.Scheme {
		case "file", "http", "https":
			if filepath.Ext(u.Path) != ".aci" {
				return 0, fmt.Errorf("invalid image string %q: a %s URL must name an .aci file", s, u.Scheme)
			}
			if u.Scheme == "file" {
				return KindFile, nil
			}
			return KindHTTP, nil
		}
		// rkt treats any other scheme as part of a name: "app:1.0" parses as
		// scheme "app".
		return KindName, nil
	}
	if filepath.IsAbs(s) {
		return KindFile, nil
	}
	if fi, err := os.Stat(s); err == nil && fi.Mode().IsRegular() {
		return KindFile, nil
	}
	switch {
	case strings.Contains(s, ":"):
		return KindName, nil
	case strings.Contains(s, "./"):
		return KindFile, nil
	case strings.HasSuffix(s, ".aci"):
		return KindFile, nil
	}
	return KindName, nil
}

// FilePath returns the local path of a KindFile argument.
func FilePath(s string) (string, error) {
	if !strings.HasPrefix(s, "file:") {
		return s, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("parse image URL %q: %w", s, err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("invalid file URL %q: host %q is not local", s, u.Host)
	}
	return u.Path, nil
}
