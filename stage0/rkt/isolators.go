package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/appc/spec/schema/types"
	"github.com/spf13/pflag"

	"github.com/rktfly/rkt/stage0/internal/pod"
)

// addIsolatorFlags registers the per-app isolator overrides. The fly stage1
// ignores isolators, but they are written into the pod manifest for any
// stage1 that applies them.
func addIsolatorFlags(fs *pflag.FlagSet, al *appList) {
	add := func(name, usage string, build func(v string) (*types.Isolator, error)) {
		fs.Var(&appFlag{name: name, apps: al, set: func(app *pod.App, v string) error {
			iso, err := build(v)
			if err != nil {
				return err
			}
			app.Isolators = append(app.Isolators, *iso)
			return nil
		}}, name, usage)
	}

	add("memory", "memory limit for the preceding app, in bytes with an optional K, M, G suffix (ignored by fly)", func(v string) (*types.Isolator, error) {
		r, err := types.NewResourceMemoryIsolator(v, v)
		if err != nil {
			return nil, err
		}
		iso := r.AsIsolator()
		return &iso, nil
	})
	add("cpu", "CPU limit for the preceding app, in cores or millicores such as 500m (ignored by fly)", func(v string) (*types.Isolator, error) {
		r, err := types.NewResourceCPUIsolator(v, v)
		if err != nil {
			return nil, err
		}
		iso := r.AsIsolator()
		return &iso, nil
	})
	add("cpu-shares", "relative CPU weight of the preceding app (ignored by fly)", func(v string) (*types.Isolator, error) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, err
		}
		r, err := types.NewLinuxCPUShares(n)
		if err != nil {
			return nil, err
		}
		iso := r.AsIsolator()
		return &iso, nil
	})
	add("oom-score-adj", "OOM score adjustment of the preceding app, -1000 to 1000 (ignored by fly)", func(v string) (*types.Isolator, error) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, err
		}
		r, err := types.NewLinuxOOMScoreAdj(n)
		if err != nil {
			return nil, err
		}
		iso := r.AsIsolator()
		return &iso, nil
	})

	capsRetain := func(v string) (*types.Isolator, error) {
		r, err := types.NewLinuxCapabilitiesRetainSet(strings.Split(v, ",")...)
		if err != nil {
			return nil, err
		}
		return r.AsIsolator()
	}
	capsRemove := func(v string) (*types.Isolator, error) {
		r, err := types.NewLinuxCapabilitiesRevokeSet(strings.Split(v, ",")...)
		if err != nil {
			return nil, err
		}
		return r.AsIsolator()
	}
	add("caps-retain", "comma-separated capabilities the preceding app keeps (ignored by fly)", capsRetain)
	add("caps-remove", "comma-separated capabilities removed from the preceding app (ignored by fly)", capsRemove)
	add("cap-retain", "deprecated alias of --caps-retain", capsRetain)
	add("cap-remove", "deprecated alias of --caps-remove", capsRemove)
	_ = fs.MarkDeprecated("cap-retain", "use --caps-retain")
	_ = fs.MarkDeprecated("cap-remove", "use --caps-remove")

	add("seccomp", "seccomp filter of the preceding app: mode=retain|remove[,errno=ERRNO],SYSCALL... (ignored by fly)", parseSeccomp)
}

// parseSeccomp parses rkt's --seccomp syntax: "mode=retain" or
// "mode=remove", an optional "errno=NAME", then syscall names.
func parseSeccomp(v string) (*types.Isolator, error) {
	var mode, errno string
	var syscalls []string
	for _, word := range strings.Split(v, ",") {
		switch {
		case strings.HasPrefix(word, "mode="):
			mode = strings.TrimPrefix(word, "mode=")
		case strings.HasPrefix(word, "errno="):
			errno = strings.TrimPrefix(word, "errno=")
		default:
			syscalls = append(syscalls, word)
		}
	}

	switch mode {
	case "retain":
		r, err := types.NewLinuxSeccompRetainSet(errno, syscalls...)
		if err != nil {
			return nil, err
		}
		return r.AsIsolator()
	case "remove":
		r, err := types.NewLinuxSeccompRemoveSet(errno, syscalls...)
		if err != nil {
			return nil, err
		}
		return r.AsIsolator()
	default:
		return nil, fmt.Errorf("mode %q is invalid: expected mode=retain or mode=remove", mode)
	}
}
