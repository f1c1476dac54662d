package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/appc/spec/schema/types"
	"github.com/spf13/pflag"

	"github.com/rktfly/rkt/common/envfile"
	"github.com/rktfly/rkt/common/user"
)

// podFlags holds the pod-level flags of run and prepare.
type podFlags struct {
	volumes      volumeList
	ports        portList
	inheritEnv   bool
	setEnv       envList
	setEnvFiles  []string
	noOverlay    bool
	privateUsers bool
	pullPolicy   string
	storeOnly    bool
	noStore      bool
	podManifest  string
	stage1       stage1Flags
}

// addPodFlags registers the pod-level flags that run and prepare share.
func addPodFlags(fs *pflag.FlagSet, f *podFlags) {
	fs.Var(&f.volumes, "volume", "volume to make available to the pod: NAME,kind=host,source=/PATH[,readOnly=BOOL][,recursive=BOOL] or NAME,kind=empty[,mode=0755][,uid=0][,gid=0]")
	fs.Var(&f.ports, "port", "port to expose on the host: NAME:[IP:]HOSTPORT")
	fs.BoolVar(&f.inheritEnv, "inherit-env", false, "give the apps rkt's environment, for names they do not set otherwise")
	fs.Var(&f.setEnv, "set-env", "environment variable NAME=VALUE for all apps (overrides --environment)")
	fs.StringArrayVar(&f.setEnvFiles, "set-env-file", nil, "file of NAME=VALUE lines to set in all apps; lines starting with # or ; are skipped")
	fs.BoolVar(&f.noOverlay, "no-overlay", false, "copy the image trees into the pod instead of mounting overlayfs")
	fs.BoolVar(&f.privateUsers, "private-users", false, "run the pod in a user namespace with shifted ids (not supported by the fly stage1)")
	fs.StringVar(&f.pullPolicy, "pull-policy", "new", "when to fetch images: new (only when not in the store), update (always) or never")
	fs.BoolVar(&f.storeOnly, "store-only", false, "use only images from the store (same as --pull-policy=never)")
	fs.BoolVar(&f.noStore, "no-store", false, "fetch images even when they are in the store (same as --pull-policy=update)")
	_ = fs.MarkDeprecated("store-only", "use --pull-policy=never")
	_ = fs.MarkDeprecated("no-store", "use --pull-policy=update")
	fs.StringVar(&f.podManifest, "pod-manifest", "", "pod manifest file to use instead of generating one from the images and flags")
	addStage1Flags(fs, &f.stage1)
}

// effectivePullPolicy folds --store-only and --no-store into --pull-policy.
func (f *podFlags) effectivePullPolicy(fs *pflag.FlagSet) (string, error) {
	if f.storeOnly && f.noStore {
		return "", errors.New("--store-only and --no-store are mutually exclusive")
	}
	policy := f.pullPolicy
	if f.storeOnly || f.noStore {
		if fs.Changed("pull-policy") {
			return "", errors.New("--pull-policy cannot be combined with --store-only or --no-store")
		}
		policy = "never"
		if f.noStore {
			policy = "update"
		}
	}
	switch policy {
	case "new", "update", "never":
		return policy, nil
	}
	return "", fmt.Errorf("--pull-policy %q is invalid: expected new, update or never", policy)
}

// checkPodManifestConflicts rejects flags that --pod-manifest replaces.
func checkPodManifestConflicts(f *podFlags, al *appList, policy string) error {
	if f.podManifest == "" {
		return nil
	}
	if len(al.apps) > 0 || len(f.volumes) > 0 || len(al.mounts) > 0 || len(f.ports) > 0 ||
		f.inheritEnv || len(f.setEnv) > 0 || len(f.setEnvFiles) > 0 || policy != "new" {
		return errors.New("conflicting flags set with --pod-manifest (see --help)")
	}
	return nil
}

// volumeList is the repeatable --volume flag.
type volumeList []types.Volume

// Set parses one --volume value. It does not check that a host source
// exists, because the source may be created between prepare and
// run-prepared. The stage1 rejects a missing source when it mounts it.
func (l *volumeList) Set(s string) error {
	if err := checkVolumeOptionValues(s); err != nil {
		return err
	}
	v, err := types.VolumeFromString(s)
	if err != nil {
		return err
	}
	*l = append(*l, *v)
	return nil
}

func (l *volumeList) String() string {
	words := make([]string, 0, len(*l))
	for _, v := range *l {
		words = append(words, v.String())
	}
	return strings.Join(words, " ")
}

func (l *volumeList) Type() string { return "volume" }

// checkVolumeOptionValues checks the boolean and integer options of a
// --volume value before appc's parser does, because its errors show only the
// strconv message, such as `strconv.ParseBool: parsing "yes": invalid syntax`.
func checkVolumeOptionValues(s string) error {
	name, options, _ := strings.Cut(s, ",")
	for _, option := range strings.Split(options, ",") {
		key, value, _ := strings.Cut(option, "=")
		switch key {
		case "readOnly", "recursive":
			if _, err := strconv.ParseBool(value); err != nil {
				return &flagValueError{msg: fmt.Sprintf("--volume %s: invalid %s value %q: use true or false", name, key, value)}
			}
		case "uid", "gid":
			id, err := strconv.Atoi(value)
			if errors.Is(err, strconv.ErrRange) {
				return &flagValueError{msg: fmt.Sprintf("--volume %s: invalid %s value %q: use an id from 0 to 4294967294", name, key, value)}
			}
			if err != nil {
				return &flagValueError{msg: fmt.Sprintf("--volume %s: invalid %s value %q: use a decimal number", name, key, value)}
			}
			if err := user.CheckID(id); err != nil {
				return &flagValueError{msg: fmt.Sprintf("--volume %s: invalid %s value %q: %v", name, key, value, err)}
			}
		}
	}
	return nil
}

// portList is the repeatable --port flag.
type portList []types.ExposedPort

// Set parses NAME:[IP:]HOSTPORT. The IP may be an IPv6 address.
func (l *portList) Set(s string) error {
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return errors.New("expected NAME:[IP:]HOSTPORT")
	}
	acn, err := types.NewACName(name)
	if err != nil {
		return fmt.Errorf("port name: %w", err)
	}

	port := types.ExposedPort{Name: *acn}
	hostPort := rest
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		ipText := strings.Trim(rest[:i], "[]")
		ip := net.ParseIP(ipText)
		if ip == nil {
			return fmt.Errorf("%q is not an IP address", ipText)
		}
		port.HostIP = ip
		hostPort = rest[i+1:]
	}
	n, err := strconv.ParseUint(hostPort, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("host port %q must be a number from 1 to 65535", hostPort)
	}
	port.HostPort = uint(n)
	*l = append(*l, port)
	return nil
}

func (l *portList) String() string { return "" }
func (l *portList) Type() string   { return "port" }

// envList is the repeatable --set-env flag. A name given twice is an error.
type envList types.Environment

func (l *envList) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return errors.New("expected NAME=VALUE")
	}
	if _, dup := (*types.Environment)(l).Get(name); dup {
		return fmt.Errorf("environment variable %q is given more than once", name)
	}
	if err := envfile.Validate(envfile.Var{Name: name, Value: value}); err != nil {
		return err
	}
	(*types.Environment)(l).Set(name, value)
	return nil
}

func (l *envList) String() string { return "" }
func (l *envList) Type() string   { return "NAME=VALUE" }

// readEnvFile reads a --set-env-file: NAME=VALUE lines, where empty lines
// and lines starting with # or ; are skipped. A name given twice is an error.
func readEnvFile(path string, env *types.Environment) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--set-env-file: %w", err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			return fmt.Errorf("--set-env-file %s line %d: expected NAME=VALUE", path, lineNo)
		}
		if seen[name] {
			return fmt.Errorf("--set-env-file %s line %d: environment variable %q given more than once", path, lineNo, name)
		}
		if err := envfile.Validate(envfile.Var{Name: name, Value: value}); err != nil {
			return fmt.Errorf("--set-env-file %s line %d: %w", path, lineNo, err)
		}
		seen[name] = true
		env.Set(name, value)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("--set-env-file %s: %w", path, err)
	}
	return nil
}

// runtimeFlags holds the flags that only run and run-prepared have.
type runtimeFlags struct {
	net          netList
	dns          []string
	dnsSearch    []string
	dnsOpt       []string
	dnsDomain    string
	hostsEntries []string
	hostname     string
	interactive  bool
	mdsRegister  bool
	ipc          string
}

func addRuntimeFlags(fs *pflag.FlagSet, f *runtimeFlags) {
	fs.Var(&f.net, "net", "networks to join, comma-separated; the fly stage1 always uses the host network (value must be attached: --net=host)")
	fs.Lookup("net").NoOptDefVal = "default"
	fs.StringSliceVar(&f.dns, "dns", nil, "name server IP for the pods' resolv.conf, or host to use the host's file, or none")
	fs.StringSliceVar(&f.dnsSearch, "dns-search", nil, "DNS search domain to write to the pod's resolv.conf")
	fs.StringSliceVar(&f.dnsOpt, "dns-opt", nil, "DNS option to write to the pod's resolv.conf")
	fs.StringVar(&f.dnsDomain, "dns-domain", "", "DNS domain to write to the pod's resolv.conf")
	fs.StringSliceVar(&f.hostsEntries, "hosts-entry", nil, "entry IP=HOSTNAME for the pod's /etc/hosts, or host to use the host's file")
	fs.StringVar(&f.hostname, "hostname", "", "pod host name (ignored by the fly stage1)")
	fs.BoolVar(&f.interactive, "interactive", false, "run the pod interactively (only one image allowed)")
	fs.BoolVar(&f.mdsRegister, "mds-register", false, "register the pod with the metadata service")
	fs.StringVar(&f.ipc, "ipc", "", "IPC namespace mode: auto, private or parent")
}

// checkIPC validates --ipc.
func (f *runtimeFlags) checkIPC() error {
	switch f.ipc {
	case "", "auto", "private", "parent":
		return nil
	}
	return fmt.Errorf("--ipc %q is invalid: expected auto, private or parent", f.ipc)
}

// netList is the --net flag: every value is kept and passed to the stage1.
type netList []string

func (l *netList) Set(s string) error {
	for _, word := range strings.Split(s, ",") {
		if word != "" {
			*l = append(*l, word)
		}
	}
	return nil
}

func (l *netList) String() string { return strings.Join(*l, ",") }
func (l *netList) Type() string   { return "net" }

// hostNetworkOnly reports whether every --net value is one that means the
// host network for fly.
func (l netList) hostNetworkOnly() bool {
	for _, n := range l {
		if n != "host" && n != "default" {
			return false
		}
	}
	return true
}
