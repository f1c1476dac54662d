// Command rkt is stage0 of the rkt container runtime: it manages images and
// pods and starts each pod's stage1.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/common/abi"
	"github.com/rktfly/rkt/stage0/internal/config"
)

// Exit codes of rkt itself. Commands that exec a stage1 entrypoint exit with
// its status instead.
const (
	exitOK      = 0
	exitFailure = abi.ExitFailure
	// exitMissingCommand is rkt's status when no subcommand is given.
	exitMissingCommand = 2
)

// defaultDataDir is the data directory when neither --dir nor the paths
// configuration names one.
const defaultDataDir = "/var/lib/rkt"

// rktGlobalFlags holds the flags valid before or after any subcommand.
type rktGlobalFlags struct {
	dir                string
	systemConfig       string
	localConfig        string
	userConfig         string
	debug              bool
	insecureOptions    insecureOptions
	trustKeysFromHTTPS bool
	cpuProfile         string
	memProfile         string
}

var (
	globalFlags = rktGlobalFlags{
		systemConfig: "/usr/lib/rkt",
		localConfig:  "/etc/rkt",
	}

	// stdout is for command output only. stderr is for errors and notices.
	stdout = log.New(os.Stdout, "", 0)
	stderr = log.New(os.Stderr, "", 0)

	cmdRkt = &cobra.Command{
		Use:   "rkt [command]",
		Short: "rkt, the application container runner",
		Long:  "A CLI for running app containers on Linux.\n\nTo get the help on any specific command, run \"rkt help command\".",
		// Errors are printed by main with the subcommand's name as prefix.
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &exitCodeError{code: exitMissingCommand, err: errors.New("missing command"), usage: true}
		},
	}
)

func init() {
	cobra.EnablePrefixMatching = true

	pf := cmdRkt.PersistentFlags()
	pf.StringVar(&globalFlags.dir, "dir", "", "rkt data directory (default "+defaultDataDir+", or the data path of the paths configuration)")
	pf.StringVar(&globalFlags.systemConfig, "system-config", globalFlags.systemConfig, "system configuration directory")
	pf.StringVar(&globalFlags.localConfig, "local-config", globalFlags.localConfig, "local configuration directory")
	pf.StringVar(&globalFlags.userConfig, "user-config", "", "user configuration directory")
	pf.BoolVar(&globalFlags.debug, "debug", false, "print out more debug information to stderr")
	pf.Var(&globalFlags.insecureOptions, "insecure-options",
		"comma-separated list of security features to disable: "+insecureOptionNames())
	pf.BoolVar(&globalFlags.trustKeysFromHTTPS, "trust-keys-from-https", false,
		"automatically trust gpg keys fetched from https")
	pf.StringVar(&globalFlags.cpuProfile, "cpuprofile", "", "write CPU profile to the file")
	pf.StringVar(&globalFlags.memProfile, "memprofile", "", "write memory profile to the file")
	_ = pf.MarkHidden("cpuprofile")
	_ = pf.MarkHidden("memprofile")

	cmdRkt.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		// A flagValueError names the flag and the value, so it replaces
		// pflag's `invalid argument "VALUE" for "--FLAG" flag: ...` wrapper.
		var valueErr *flagValueError
		if errors.As(err, &valueErr) {
			err = valueErr
		}
		return fmt.Errorf("%w (see %q)", err, cmd.CommandPath()+" --help")
	})
}

// flagValueError is an invalid flag value whose message names the flag and
// the value.
type flagValueError struct {
	msg string
}

func (e *flagValueError) Error() string { return e.msg }

func main() {
	takeHandedOverFrom()
	os.Exit(runMain())
}

// runMain executes the command line and returns the exit status, so that
// deferred cleanup in commands runs before the process exits.
func runMain() int {
	cmdRkt.CompletionOptions.DisableDefaultCmd = namesOtherSubcommand(os.Args[1:])
	cmd, err := cmdRkt.ExecuteC()
	if err == nil {
		return exitOK
	}
	if code, ok := handOver(cmd, err); ok {
		return code
	}

	code := exitFailure
	var ece *exitCodeError
	if errors.As(err, &ece) {
		code = ece.code
		if ece.err == nil {
			return code
		}
		err = ece.err
	}
	name := topCommandName(cmd)
	if isUnknownCommand(err) {
		// cobra's message may end with "Did you mean this?" suggestions.
		stderr.Print("rkt: " + strings.TrimRight(err.Error(), "\n"))
		stderr.Print("Run 'rkt help' for usage.")
		return code
	}
	if ece == nil || !ece.usage || cmd == nil {
		stderr.Printf("%s: %v", name, err)
		return code
	}
	if cmd == cmdRkt {
		// rkt without a command prints the command list, as rkt does.
		stderr.Printf("%s: %v", name, err)
		cmd.SetOut(os.Stderr)
		_ = cmd.Usage()
		return code
	}
	stderr.Printf("%s: %v (see %q)", name, err, cmd.CommandPath()+" --help")
	return code
}

// namesOtherSubcommand reports whether the first argument that is not a
// flag is the exact name of a subcommand other than help and completion.
// Such a command never shows cobra's default completion command, so it
// need not be built, which cobra otherwise does on every run. Help, usage,
// prefixes and misspelt names keep it.
func namesOtherSubcommand(args []string) bool {
	for _, arg := range args {
		if strings.HasPrefix(arg, "-") {
			continue
		}
		if arg == "help" || arg == "completion" {
			return false
		}
		for _, sub := range cmdRkt.Commands() {
			if sub.Name() == arg {
				return true
			}
		}
		return false
	}
	return false
}

// isUnknownCommand reports whether err is cobra's error for a command name
// that matches no subcommand. cobra returns it as a plain formatted error,
// so only its text identifies it.
func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}

// exitCodeError carries the exit status for an error, or only a status when
// err is nil (the message was already printed). A usage error adds a hint
// to run the command's --help, and rkt without a command prints its usage.
type exitCodeError struct {
	code  int
	err   error
	usage bool
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// runWrapper adapts a subcommand's function to cobra's RunE. main prints a
// returned error as "<subcommand>: <error>" on stderr and exits 254, or with
// the status of an *exitCodeError.
func runWrapper(fn func(cmd *cobra.Command, args []string) error) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return fn(cmd, args)
	}
}

// requireRoot returns the error rkt gives subcommands that need euid 0.
func requireRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("cannot run as unprivileged user")
	}
	return nil
}

// debugLogger returns a logger for --debug diagnostics, prefixed with the
// subcommand name, that discards everything without --debug.
func debugLogger(cmd *cobra.Command) *log.Logger {
	if !globalFlags.debug {
		return log.New(io.Discard, "", 0)
	}
	return log.New(os.Stderr, topCommandName(cmd)+": ", 0)
}

// topCommandName returns the name of the subcommand directly below rkt that
// cmd belongs to, the prefix of messages: "rkt image rm" prints "image: ".
func topCommandName(cmd *cobra.Command) string {
	name := "rkt"
	for top := cmd; top != nil && top != cmdRkt; top = top.Parent() {
		name = top.Name()
	}
	return name
}

// warnLogger returns a logger for notices on stderr prefixed with the
// subcommand name.
func warnLogger(cmd *cobra.Command) *log.Logger {
	return log.New(os.Stderr, topCommandName(cmd)+": ", 0)
}

// loadConfig reads the system, local and user configuration directories.
func loadConfig() (*config.Config, error) {
	cfg, err := config.Load(globalFlags.systemConfig, globalFlags.localConfig, globalFlags.userConfig)
	if err != nil {
		return nil, fmt.Errorf("load configuration: %w", err)
	}
	return cfg, nil
}

// dataDir returns the absolute data directory: --dir, else the configured
// data path, else /var/lib/rkt, with symlinks resolved when it exists.
func dataDir() (string, error) {
	dir := globalFlags.dir
	if cmdRkt.PersistentFlags().Changed("dir") && dir == "" {
		return "", errors.New("--dir must not be empty")
	}
	if dir == "" {
		cfg, err := loadConfig()
		if err != nil {
			return "", err
		}
		dir = cfg.Paths.Data
	}
	if dir == "" {
		dir = defaultDataDir
	}

	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %q: %w", dir, err)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	return abs, nil
}
