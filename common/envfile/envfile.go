// Package envfile reads and writes the env files that fly's run writes at
// $S1/rkt/env/<app> and enter reads back: one "NAME=value" per line, each
// line ending in "\n", in the order of the app's environment.
package envfile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/rktfly/rkt/common/sysfile"
)

// Var is one environment variable.
type Var struct {
	Name  string
	Value string
}

// String returns "NAME=value".
func (v Var) String() string {
	return v.Name + "=" + v.Value
}

// Environ returns vars as "NAME=value" strings, the form execve(2) takes.
func Environ(vars []Var) []string {
	env := make([]string, 0, len(vars))
	for _, v := range vars {
		env = append(env, v.String())
	}
	return env
}

// Validate rejects a variable that cannot be written as one line: an empty
// name, a name with "=" or a NUL, or a newline or NUL anywhere.
func Validate(v Var) error {
	switch {
	case v.Name == "":
		return fmt.Errorf("environment variable with value %q has an empty name", v.Value)
	case strings.ContainsAny(v.Name, "=\n\x00"):
		return fmt.Errorf("environment variable name %q contains '=', a newline or NUL", v.Name)
	case strings.ContainsAny(v.Value, "\n\x00"):
		return fmt.Errorf("environment variable %q: value contains a newline or NUL", v.Name)
	}
	return nil
}

// Write writes vars to path, one "NAME=value\n" line each, creating the
// file with mode 0644 or truncating it. The directory must exist.
func Write(path string, vars []Var) error {
	var buf bytes.Buffer
	for _, v := range vars {
		if err := Validate(v); err != nil {
			return fmt.Errorf("write env file %s: %w", path, err)
		}
		buf.WriteString(v.String())
		buf.WriteByte('\n')
	}
	if err := sysfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	return nil
}

// Read reads an env file. Empty lines are skipped; a line without "="
// fails with its line number. The value is everything after the first "=".
func Read(path string) ([]Var, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	defer f.Close()

	var vars []Var
	scanner := bufio.NewScanner(f)
	// Values such as long PATHs or certificates can exceed 64 KiB.
	scanner.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	lineNumber := 0
	for scanner.Scan() {
		lineNumber++
		line := scanner.Text()
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("env file %s line %d: %q is not NAME=value", path, lineNumber, line)
		}
		vars = append(vars, Var{Name: name, Value: value})
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read env file %s: %w", path, err)
	}
	return vars, nil
}
