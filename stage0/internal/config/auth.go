package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
)

// Redacted replaces every credential value in the output of Entries.
const Redacted = "<redacted>"

// Auth is the merged "auth" and "dockerAuth" kinds with the credential
// values dropped: only the credential field names are kept, so nothing
// built from it can print a secret.
type Auth struct {
	// Domains maps each domain of an "auth" file to its entry.
	Domains map[string]AuthEntry
	// Registries maps each registry of a "dockerAuth" file to its
	// credential field names.
	Registries map[string][]string
}

// AuthEntry is the credential type of one domain and the names of its
// credential fields, such as "user" and "password" for type "basic".
type AuthEntry struct {
	Type   string
	Fields []string
}

type authV1 struct {
	Domains     []string                   `json:"domains"`
	Type        string                     `json:"type"`
	Credentials map[string]json.RawMessage `json:"credentials"`
}

type dockerAuthV1 struct {
	Registries  []string                   `json:"registries"`
	Credentials map[string]json.RawMessage `json:"credentials"`
}

// LoadAuth reads the auth.d subdirectory of each directory in dirs, in order
// (system, local, user). A later directory replaces the entry of a domain or
// registry set by an earlier one, and naming one twice within a directory is
// an error. It checks the file structure only: the fetch code validates the
// credentials themselves when it builds the request headers.
func LoadAuth(dirs ...string) (*Auth, error) {
	auth := &Auth{Domains: map[string]AuthEntry{}, Registries: map[string][]string{}}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		domains := map[string]AuthEntry{}
		registries := map[string][]string{}
		definedIn := map[string]string{}
		err := readKindFiles(filepath.Join(dir, "auth.d"), []string{"auth", "dockerAuth"}, func(file, kind string, data []byte) error {
			if kind == "auth" {
				return mergeAuth(domains, definedIn, file, data)
			}
			return mergeDockerAuth(registries, definedIn, file, data)
		})
		if err != nil {
			return nil, err
		}
		for name, entry := range domains {
			auth.Domains[name] = entry
		}
		for name, fields := range registries {
			auth.Registries[name] = fields
		}
	}
	return auth, nil
}

func mergeAuth(domains map[string]AuthEntry, definedIn map[string]string, file string, data []byte) error {
	var v authV1
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("parse config file %s: %w", file, err)
	}
	if len(v.Domains) == 0 {
		return fmt.Errorf("config file %s: no domains listed", file)
	}
	entry := AuthEntry{Type: v.Type, Fields: sortedKeys(v.Credentials)}
	for _, domain := range v.Domains {
		key := "auth " + domain
		if prev, ok := definedIn[key]; ok {
			return fmt.Errorf("config file %s: domain %q is already defined in %s", file, domain, prev)
		}
		definedIn[key] = file
		domains[domain] = entry
	}
	return nil
}

func mergeDockerAuth(registries map[string][]string, definedIn map[string]string, file string, data []byte) error {
	var v dockerAuthV1
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("parse config file %s: %w", file, err)
	}
	if len(v.Registries) == 0 {
		return fmt.Errorf("config file %s: no registries listed", file)
	}
	fields := sortedKeys(v.Credentials)
	for _, registry := range v.Registries {
		key := "dockerAuth " + registry
		if prev, ok := definedIn[key]; ok {
			return fmt.Errorf("config file %s: registry %q is already defined in %s", file, registry, prev)
		}
		definedIn[key] = file
		registries[registry] = fields
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The entry types below print rktVersion and rktKind first, then the
// fields of the kind.

type authOutput struct {
	RktVersion  string            `json:"rktVersion"`
	RktKind     string            `json:"rktKind"`
	Domains     []string          `json:"domains"`
	Type        string            `json:"type"`
	Credentials map[string]string `json:"credentials"`
}

type dockerAuthOutput struct {
	RktVersion  string            `json:"rktVersion"`
	RktKind     string            `json:"rktKind"`
	Registries  []string          `json:"registries"`
	Credentials map[string]string `json:"credentials"`
}

type pathsOutput struct {
	RktVersion   string `json:"rktVersion"`
	RktKind      string `json:"rktKind"`
	Data         string `json:"data"`
	Stage1Images string `json:"stage1-images"`
}

type stage1Output struct {
	RktVersion string `json:"rktVersion"`
	RktKind    string `json:"rktKind"`
	Name       string `json:"name"`
	Version    string `json:"version"`
	Location   string `json:"location"`
}

// Entries returns the merged configuration as rkt config prints it under
// "stage0": one auth entry per domain, then one dockerAuth entry per
// registry (each sorted by name), then the paths and stage1 entries. Every
// credential value is Redacted.
func Entries(cfg *Config, auth *Auth) []any {
	var entries []any
	for _, domain := range sortedNames(auth.Domains) {
		entry := auth.Domains[domain]
		entries = append(entries, authOutput{
			RktVersion:  "v1",
			RktKind:     "auth",
			Domains:     []string{domain},
			Type:        entry.Type,
			Credentials: redact(entry.Fields),
		})
	}
	for _, registry := range sortedNames(auth.Registries) {
		entries = append(entries, dockerAuthOutput{
			RktVersion:  "v1",
			RktKind:     "dockerAuth",
			Registries:  []string{registry},
			Credentials: redact(auth.Registries[registry]),
		})
	}
	entries = append(entries,
		pathsOutput{RktVersion: "v1", RktKind: "paths", Data: cfg.Paths.Data, Stage1Images: cfg.Paths.Stage1Images},
		stage1Output{RktVersion: "v1", RktKind: "stage1", Name: cfg.Stage1.Name, Version: cfg.Stage1.Version, Location: cfg.Stage1.Location},
	)
	return entries
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func redact(fields []string) map[string]string {
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		out[f] = Redacted
	}
	return out
}
