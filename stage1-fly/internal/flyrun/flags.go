package flyrun

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/rktfly/rkt/common/abi"
)

// Flags are the words of the run argv. Every flag that any stage1
// interface version passes is accepted; fly ignores most of them.
type Flags struct {
	Debug       bool
	Net         string
	Interactive bool
	// PrivateUsers, Mutable and IPC are accepted and ignored: rkt's fly
	// rejected them with exit status 2.
	PrivateUsers string
	Mutable      bool
	IPC          string
	MDSToken     string
	LocalConfig  string
	Hostname     string
	DNS          abi.DNSConfMode
	// The --disable-* flags of interface version 3; fly has nothing to
	// disable.
	DisableCapabilities bool
	DisablePaths        bool
	DisableSeccomp      bool
	// UUID is the pod UUID, the first positional argument. The pod is
	// found by the working directory, not by it.
	UUID [16]byte
}

// ParseFlags parses args (without argv[0]) with the rules of Go's flag
// package: "-x" and "--x", "--x=v" or "--x v", parsing stops at the first
// non-flag word. It writes rkt's fly warnings for --mds-token and
// --hostname to stdout.
func ParseFlags(args []string, stdout io.Writer) (Flags, error) {
	var f Flags
	var dnsMode string
	set := flag.NewFlagSet("run", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.BoolVar(&f.Debug, "debug", false, "print debug messages to stderr")
	set.StringVar(&f.Net, "net", "", "networks (ignored: fly uses the host network)")
	set.BoolVar(&f.Interactive, "interactive", false, "interactive app (ignored: stdio is inherited)")
	set.StringVar(&f.PrivateUsers, "private-users", "", "user namespace shift (ignored: fly has no user namespace)")
	set.BoolVar(&f.Mutable, "mutable", false, "mutable pod (ignored)")
	set.StringVar(&f.IPC, "ipc", "", "IPC namespace mode (ignored: fly uses the host's)")
	set.StringVar(&f.MDSToken, "mds-token", "", "metadata service token (ignored)")
	set.StringVar(&f.LocalConfig, "local-config", "", "local configuration directory (ignored)")
	set.StringVar(&f.Hostname, "hostname", "", "pod hostname (ignored: fly uses the host's)")
	set.StringVar(&dnsMode, "dns-conf-mode", "", "resolv=MODE,hosts=MODE")
	set.BoolVar(&f.DisableCapabilities, "disable-capabilities-restriction", false, "ignored")
	set.BoolVar(&f.DisablePaths, "disable-paths", false, "ignored")
	set.BoolVar(&f.DisableSeccomp, "disable-seccomp", false, "ignored")

	if err := set.Parse(args); err != nil {
		return Flags{}, fmt.Errorf("parse flags: %w", err)
	}

	f.DNS = abi.DefaultDNSConfMode()
	if dnsMode != "" {
		mode, err := abi.ParseDNSConfMode(dnsMode)
		if err != nil {
			return Flags{}, fmt.Errorf("parse flags: %w", err)
		}
		f.DNS = mode
	}

	uuid, err := parseUUID(set.Arg(0))
	if err != nil {
		return Flags{}, fmt.Errorf("UUID is missing or malformed: %q: %w", set.Arg(0), err)
	}
	f.UUID = uuid

	if f.MDSToken != "" {
		fmt.Fprintln(stdout, "Warning: -mds-token not supported; ignoring")
	}
	if f.Hostname != "" {
		fmt.Fprintln(stdout, "Warning: -hostname not supported; ignoring")
	}
	return f, nil
}

// parseUUID parses a UUID with or without hyphens, such as
// "6733c088-a507-4694-aabf-edbe4fc5266f", with the rules and messages of
// the appc schema's NewUUID.
func parseUUID(s string) ([16]byte, error) {
	var uuid [16]byte
	digits := strings.ReplaceAll(s, "-", "")
	if len(digits) != 32 {
		return uuid, errors.New("bad UUID length != 32")
	}
	if _, err := hex.Decode(uuid[:], []byte(digits)); err != nil {
		return uuid, err
	}
	return uuid, nil
}

// LogIgnored writes a debug line for every flag that was given and that
// fly cannot honour.
func (f Flags) LogIgnored(logf func(format string, args ...any)) {
	const (
		hostNamespaces = "fly runs the app in the host's namespaces"
		noRestrictions = "fly applies no capability, path or seccomp restrictions"
	)
	ignored := []struct {
		set    bool
		name   string
		reason string
	}{
		{set: f.Net != "" && f.Net != "default" && f.Net != "host", name: "--net=" + f.Net, reason: "fly always uses the host's network namespace"},
		{set: f.Interactive, name: "--interactive", reason: "the app inherits rkt's standard input and output anyway"},
		{set: f.PrivateUsers != "", name: "--private-users=" + f.PrivateUsers, reason: hostNamespaces},
		{set: f.Mutable, name: "--mutable", reason: "fly runs exactly one app and has no app entrypoints"},
		{set: f.IPC != "", name: "--ipc=" + f.IPC, reason: hostNamespaces},
		{set: f.MDSToken != "", name: "--mds-token", reason: "fly does not register with the metadata service"},
		{set: f.LocalConfig != "", name: "--local-config=" + f.LocalConfig, reason: "fly reads no configuration"},
		{set: f.Hostname != "", name: "--hostname=" + f.Hostname, reason: hostNamespaces},
		{set: f.DisableCapabilities, name: "--disable-capabilities-restriction", reason: noRestrictions},
		{set: f.DisablePaths, name: "--disable-paths", reason: noRestrictions},
		{set: f.DisableSeccomp, name: "--disable-seccomp", reason: noRestrictions},
	}
	for _, flag := range ignored {
		if flag.set {
			logf("ignoring %s: %s", flag.name, flag.reason)
		}
	}
}
