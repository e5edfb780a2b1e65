package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/appspec"
)

func (c *cli) newAppSpecCommand() *cobra.Command {
	cmd := nounCommand("appspec", "Check AppSpec files (appspec.yml) before deploying them",
		`  slipway appspec validate
  slipway appspec validate ./build/bundle
  slipway appspec validate appspec.yml --output json`)
	cmd.AddCommand(c.newAppSpecValidateCommand())
	return cmd
}

// appSpecReport is the JSON output of `slipway appspec validate`.
type appSpecReport struct {
	Path        string              `json:"path"`
	Valid       bool                `json:"valid"`
	Diagnostics appspec.Diagnostics `json:"diagnostics"`
}

// invalidSpec makes the command exit 1 after the diagnostics were printed.
type invalidSpec struct{ errors int }

func (e *invalidSpec) Error() string {
	return fmt.Sprintf("the appspec has %d error(s); fix them and validate again", e.errors)
}
func (e *invalidSpec) ExitCode() int { return ExitFailure }

func (c *cli) newAppSpecValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Validate an appspec file or a revision bundle folder",
		Long: `Validate an AppSpec file the way the agent will read it. PATH is an appspec.yml file or a bundle
folder (default "."). For a folder, the spec is found as the agent finds it (appspec.yaml before
appspec.yml, or inside a single top-level folder), and every hook script and files source must
exist in the bundle.

Each problem is printed as path:line:col: message. Exit code 0 means valid (warnings may be
printed), 1 invalid.`,
		Example: `  slipway appspec validate
  slipway appspec validate ./bundle
  slipway appspec validate appspec.yml --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			st, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("cannot read %s: %w", path, err)
			}
			var diags appspec.Diagnostics
			if st.IsDir() {
				_, diags, err = appspec.ValidateBundle(path)
			} else {
				_, diags, err = appspec.ValidateFile(path)
			}
			if err != nil {
				if errors.Is(err, appspec.ErrSpecNotFound) {
					return err
				}
				return fmt.Errorf("validate %s: %w", path, err)
			}
			diags.Sort()
			errs := len(diags.Errors())
			if p.json() {
				if diags == nil {
					diags = appspec.Diagnostics{}
				}
				if err := p.JSON(appSpecReport{Path: path, Valid: errs == 0, Diagnostics: diags}); err != nil {
					return err
				}
			} else {
				if len(diags) > 0 {
					if _, err := fmt.Fprint(c.stdout, diags.String()); err != nil {
						return err
					}
				}
				if errs == 0 {
					if err := p.Linef("%s is valid", path); err != nil {
						return err
					}
				}
			}
			if errs > 0 {
				return &invalidSpec{errors: errs}
			}
			return nil
		},
	}
}
