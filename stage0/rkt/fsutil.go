package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// listDir returns the names in dir, or none when dir does not exist.
func listDir(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list pods in %s: %w", dir, err)
	}
	return names, nil
}
