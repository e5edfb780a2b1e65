package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/slipwayhq/slipway/agent/config"
	"github.com/slipwayhq/slipway/internal/version"
)

// goos is the platform whose paths and service manager the agent uses.
const goos = runtime.GOOS

// app is one invocation of the command line.
type app struct {
	opts Options
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "slipway-agent",
		Short: "Slipway's host agent: runs deployments on this host",
		Long: `slipway-agent runs Slipway deployments on this host. It dials out to the control plane,
registers the host with a registration token, and runs each deployment's AppSpec lifecycle.

Install it as a service once; the service runs 'slipway-agent run --config ` + DefaultConfigPath(goos) + `'.

Exit codes: 0 success, 1 failure, 2 wrong command line, 78 invalid configuration.`,
		Example: `  # On a fresh host, with a token from 'slipway host token create'
  sudo slipway-agent install --server https://slipway.example.com:7400 --registration-token T --tag env=prod
  slipway-agent status

  # Try it in the foreground without installing anything
  slipway-agent run --server http://127.0.0.1:7400 --registration-token T --data-dir /tmp/agent`,
		Args:          noArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetOut(a.opts.Stdout)
	root.SetErr(a.opts.Stderr)
	root.SetVersionTemplate("slipway-agent {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		a.runCommand(),
		a.installCommand(),
		a.uninstallCommand(),
		a.controlCommand("start", "Start the installed service", func(c controller) error { return c.Start() }),
		a.controlCommand("stop", "Stop the running service", func(c controller) error { return c.Stop() }),
		a.statusCommand(),
		a.versionCommand(),
	)
	root.CompletionOptions.DisableDefaultCmd = true
	markRuntimeErrors(root)
	return root
}

func versionString() string { return fmt.Sprintf("%s (%s)", version.Version, version.Commit()) }

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(a.opts.Stdout, "slipway-agent %s\n", versionString())
			return err
		},
	}
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return usagef("%q takes no arguments, got %q", cmd.CommandPath(), args[0])
}

// markRuntimeErrors wraps every command's RunE so its errors are told apart from cobra's own
// (which are usage errors).
func markRuntimeErrors(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if err := run(c, args); err != nil {
				return &runtimeError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markRuntimeErrors(sub)
	}
}

// configFlag is --config: which file, and whether the operator named it (flag or environment)
// rather than taking the platform's default.
type configFlag struct {
	path string
}

func bindConfigFlag(fs *pflag.FlagSet) *configFlag {
	f := &configFlag{}
	fs.StringVar(&f.path, "config", "", fmt.Sprintf("config file (env %s, default %s)", EnvConfig, DefaultConfigPath(goos)))
	return f
}

// resolve returns the config file's absolute path and whether it was named explicitly.
func (f *configFlag) resolve() (string, bool, error) {
	p, explicit := f.path, f.path != ""
	if !explicit {
		if v := os.Getenv(EnvConfig); v != "" {
			p, explicit = v, true
		}
	}
	if !explicit {
		return DefaultConfigPath(goos), false, nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", false, usagef("--config %q: %v", p, err)
	}
	return abs, true, nil
}

// DefaultConfigPath is where install writes the config and where run reads it on goos.
func DefaultConfigPath(goos string) string {
	if goos == "windows" {
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "Slipway", "agent.yaml")
	}
	return "/etc/slipway/agent.yaml"
}

// loadRunConfig builds the configuration `run` uses. A missing file at the default path is
// not an error (the agent can run from flags and environment alone); a missing file that was
// named explicitly is.
func loadRunConfig(cf *configFlag, flags *config.Flags) (config.Config, string, error) {
	path, explicit, err := cf.resolve()
	if err != nil {
		return config.Config{}, "", err
	}
	fromFlags, err := flags.Config()
	if err != nil {
		return config.Config{}, "", err
	}
	file := path
	if _, statErr := os.Stat(path); !explicit && errors.Is(statErr, os.ErrNotExist) {
		file = ""
	}
	cfg, err := config.Load(file, fromFlags)
	return cfg, file, err
}
