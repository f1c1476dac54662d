package abi

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/rktfly/rkt/common/sysfile"
)

// RuntimeConfig is the JSON content of $P/runtime-config.
// The fly run entrypoint fills in only Debug, ResolvConfMode and
// EtcHostsMode. No stage0 reads the file.
type RuntimeConfig struct {
	MetadataServiceURL string `json:"MetadataServiceURL"`
	PrivateUsers       string `json:"PrivateUsers"`
	MDSToken           string `json:"MDSToken"`
	Hostname           string `json:"Hostname"`
	Debug              bool   `json:"Debug"`
	Mutable            bool   `json:"Mutable"`
	ResolvConfMode     string `json:"ResolvConfMode"`
	EtcHostsMode       string `json:"EtcHostsMode"`
	// NetList contains the --net entries, one "name" or "name:args" each.
	// NOTE: rkt encodes this field from its own NetList type, whose JSON form
	// is not recorded here. No stage0 reads it, so a list of strings is used.
	NetList         []string        `json:"NetList"`
	Interactive     bool            `json:"Interactive"`
	InsecureOptions InsecureOptions `json:"InsecureOptions"`
	IPCMode         string          `json:"IPCMode"`
}

// InsecureOptions are the security features that --insecure-options disables.
type InsecureOptions struct {
	DisablePaths        bool `json:"DisablePaths"`
	DisableCapabilities bool `json:"DisableCapabilities"`
	DisableSeccomp      bool `json:"DisableSeccomp"`
}

// RuntimeConfigFileMode is the mode of $P/runtime-config.
const RuntimeConfigFileMode = 0o644

// WriteRuntimeConfig writes cfg as JSON to path with mode 0644 whatever the
// umask, replacing any earlier content.
func WriteRuntimeConfig(path string, cfg RuntimeConfig) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode runtime config: %w", err)
	}
	if err := sysfile.WriteFileMode(path, data, RuntimeConfigFileMode); err != nil {
		return fmt.Errorf("write runtime config: %w", err)
	}
	return nil
}

// ReadRuntimeConfig reads the JSON file at path.
func ReadRuntimeConfig(path string) (RuntimeConfig, error) {
	var cfg RuntimeConfig
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read runtime config: %w", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("parse runtime config %s: %w", path, err)
	}
	return cfg, nil
}
