package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Paths is the merged "paths" kind.
type Paths struct {
	// Data is the data directory (an absolute path), empty when unset.
	Data string
	// Stage1Images is the directory of stage1 images, empty when unset.
	Stage1Images string
}

// Stage1 is the merged "stage1" kind: the default stage1 image reference.
type Stage1 struct {
	Name     string
	Version  string
	Location string
}

// Config is the configuration merged from all directories, later directories
// overriding earlier ones field by field.
type Config struct {
	Paths  Paths
	Stage1 Stage1
}

// header holds the fields that every configuration file carries.
type header struct {
	RktKind    string `json:"rktKind"`
	RktVersion string `json:"rktVersion"`
}

type pathsV1 struct {
	Data         string `json:"data"`
	Stage1Images string `json:"stage1-images"`
}

type stage1V1 struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Location string `json:"location"`
}

// Load reads the paths.d and stage1.d subdirectories of each directory in
// dirs, in order (system, local, user), and merges them. Empty entries in
// dirs and missing directories are skipped. LoadAuth reads auth.d.
func Load(dirs ...string) (*Config, error) {
	cfg := &Config{}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		if err := loadDir(cfg, dir); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func loadDir(cfg *Config, dir string) error {
	var paths Paths
	var stage1 Stage1

	err := readKindFiles(filepath.Join(dir, "paths.d"), []string{"paths"}, func(file, _ string, data []byte) error {
		return mergePaths(&paths, file, data)
	})
	if err != nil {
		return err
	}

	err = readKindFiles(filepath.Join(dir, "stage1.d"), []string{"stage1"}, func(file, _ string, data []byte) error {
		return mergeStage1(&stage1, file, data)
	})
	if err != nil {
		return err
	}

	overridePaths(&cfg.Paths, paths)
	overrideStage1(&cfg.Stage1, stage1)
	return nil
}

// readKindFiles calls parse for every *.json file directly inside dir, in
// name order, after checking that its rktKind is one of kinds and its
// rktVersion is "v1".
func readKindFiles(dir string, kinds []string, parse func(file, kind string, data []byte) error) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read config directory %s: %w", dir, err)
	}

	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)

	for _, name := range names {
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read config file: %w", err)
		}

		var h header
		if err := json.Unmarshal(data, &h); err != nil {
			return fmt.Errorf("parse config file %s: %w", file, err)
		}
		if !slices.Contains(kinds, h.RktKind) {
			return fmt.Errorf("config file %s: rktKind %q is invalid in %s, expected %s", file, h.RktKind, filepath.Base(dir), quoteList(kinds))
		}
		if h.RktVersion != "v1" {
			return fmt.Errorf("config file %s: rktVersion %q is not supported, expected \"v1\"", file, h.RktVersion)
		}

		if err := parse(file, h.RktKind, data); err != nil {
			return err
		}
	}
	return nil
}

// quoteList returns the quoted names joined with " or ".
func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = strconv.Quote(name)
	}
	return strings.Join(quoted, " or ")
}

func mergePaths(p *Paths, file string, data []byte) error {
	var v pathsV1
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("parse config file %s: %w", file, err)
	}

	fields := []struct {
		name string
		src  string
		dst  *string
	}{
		{name: "data", src: v.Data, dst: &p.Data},
		{name: "stage1-images", src: v.Stage1Images, dst: &p.Stage1Images},
	}
	for _, f := range fields {
		if f.src == "" {
			continue
		}
		if !filepath.IsAbs(f.src) {
			return fmt.Errorf("config file %s: %s path %q must be absolute", file, f.name, f.src)
		}
		if *f.dst != "" {
			return fmt.Errorf("config file %s: %s is already set in another file of the same directory", file, f.name)
		}
		*f.dst = f.src
	}
	return nil
}

func mergeStage1(s *Stage1, file string, data []byte) error {
	var v stage1V1
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("parse config file %s: %w", file, err)
	}

	if (v.Name == "") != (v.Version == "") {
		return fmt.Errorf("config file %s: stage1 name and version must be set together", file)
	}
	if v.Name != "" {
		if s.Name != "" {
			return fmt.Errorf("config file %s: stage1 name and version are already set in another file of the same directory", file)
		}
		s.Name = v.Name
		s.Version = v.Version
	}
	if v.Location != "" {
		if s.Location != "" {
			return fmt.Errorf("config file %s: stage1 location is already set in another file of the same directory", file)
		}
		s.Location = v.Location
	}
	return nil
}

func overridePaths(dst *Paths, src Paths) {
	if src.Data != "" {
		dst.Data = src.Data
	}
	if src.Stage1Images != "" {
		dst.Stage1Images = src.Stage1Images
	}
}

func overrideStage1(dst *Stage1, src Stage1) {
	if src.Name != "" {
		dst.Name = src.Name
		dst.Version = src.Version
	}
	if src.Location != "" {
		dst.Location = src.Location
	}
}
