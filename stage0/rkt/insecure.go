package main

import (
	"fmt"
	"strings"
)

// insecureOptions is the set given by --insecure-options, a bit per option.
type insecureOptions uint32

const (
	insecureImage insecureOptions = 1 << iota
	insecureTLS
	insecureOnDisk
	insecureHTTP
	insecurePubKey
	insecureCapabilities
	insecurePaths
	insecureSeccomp

	insecureNone     insecureOptions = 0
	insecureAllFetch                 = insecureImage | insecureTLS | insecureHTTP | insecurePubKey
	insecureAllRun                   = insecureCapabilities | insecurePaths | insecureSeccomp
	insecureAll                      = insecureAllFetch | insecureAllRun | insecureOnDisk
)

// insecureOptionList lists the option names in the order help text shows.
var insecureOptionList = []struct {
	name  string
	value insecureOptions
}{
	{name: "none", value: insecureNone},
	{name: "image", value: insecureImage},
	{name: "tls", value: insecureTLS},
	{name: "ondisk", value: insecureOnDisk},
	{name: "http", value: insecureHTTP},
	{name: "pubkey", value: insecurePubKey},
	{name: "capabilities", value: insecureCapabilities},
	{name: "paths", value: insecurePaths},
	{name: "seccomp", value: insecureSeccomp},
	{name: "all-fetch", value: insecureAllFetch},
	{name: "all-run", value: insecureAllRun},
	{name: "all", value: insecureAll},
}

func insecureOptionNames() string {
	names := make([]string, 0, len(insecureOptionList))
	for _, o := range insecureOptionList {
		names = append(names, o.name)
	}
	return strings.Join(names, ", ")
}

// Set replaces the set with the comma-separated, case-insensitive list s.
// A name given twice is an error.
func (o *insecureOptions) Set(s string) error {
	var set insecureOptions
	seen := map[string]bool{}
	for _, word := range strings.Split(s, ",") {
		name := strings.ToLower(strings.TrimSpace(word))
		if seen[name] {
			return fmt.Errorf("insecure option %q given more than once", name)
		}
		seen[name] = true

		found := false
		for _, opt := range insecureOptionList {
			if opt.name == name {
				set |= opt.value
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("unknown insecure option %q: valid options are %s", word, insecureOptionNames())
		}
	}
	*o = set
	return nil
}

func (o *insecureOptions) String() string {
	if *o == insecureNone {
		return "none"
	}
	var names []string
	for _, opt := range insecureOptionList[1:9] {
		if *o&opt.value != 0 {
			names = append(names, opt.name)
		}
	}
	return strings.Join(names, ",")
}

func (o *insecureOptions) Type() string { return "insecureOptions" }

func (o insecureOptions) has(opt insecureOptions) bool { return o&opt == opt }
