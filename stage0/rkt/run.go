package main

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/stage0/internal/pod"
)

var (
	runApps         = newAppList()
	runPodFlags     podFlags
	runRuntimeFlags runtimeFlags
	runUUIDFileSave string

	cmdRun = &cobra.Command{
		Use:   "run [--volume=name,kind=host,source=/some/path] [--mount=volume=name,target=/path] IMAGE [-- image-args...[---]]...",
		Short: "Run image(s) in a pod in rkt",
		Long: `IMAGE should be a path to an ACI file, an image name in the store
(name[:version][,label=value]) or an image ID (sha512-...).

Per-image flags (--exec, --user, --mount, ...) follow the image they apply to.
Arguments after "--" are appended to the image's exec, up to "---" or the end.`,
		Args: cobra.ArbitraryArgs,
		RunE: runWrapper(runRun),
	}
)

func init() {
	cmdRun.Flags().SetInterspersed(false)
	addPodFlags(cmdRun.Flags(), &runPodFlags)
	addRuntimeFlags(cmdRun.Flags(), &runRuntimeFlags)
	cmdRun.Flags().StringVar(&runUUIDFileSave, "uuid-file-save", "", "file to write the pod UUID to")
	addAppFlags(cmdRun.Flags(), runApps)
	cmdRkt.AddCommand(cmdRun)
}

func runRun(cmd *cobra.Command, args []string) error {
	if err := requireRoot(); err != nil {
		return err
	}
	if err := parseApps(runApps, args, cmd.Flags(), true); err != nil && runPodFlags.podManifest == "" {
		return err
	}
	if runRuntimeFlags.interactive && len(runApps.apps) > 1 {
		return errors.New("--interactive is supported only with one image")
	}
	if runRuntimeFlags.mdsRegister {
		return errors.New("--mds-register: the metadata service is not supported yet, drop the flag")
	}
	if err := runRuntimeFlags.checkIPC(); err != nil {
		return err
	}
	dns := runRuntimeFlags.dnsConfig()
	if _, _, err := dns.Mode(); err != nil {
		return err
	}

	warn := warnLogger(cmd)
	debug := debugLogger(cmd)
	pp, err := preparePod(prepareOptions{
		cmd:          cmd,
		apps:         runApps,
		flags:        &runPodFlags,
		uuidFileSave: runUUIDFileSave,
		debug:        debug,
		warn:         warn,
	})
	if err != nil {
		return err
	}

	if pp.stage1Manifest.Name.String() == abi.Stage1FlyName && !runRuntimeFlags.net.hostNetworkOnly() {
		warn.Printf("warning: the fly stage1 always uses the host network, --net=%s has no effect", runRuntimeFlags.net.String())
	}
	markImagesUsed(pp, debug)

	if err := pp.pod.MarkRunning(); err != nil {
		return err
	}
	flags := runRuntimeFlags.stage1Flags()
	flags.LocalConfig = globalFlags.localConfig
	flags.IPC = runRuntimeFlags.ipc
	return pp.pod.Run(pod.RunConfig{
		Store: pp.store,
		Apps:  pp.apps,
		Flags: flags,
		DNS:   dns,
		Warn:  warn,
		// The manifest was parsed from the same image's index entry.
		Stage1Manifest: pp.stage1Manifest,
	})
}

// lastUsedResolution is how far an image's recorded last-used time may lag
// its last run. Image gc's grace period is counted in hours (24h by
// default), and skipping the index write keeps fdatasyncs off the warm path.
const lastUsedResolution = time.Minute

// markImagesUsed records the last use of the pod's images. A failure only
// affects image gc's grace period, so it is logged, not returned.
func markImagesUsed(pp *preparedPod, debug interface{ Printf(string, ...any) }) {
	for _, app := range pp.apps {
		if _, err := pp.store.MarkUsedIfOlder(app.Key, lastUsedResolution); err != nil {
			debug.Printf("mark image %s used: %v", app.Key, err)
		}
	}
}

// dnsConfig collects the DNS flags.
func (f *runtimeFlags) dnsConfig() pod.DNSConfig {
	return pod.DNSConfig{
		Servers:      f.dns,
		Search:       f.dnsSearch,
		Options:      f.dnsOpt,
		Domain:       f.dnsDomain,
		HostsEntries: f.hostsEntries,
	}
}

// stage1Flags returns the stage1 run flags common to run and run-prepared.
func (f *runtimeFlags) stage1Flags() pod.RunFlags {
	insecure := globalFlags.insecureOptions
	return pod.RunFlags{
		Debug:               globalFlags.debug,
		Net:                 f.net,
		Interactive:         f.interactive,
		Hostname:            f.hostname,
		DisableCapabilities: insecure.has(insecureCapabilities),
		DisablePaths:        insecure.has(insecurePaths),
		DisableSeccomp:      insecure.has(insecureSeccomp),
	}
}
