package abi

import (
	"fmt"
	"strings"
)

// ResolvMode selects the source of an app's /etc/resolv.conf.
type ResolvMode string

// Values of the resolv key of --dns-conf-mode.
const (
	ResolvHost    ResolvMode = "host"    // bind mount of the host's file
	ResolvStage0  ResolvMode = "stage0"  // $S1/etc/rkt-resolv.conf written by stage0
	ResolvNone    ResolvMode = "none"    // the image's own file
	ResolvDefault ResolvMode = "default" // the stage1's choice, which for fly is the image's file
)

// HostsMode selects the source of an app's /etc/hosts.
type HostsMode string

// Values of the hosts key of --dns-conf-mode.
const (
	HostsHost    HostsMode = "host"    // bind mount of the host's file
	HostsStage0  HostsMode = "stage0"  // $S1/etc/rkt-hosts written by stage0
	HostsDefault HostsMode = "default" // the image's file, or a localhost line if it has none
)

// DNSConfMode is the value of the run entrypoint's --dns-conf-mode flag.
type DNSConfMode struct {
	Resolv ResolvMode
	Hosts  HostsMode
}

// DefaultDNSConfMode returns the mode used when --dns-conf-mode is absent.
func DefaultDNSConfMode() DNSConfMode {
	return DNSConfMode{Resolv: ResolvDefault, Hosts: HostsDefault}
}

// IsDefault reports whether both modes are default, in which case stage0
// does not pass --dns-conf-mode.
func (m DNSConfMode) IsDefault() bool {
	return m.Resolv == ResolvDefault && m.Hosts == HostsDefault
}

// String formats m as "resolv=<r>,hosts=<h>", the form stage0 passes.
func (m DNSConfMode) String() string {
	return "resolv=" + string(m.Resolv) + ",hosts=" + string(m.Hosts)
}

// ParseDNSConfMode parses a comma-separated list of resolv=<r> and hosts=<h>
// pairs, as rkt's fly does. A key that is not given stays default, and a key
// given twice takes its last value. Unknown keys and values are errors.
func ParseDNSConfMode(s string) (DNSConfMode, error) {
	mode := DefaultDNSConfMode()
	if s == "" {
		return mode, fmt.Errorf("parse dns-conf-mode %q: empty value", s)
	}

	for _, pair := range strings.Split(s, ",") {
		key, value, ok := strings.Cut(pair, "=")
		if !ok {
			return mode, fmt.Errorf("parse dns-conf-mode %q: pair %q is not key=value", s, pair)
		}
		switch key {
		case "resolv":
			r := ResolvMode(value)
			if !validResolvMode(r) {
				return mode, fmt.Errorf("parse dns-conf-mode %q: resolv mode %q is not host, stage0, none or default", s, value)
			}
			mode.Resolv = r
		case "hosts":
			h := HostsMode(value)
			if !validHostsMode(h) {
				return mode, fmt.Errorf("parse dns-conf-mode %q: hosts mode %q is not host, stage0 or default", s, value)
			}
			mode.Hosts = h
		default:
			return mode, fmt.Errorf("parse dns-conf-mode %q: unknown key %q, want resolv or hosts", s, key)
		}
	}
	return mode, nil
}

func validResolvMode(r ResolvMode) bool {
	switch r {
	case ResolvHost, ResolvStage0, ResolvNone, ResolvDefault:
		return true
	}
	return false
}

func validHostsMode(h HostsMode) bool {
	switch h {
	case HostsHost, HostsStage0, HostsDefault:
		return true
	}
	return false
}
