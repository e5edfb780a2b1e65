package service

import (
	"errors"
	"fmt"

	kservice "github.com/kardianos/service"
	"github.com/spf13/cobra"
)

// controlCommand is start or stop: one call to the service manager.
func (a *app) controlCommand(name, short string, do func(controller) error) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctl, err := a.systemController(DefaultConfigPath(goos), nil, nil)
			if err != nil {
				return err
			}
			if err := do(ctl); err != nil {
				return fmt.Errorf("%s %s (%s): %w", name, Name, ctl, err)
			}
			_, _ = fmt.Fprintf(a.opts.Stdout, "%s: %s\n", Name, map[string]string{"start": "started", "stop": "stopped"}[name])
			return nil
		},
	}
}

func (a *app) statusCommand() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print whether the service is running",
		Long: `status prints one of: running, stopped, not installed. It exits 0 when the service is
running and 1 otherwise.`,
		Args: noArgs,
	}
	cmd.Flags().StringVar(&root, "root", "", "report on the installation under this folder (see install --root)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctl, err := a.controllerFor(root, DefaultConfigPath(goos))
		if err != nil {
			return err
		}
		st, err := ctl.Status()
		var state string
		switch {
		case errors.Is(err, kservice.ErrNotInstalled):
			state = "not installed"
		case err != nil:
			return fmt.Errorf("status (%s): %w", ctl, err)
		case st == kservice.StatusRunning:
			state = "running"
		case st == kservice.StatusStopped:
			state = "stopped"
		default:
			state = "unknown"
		}
		_, _ = fmt.Fprintf(a.opts.Stdout, "%s: %s\n", Name, state)
		if st != kservice.StatusRunning {
			return &exitError{code: ExitFailure}
		}
		return nil
	}
	return cmd
}
