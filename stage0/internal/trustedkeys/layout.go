package trustedkeys

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/appc/spec/schema/types"
)

// Directory names of the store below a configuration directory.
const (
	// Dir is the store's directory in a configuration directory.
	Dir = "trustedkeys"
	// RootDir holds the keys trusted for every image name.
	RootDir = "root.d"
	// PrefixDir holds one nested directory per image name prefix.
	PrefixDir = "prefix.d"
)

// Config names the configuration directories that hold trusted keys.
type Config struct {
	// SystemConfig is the vendor configuration directory (rkt's
	// --system-config, default /usr/lib/rkt). Empty means none.
	SystemConfig string
	// LocalConfig is the administrator's configuration directory (rkt's
	// --local-config, default /etc/rkt). Empty means none.
	LocalConfig string
}

// Dirs returns the trustedkeys directories in load order: system first, so
// that the local configuration overrides it.
func (c Config) Dirs() []string {
	var dirs []string
	for _, dir := range []string{c.SystemConfig, c.LocalConfig} {
		if dir != "" {
			dirs = append(dirs, filepath.Join(dir, Dir))
		}
	}
	return dirs
}

// KeyDirs returns the directories whose key files apply to the image name,
// in load order: every root.d, then the prefix.d directory of each prefix of
// name, shortest first, system configuration before local.
func (c Config) KeyDirs(name string) []string {
	var dirs []string
	for _, dir := range c.Dirs() {
		dirs = append(dirs, filepath.Join(dir, RootDir))
	}
	for _, dir := range c.Dirs() {
		for _, prefix := range Prefixes(name) {
			dirs = append(dirs, PrefixPath(dir, prefix))
		}
	}
	return dirs
}

// ValidateIdentifier checks that name is an AC identifier that maps to a
// directory below prefix.d. types.NewACIdentifier checks only the characters
// and the first and last one, so it accepts "a/../b", which would leave the
// store.
func ValidateIdentifier(name string) error {
	if _, err := types.NewACIdentifier(name); err != nil {
		return err
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("path component %q is not allowed in an AC identifier", part)
		}
	}
	return nil
}

// Prefixes returns the prefixes of an AC identifier by path component,
// shortest first: "a/b/c" gives "a", "a/b", "a/b/c".
func Prefixes(name string) []string {
	parts := strings.Split(name, "/")
	prefixes := make([]string, 0, len(parts))
	for i := range parts {
		prefixes = append(prefixes, strings.Join(parts[:i+1], "/"))
	}
	return prefixes
}

// PrefixPath returns the directory of the keys for prefix below the
// trustedkeys directory trustedKeys.
func PrefixPath(trustedKeys, prefix string) string {
	return filepath.Join(trustedKeys, PrefixDir, filepath.FromSlash(prefix))
}
