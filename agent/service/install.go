package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	kservice "github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/agent/config"
)

// configMode is the config file's mode: it holds the registration token.
const configMode = 0o600

func (a *app) installCommand() *cobra.Command {
	var root string
	var force, noStart bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Write the config, install and enable the service, and start it",
		Long: `install writes the agent's config file (mode 0600: it holds the registration token),
installs the operating system service that runs 'slipway-agent run --config FILE', enables it
at boot and starts it.

Settings come from the flags and SLIPWAY_AGENT_* environment variables; only the ones given are
written, so the others keep following the built-in defaults. When none is given and the config
file already exists, that file is validated and kept as it is.

--root DIR writes the systemd unit, its enable link and the config under DIR instead of /, and
talks to no service manager (for disk images and tests).`,
		Example: `  sudo slipway-agent install --server https://slipway.example.com:7400 --registration-token T --ca-pin sha256:...
  sudo slipway-agent install --server https://a:7400,https://b:7400 --registration-token-file /run/token \
      --tag env=prod --tag role=web --name web-1
  # Bake the agent into an image mounted at /mnt/image
  sudo slipway-agent install --root /mnt/image --server https://slipway.example.com:7400 --registration-token T`,
		Args: noArgs,
	}
	cf := bindConfigFlag(cmd.Flags())
	flags := config.BindFlags(cmd.Flags())
	cmd.Flags().StringVar(&root, "root", "", "install the systemd unit and config under this folder, without a service manager")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing installation")
	cmd.Flags().BoolVar(&noStart, "no-start", false, "install and enable, but do not start the service now")
	cmd.Flags().StringVar(&a.opts.Executable, "executable", a.opts.Executable, "the binary the service runs, as a path on the target system (default: this binary)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return a.install(cf, flags, root, force, noStart)
	}
	return cmd
}

func (a *app) install(cf *configFlag, flags *config.Flags, root string, force, noStart bool) (err error) {
	configPath, _, err := cf.resolve()
	if err != nil {
		return err
	}
	target, err := underRoot(root, configPath)
	if err != nil {
		return err
	}
	file, keep, err := installConfig(target, flags)
	if err != nil {
		return err
	}
	ctl, err := a.controllerFor(root, configPath)
	if err != nil {
		return err
	}

	if installed(ctl) {
		if !force {
			return fmt.Errorf("%s is already installed (%s); run 'slipway-agent uninstall' first or pass --force", Name, ctl)
		}
		_ = ctl.Stop()
		if err := ctl.Uninstall(); err != nil {
			return fmt.Errorf("remove the existing service: %w", err)
		}
	}

	if !keep {
		_, statErr := os.Stat(target)
		existed := statErr == nil
		if err := writeConfig(target, file); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
		defer func() {
			// Do not leave a new config behind for a service that was not installed.
			if err != nil && !existed && !installed(ctl) {
				_ = os.Remove(target)
			}
		}()
	}
	if err = ctl.Install(); err != nil {
		return fmt.Errorf("install service (%s): %w", ctl, err)
	}
	started := false
	if root == "" && !noStart {
		if err = ctl.Start(); err != nil {
			return fmt.Errorf("installed, but start failed (%s): %w", ctl, err)
		}
		started = true
	}
	state := "enabled"
	if started {
		state = "enabled and started"
	}
	_, _ = fmt.Fprintf(a.opts.Stdout, "installed %s (%s), %s; config %s\n", Name, ctl, state, target)
	return nil
}

// installConfig builds what install writes: the settings given through the environment and
// flags, with a token file read into the token. keep is true when nothing was given and the
// existing file at path is used as it is. Either way the effective configuration is validated
// and must have a registration token.
func installConfig(path string, flags *config.Flags) (file config.Config, keep bool, err error) {
	env, err := config.FromEnv(os.LookupEnv)
	if err != nil {
		return config.Config{}, false, err
	}
	fromFlags, err := flags.Config()
	if err != nil {
		return config.Config{}, false, err
	}
	file = config.Merge(config.Config{}, env, fromFlags)
	if reflect.ValueOf(file).IsZero() {
		if _, statErr := os.Stat(path); statErr == nil {
			existing, err := config.ReadFile(path)
			if err != nil {
				return config.Config{}, false, err
			}
			file, keep = existing, true
		}
	}
	if err := file.ReadTokenFile(); err != nil {
		return config.Config{}, false, err
	}
	if !keep {
		// The token goes into the 0600 file; the token file may be gone after install.
		file.RegistrationTokenFile = ""
	}
	effective := config.Merge(config.Default(), file)
	if err := effective.Validate(); err != nil {
		return config.Config{}, false, err
	}
	if err := effective.RequireToken(); err != nil {
		return config.Config{}, false, err
	}
	return file, keep, nil
}

// writeConfig writes c to path with mode 0600, creating its folder.
func writeConfig(path string, c config.Config) error {
	b, err := config.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return err
	}
	return writeFileAtomic(path, b, configMode)
}

func (a *app) uninstallCommand() *cobra.Command {
	var root string
	var purge bool
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop and remove the service",
		Long: `uninstall stops the service and removes it. The config file and the data folder (the
host's identity and deployment archives) stay unless --purge is given. Programs that deployment
hooks started keep running.`,
		Example: `  sudo slipway-agent uninstall
  sudo slipway-agent uninstall --purge`,
		Args: noArgs,
	}
	cf := bindConfigFlag(cmd.Flags())
	cmd.Flags().StringVar(&root, "root", "", "uninstall from under this folder (see install --root)")
	cmd.Flags().BoolVar(&purge, "purge", false, "also remove the config file and the data folder")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return a.uninstall(cf, root, purge)
	}
	return cmd
}

func (a *app) uninstall(cf *configFlag, root string, purge bool) error {
	configPath, _, err := cf.resolve()
	if err != nil {
		return err
	}
	target, err := underRoot(root, configPath)
	if err != nil {
		return err
	}
	ctl, err := a.controllerFor(root, configPath)
	if err != nil {
		return err
	}
	if root == "" {
		_ = ctl.Stop()
	}
	err = ctl.Uninstall()
	switch {
	case errors.Is(err, kservice.ErrNotInstalled) && purge:
		// Nothing to remove from the service manager; purge the files anyway.
	case err != nil:
		return fmt.Errorf("uninstall service (%s): %w", ctl, err)
	default:
		_, _ = fmt.Fprintf(a.opts.Stdout, "uninstalled %s (%s)\n", Name, ctl)
	}
	if !purge {
		return nil
	}
	dataDir := dataDirOf(target)
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove config: %w", err)
	}
	_, _ = fmt.Fprintf(a.opts.Stdout, "removed %s\n", target)
	dir, err := underRoot(root, dataDir)
	if err != nil {
		return err
	}
	if err := removeDataDir(dir); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(a.opts.Stdout, "removed %s\n", dir)
	return nil
}

// dataDirOf is the data folder the config at path names, or the default when it cannot be read.
func dataDirOf(path string) string {
	c := config.Default()
	if file, err := config.ReadFile(path); err == nil {
		c = config.Merge(c, file)
	}
	return c.DataDir
}

// removeDataDir deletes the agent's data folder, refusing paths too short to be one (a typo
// such as data_dir: / must not wipe the host).
func removeDataDir(dir string) error {
	clean := filepath.Clean(dir)
	parts := strings.Split(strings.Trim(filepath.ToSlash(clean), "/"), "/")
	if !filepath.IsAbs(clean) || len(parts) < 2 {
		return fmt.Errorf("refusing to remove %q as a data folder; remove it by hand", dir)
	}
	if err := os.RemoveAll(clean); err != nil {
		return fmt.Errorf("remove data folder: %w", err)
	}
	return nil
}

// underRoot places an absolute path of the target system under root ("" for / itself).
func underRoot(root, path string) (string, error) {
	if root == "" {
		return path, nil
	}
	if !filepath.IsAbs(path) {
		return "", usagef("with --root, paths must be absolute: %q", path)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", usagef("--root %q: %v", root, err)
	}
	return filepath.Join(absRoot, path), nil
}

// installed reports whether the service manager knows the agent's service.
func installed(ctl controller) bool {
	_, err := ctl.Status()
	return err == nil
}

// controllerFor is the service manager for install and uninstall: the system's, or the
// file-only systemd layout under root.
func (a *app) controllerFor(root, configPath string) (controller, error) {
	if root == "" {
		return a.systemController(configPath, nil, nil)
	}
	exe, err := a.executable()
	if err != nil {
		return nil, err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, usagef("--root %q: %v", root, err)
	}
	return &rootedSystemd{root: absRoot, params: unitParams{
		Description: description,
		Path:        exe,
		Name:        Name,
		Arguments:   []string{"run", "--config", configPath},
	}}, nil
}

// executable is the binary the service runs.
func (a *app) executable() (string, error) {
	if a.opts.Executable != "" {
		return filepath.Abs(a.opts.Executable)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this binary: %w", err)
	}
	return exe, nil
}
