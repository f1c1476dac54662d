package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/common"
	"github.com/appc/spec/schema/types"
	"github.com/spf13/pflag"

	"github.com/rktfly/rkt/common/envfile"
	"github.com/rktfly/rkt/common/user"
	"github.com/rktfly/rkt/stage0/internal/pod"
)

// appList collects the images of a run or prepare command line with the
// per-app flags that follow each one.
type appList struct {
	apps []*pod.App
	// mounts are the --mount values given before any image. They apply to
	// the whole pod.
	mounts []schema.Mount
	// argsGiven marks the apps that already received a "--" argument list.
	argsGiven map[*pod.App]bool
	// execGiven and signatureGiven mark the apps whose once-only flags
	// were used.
	execGiven      map[*pod.App]bool
	signatureGiven map[*pod.App]bool
}

func newAppList() *appList {
	return &appList{
		argsGiven:      map[*pod.App]bool{},
		execGiven:      map[*pod.App]bool{},
		signatureGiven: map[*pod.App]bool{},
	}
}

func (al *appList) last() *pod.App {
	if len(al.apps) == 0 {
		return nil
	}
	return al.apps[len(al.apps)-1]
}

// appFlag is a per-app flag: each value applies to the nearest preceding
// image on the command line.
type appFlag struct {
	name   string
	apps   *appList
	isBool bool
	set    func(app *pod.App, value string) error
}

func (f *appFlag) Set(value string) error {
	app := f.apps.last()
	if app == nil {
		return fmt.Errorf("--%s must follow an image", f.name)
	}
	return f.set(app, value)
}

func (f *appFlag) String() string { return "" }

func (f *appFlag) Type() string {
	if f.isBool {
		return "bool"
	}
	return "string"
}

// IsBoolFlag lets pflag accept the flag without a value.
func (f *appFlag) IsBoolFlag() bool { return f.isBool }

// mountFlag is --mount: it applies to the nearest preceding image, or to the
// pod when no image came before it.
type mountFlag struct {
	apps *appList
}

func (f *mountFlag) Set(value string) error {
	m, err := parseMount(value)
	if err != nil {
		return err
	}
	if app := f.apps.last(); app != nil {
		app.Mounts = append(app.Mounts, *m)
	} else {
		f.apps.mounts = append(f.apps.mounts, *m)
	}
	return nil
}

func (f *mountFlag) String() string { return "" }
func (f *mountFlag) Type() string   { return "mount" }

// parseMount parses "volume=VOL,target=PATH". Both keys are required, and
// unknown or repeated keys are errors.
func parseMount(s string) (*schema.Mount, error) {
	q, err := common.MakeQueryString(s)
	if err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(q)
	if err != nil {
		return nil, err
	}

	var m schema.Mount
	for key, vals := range values {
		if len(vals) > 1 {
			return nil, fmt.Errorf("key %q is given more than once", key)
		}
		switch key {
		case "volume":
			name, err := types.NewACName(vals[0])
			if err != nil {
				return nil, fmt.Errorf("volume name: %w", err)
			}
			m.Volume = *name
		case "target":
			m.Path = vals[0]
		default:
			return nil, fmt.Errorf("unknown key %q, expected volume=VOL,target=PATH", key)
		}
	}
	if m.Volume.Empty() || m.Path == "" {
		return nil, errors.New("expected volume=VOL,target=PATH")
	}
	return &m, nil
}

// addAppFlags registers the per-app flags of run and prepare on fs.
func addAppFlags(fs *pflag.FlagSet, al *appList) {
	str := func(name, usage string, set func(app *pod.App, value string) error) {
		fs.Var(&appFlag{name: name, apps: al, set: set}, name, usage)
	}

	str("exec", "override the exec command of the preceding image (its own arguments are dropped)", func(app *pod.App, v string) error {
		if al.execGiven[app] {
			return errors.New("--exec specified multiple times for the same image")
		}
		al.execGiven[app] = true
		app.Exec = v
		return nil
	})
	str("user", "user override for the preceding image (name, numeric id or /path whose owner to use)", func(app *pod.App, v string) error {
		app.User = v
		return nil
	})
	str("group", "group override for the preceding image (name, numeric id or /path whose group to use)", func(app *pod.App, v string) error {
		app.Group = v
		return nil
	})
	str("supplementary-gids", "comma-separated supplementary group ids for the preceding image, replacing the image's", func(app *pod.App, v string) error {
		gids, err := parseIntList(v)
		if err != nil {
			return err
		}
		for _, gid := range gids {
			if err := user.CheckID(gid); err != nil {
				return err
			}
		}
		app.SupplementaryGIDs = gids
		return nil
	})
	str("working-dir", "working directory override for the preceding image", func(app *pod.App, v string) error {
		app.WorkingDir = v
		return nil
	})
	str("name", "app name for the preceding image (default: derived from the image name)", func(app *pod.App, v string) error {
		app.Name = v
		return nil
	})
	str("environment", "environment variable NAME=VALUE for the preceding image (overrides the image's)", func(app *pod.App, v string) error {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return errors.New("expected NAME=VALUE")
		}
		if err := envfile.Validate(envfile.Var{Name: name, Value: value}); err != nil {
			return err
		}
		app.Environment.Set(name, value)
		return nil
	})
	str("signature", "local signature file for the preceding image", func(app *pod.App, v string) error {
		if al.signatureGiven[app] {
			return errors.New("--signature specified multiple times for the same image")
		}
		al.signatureGiven[app] = true
		app.Signature = v
		return nil
	})
	str("annotation", "runtime annotation NAME=VALUE of the preceding app", func(app *pod.App, v string) error {
		name, value, err := parseKV(v)
		if err != nil {
			return err
		}
		id, err := types.NewACIdentifier(name)
		if err != nil {
			return err
		}
		app.Annotations.Set(*id, value)
		return nil
	})
	str("user-annotation", "user annotation NAME=VALUE of the preceding app", func(app *pod.App, v string) error {
		name, value, err := parseKV(v)
		if err != nil {
			return err
		}
		if app.UserAnnotations == nil {
			app.UserAnnotations = types.UserAnnotations{}
		}
		app.UserAnnotations[name] = value
		return nil
	})
	str("user-label", "user label NAME=VALUE of the preceding app", func(app *pod.App, v string) error {
		name, value, err := parseKV(v)
		if err != nil {
			return err
		}
		if app.UserLabels == nil {
			app.UserLabels = types.UserLabels{}
		}
		app.UserLabels[name] = value
		return nil
	})

	fs.Var(&appFlag{name: "readonly-rootfs", apps: al, isBool: true, set: func(app *pod.App, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		app.ReadOnlyRootFS = b
		return nil
	}}, "readonly-rootfs", "mount the preceding app's root filesystem read-only (ignored by the fly stage1)")
	fs.Lookup("readonly-rootfs").NoOptDefVal = "true"

	fs.Var(&mountFlag{apps: al}, "mount", "mount a volume: volume=VOL,target=PATH; applies to the preceding image, or to every app before the first image")

	addIsolatorFlags(fs, al)
}

func parseKV(v string) (string, string, error) {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return "", "", errors.New("expected NAME=VALUE")
	}
	return name, value, nil
}

func parseIntList(s string) ([]int, error) {
	var out []int
	for _, word := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(word))
		if errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("%q is out of range", word)
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", word)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseApps reads the image arguments and everything after them:
// images, per-app and pod flags (parsed with flags, so they bind to the
// nearest preceding image), "--" app argument lists and "---" terminators.
// Empty words are skipped. allowAppArgs is false for commands that take no
// app arguments.
func parseApps(al *appList, args []string, flags *pflag.FlagSet, allowAppArgs bool) error {
	inAppArgs := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "" {
			continue
		}

		if inAppArgs {
			if a == "---" {
				inAppArgs = false
				continue
			}
			app := al.last()
			app.Args = append(app.Args, a)
			continue
		}

		switch a {
		case "--":
			if !allowAppArgs {
				return errors.New("app arguments are not supported by this command")
			}
			app := al.last()
			if app == nil {
				return errors.New("app arguments (--) must follow an image")
			}
			if al.argsGiven[app] {
				return errors.New("only one set of app arguments allowed per image")
			}
			al.argsGiven[app] = true
			if app.Args == nil {
				app.Args = []string{}
			}
			inAppArgs = true
		case "---":
			// rkt ignores a "---" outside app arguments.
		default:
			n, err := parseInterFlags(flags, args[i:])
			if err != nil {
				return err
			}
			if n == 0 {
				al.apps = append(al.apps, &pod.App{Image: a})
				continue
			}
			i += n - 1
		}
	}
	if len(al.apps) == 0 {
		return errors.New("at least one image is required")
	}
	return nil
}

// parseInterFlags parses the flags at the start of args and returns how
// many words they used. pflag consumes a "--" that ends the flags, so the
// count leaves it out and parseApps then reads the app argument list.
func parseInterFlags(flags *pflag.FlagSet, args []string) (int, error) {
	if err := flags.Parse(args); err != nil {
		return 0, err
	}
	n := len(args) - flags.NArg()
	if n > 0 && args[n-1] == "--" {
		n--
	}
	return n, nil
}
