package abi

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

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
	if err := sysfile.WriteFileMode(path, cfg.appendJSON(nil), RuntimeConfigFileMode); err != nil {
		return fmt.Errorf("write runtime config: %w", err)
	}
	return nil
}

// appendJSON appends cfg as JSON to b, with the fields and order that
// json.Marshal writes. It avoids json.Marshal's reflection, whose first use
// in a process cost the stage1 run entrypoint about 0.07 ms in warm runs on
// a 2-core VM. Unlike json.Marshal, it leaves <, > and & in strings
// unescaped. A test compares the decoded values on every field.
func (cfg RuntimeConfig) appendJSON(b []byte) []byte {
	b = append(b, `{"MetadataServiceURL":`...)
	b = appendJSONString(b, cfg.MetadataServiceURL)
	b = append(b, `,"PrivateUsers":`...)
	b = appendJSONString(b, cfg.PrivateUsers)
	b = append(b, `,"MDSToken":`...)
	b = appendJSONString(b, cfg.MDSToken)
	b = append(b, `,"Hostname":`...)
	b = appendJSONString(b, cfg.Hostname)
	b = append(b, `,"Debug":`...)
	b = strconv.AppendBool(b, cfg.Debug)
	b = append(b, `,"Mutable":`...)
	b = strconv.AppendBool(b, cfg.Mutable)
	b = append(b, `,"ResolvConfMode":`...)
	b = appendJSONString(b, cfg.ResolvConfMode)
	b = append(b, `,"EtcHostsMode":`...)
	b = appendJSONString(b, cfg.EtcHostsMode)

	b = append(b, `,"NetList":`...)
	if cfg.NetList == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, network := range cfg.NetList {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, network)
		}
		b = append(b, ']')
	}

	b = append(b, `,"Interactive":`...)
	b = strconv.AppendBool(b, cfg.Interactive)
	b = append(b, `,"InsecureOptions":{"DisablePaths":`...)
	b = strconv.AppendBool(b, cfg.InsecureOptions.DisablePaths)
	b = append(b, `,"DisableCapabilities":`...)
	b = strconv.AppendBool(b, cfg.InsecureOptions.DisableCapabilities)
	b = append(b, `,"DisableSeccomp":`...)
	b = strconv.AppendBool(b, cfg.InsecureOptions.DisableSeccomp)
	b = append(b, `},"IPCMode":`...)
	b = appendJSONString(b, cfg.IPCMode)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as json.Marshal makes it.
func appendJSONString(b []byte, s string) []byte {
	b, _ = jsontext.AppendQuote(b, s)
	return b
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
