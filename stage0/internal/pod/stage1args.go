package pod

import (
	"strings"

	"github.com/rktfly/rkt/common/abi"
)

// RunFlags are the inputs of the stage1 run entrypoint's argv.
type RunFlags struct {
	Debug bool
	// Net is the --net list. An empty list sends "default".
	Net         []string
	Interactive bool
	// PrivateUsers is "SHIFT:COUNT" for pods prepared with --private-users.
	PrivateUsers string
	MDSToken     string
	// LocalConfig is sent when not empty. run-prepared leaves it empty.
	LocalConfig string
	Hostname    string
	DNSConfMode abi.DNSConfMode
	// DisableCapabilities, DisablePaths and DisableSeccomp come from
	// --insecure-options.
	DisableCapabilities bool
	DisablePaths        bool
	DisableSeccomp      bool
	// IPC is the --ipc mode. Empty sends nothing.
	IPC  string
	UUID string
}

// Stage1RunArgs builds the argv of the stage1 run entrypoint at path for a
// stage1 of the given interface version, in the order rkt sends the words.
// It also returns warnings for flags the stage1 is too old to accept.
func Stage1RunArgs(path string, version int, f RunFlags) (args []string, warnings []string) {
	args = []string{path}
	if f.Debug {
		args = append(args, "--debug")
	}

	net := "default"
	if len(f.Net) > 0 {
		net = strings.Join(f.Net, ",")
	}
	args = append(args, "--net="+net)

	if f.Interactive {
		args = append(args, "--interactive")
	}
	if f.PrivateUsers != "" {
		args = append(args, "--private-users="+f.PrivateUsers)
	}
	if f.MDSToken != "" {
		args = append(args, "--mds-token="+f.MDSToken)
	}
	if f.LocalConfig != "" {
		args = append(args, "--local-config="+f.LocalConfig)
	}

	if f.Hostname != "" {
		if version >= abi.MinVersionHostname {
			args = append(args, "--hostname="+f.Hostname)
		} else {
			warnings = append(warnings, "--hostname option is not supported by stage1")
		}
	}

	if f.DNSConfMode != (abi.DNSConfMode{}) && !f.DNSConfMode.IsDefault() {
		if version >= abi.MinVersionDNSConfMode {
			args = append(args, "--dns-conf-mode="+f.DNSConfMode.String())
		} else {
			warnings = append(warnings, "--dns-conf-mode option not supported by stage1")
		}
	}

	if version >= abi.MinVersionInsecureOptions {
		if f.DisableCapabilities {
			args = append(args, "--disable-capabilities-restriction")
		}
		if f.DisablePaths {
			args = append(args, "--disable-paths")
		}
		if f.DisableSeccomp {
			args = append(args, "--disable-seccomp")
		}
	}

	if f.IPC != "" {
		if version >= abi.MinVersionIPC {
			args = append(args, "--ipc="+f.IPC)
		} else {
			warnings = append(warnings, "--ipc option is not supported by stage1")
		}
	}

	args = append(args, f.UUID)
	return args, warnings
}
