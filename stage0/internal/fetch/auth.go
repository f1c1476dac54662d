package fetch

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Auth holds the Authorization header value for each host, read from the
// auth.d directories of rkt's configuration. The zero value sends nothing.
type Auth struct {
	byHost map[string]string
}

type authFile struct {
	RktKind     string          `json:"rktKind"`
	RktVersion  string          `json:"rktVersion"`
	Domains     []string        `json:"domains"`
	Type        string          `json:"type"`
	Credentials json.RawMessage `json:"credentials"`
}

type basicCredentials struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type oauthCredentials struct {
	Token string `json:"token"`
}

// LoadAuth reads <dir>/auth.d/*.json for each configuration directory in
// order (system, local, user). A later directory replaces the header of a
// domain set by an earlier one. Defining a domain twice within one directory
// is an error. Empty dir entries and missing auth.d directories are skipped.
// Files of kind "dockerAuth" are ignored. The "aws" type is rejected because
// request signing is not implemented.
func LoadAuth(dirs ...string) (*Auth, error) {
	a := &Auth{byHost: map[string]string{}}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		headers, err := loadAuthDir(filepath.Join(dir, "auth.d"))
		if err != nil {
			return nil, err
		}
		for host, h := range headers {
			a.byHost[host] = h
		}
	}
	return a, nil
}

func loadAuthDir(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read auth config directory: %w", err)
	}
	headers := map[string]string{}
	definedIn := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("read auth config: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		f, header, err := parseAuthFile(path)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		for _, d := range f.Domains {
			if prev, ok := definedIn[d]; ok {
				return nil, fmt.Errorf("auth config %s: domain %q is already defined in %s", path, d, prev)
			}
			definedIn[d] = path
			headers[d] = header
		}
	}
	return headers, nil
}

// parseAuthFile returns a nil file for kinds other than "auth".
func parseAuthFile(path string) (*authFile, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read auth config: %w", err)
	}
	var f authFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, "", fmt.Errorf("parse auth config %s: %w", path, err)
	}
	switch f.RktKind {
	case "auth":
	case "dockerAuth":
		return nil, "", nil
	default:
		return nil, "", fmt.Errorf("auth config %s: unknown rktKind %q, expected \"auth\" or \"dockerAuth\"", path, f.RktKind)
	}
	if f.RktVersion != "v1" {
		return nil, "", fmt.Errorf("auth config %s: unsupported rktVersion %q, expected \"v1\"", path, f.RktVersion)
	}
	if len(f.Domains) == 0 {
		return nil, "", fmt.Errorf("auth config %s: no domains listed", path)
	}
	header, err := authHeader(path, f.Type, f.Credentials)
	if err != nil {
		return nil, "", err
	}
	return &f, header, nil
}

// authHeader builds the header value. Error messages never contain the secret.
func authHeader(path, kind string, raw json.RawMessage) (string, error) {
	switch kind {
	case "basic":
		var c basicCredentials
		if err := json.Unmarshal(raw, &c); err != nil {
			return "", fmt.Errorf("auth config %s: invalid basic credentials: %w", path, err)
		}
		if c.User == "" || c.Password == "" {
			return "", fmt.Errorf("auth config %s: basic credentials need both user and password", path)
		}
		token := base64.StdEncoding.EncodeToString([]byte(c.User + ":" + c.Password))
		return "Basic " + token, nil
	case "oauth":
		var c oauthCredentials
		if err := json.Unmarshal(raw, &c); err != nil {
			return "", fmt.Errorf("auth config %s: invalid oauth credentials: %w", path, err)
		}
		if c.Token == "" {
			return "", fmt.Errorf("auth config %s: oauth credentials need a token", path)
		}
		return "Bearer " + c.Token, nil
	case "aws":
		return "", fmt.Errorf("auth config %s: type \"aws\" is not supported by this rkt, use basic or oauth", path)
	}
	return "", fmt.Errorf("auth config %s: unknown auth type %q, expected basic or oauth", path, kind)
}

// Header returns the Authorization value for host, which may carry a port.
// An exact "host:port" entry wins over the bare host name.
func (a *Auth) Header(host string) (string, bool) {
	if a == nil {
		return "", false
	}
	if h, ok := a.byHost[host]; ok {
		return h, true
	}
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		h, ok := a.byHost[host[:i]]
		return h, ok
	}
	return "", false
}

// Domains returns the configured domains, sorted. It never returns secrets.
func (a *Auth) Domains() []string {
	if a == nil {
		return nil
	}
	domains := make([]string, 0, len(a.byHost))
	for d := range a.byHost {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	return domains
}

// SetHeader adds the Authorization header for req's host when req goes over
// https. Credentials are never sent over plain http. Key discovery uses it
// as trust.KeyFetcher.Authorize, so keys are fetched with the same
// credentials as images.
func (a *Auth) SetHeader(req *http.Request) {
	a.setAuth(req)
}

// setAuth adds the Authorization header for req's host when req goes over https.
// Credentials are never sent over plain http.
func (a *Auth) setAuth(req *http.Request) {
	if req.URL.Scheme != "https" {
		return
	}
	if h, ok := a.Header(req.URL.Host); ok {
		req.Header.Set("Authorization", h)
	}
}
