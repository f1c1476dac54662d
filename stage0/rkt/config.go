package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rktfly/rkt/stage0/internal/config"
)

var (
	cmdConfig = &cobra.Command{
		Use:   "config",
		Short: "Print the merged configuration",
		Long: `Print the configuration merged from the system, local and user configuration
directories as JSON: {"stage0":[...]}, with one entry per auth domain, one per
dockerAuth registry, then the paths and stage1 entries.

Credential values (user names, passwords, tokens, keys) are printed as
"` + config.Redacted + `": only the domains, the auth types and the credential field
names are shown.`,
		Args: cobra.NoArgs,
		RunE: runWrapper(runConfig),
	}
	flagConfigPretty bool
)

func init() {
	cmdRkt.AddCommand(cmdConfig)
	cmdConfig.Flags().BoolVar(&flagConfigPretty, "pretty-print", true, "apply indent to format the output")
}

func runConfig(cmd *cobra.Command, args []string) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	auth, err := config.LoadAuth(globalFlags.systemConfig, globalFlags.localConfig, globalFlags.userConfig)
	if err != nil {
		return fmt.Errorf("load configuration: %w", err)
	}
	return printConfig(map[string]any{"stage0": config.Entries(cfg, auth)}, flagConfigPretty)
}

// printConfig prints value as JSON without HTML escaping, so that
// "<redacted>" reads as itself rather than as "\u003credacted\u003e".
func printConfig(value any, pretty bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "\t")
	}
	if err := enc.Encode(value); err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	stdout.Print(buf.String())
	return nil
}
