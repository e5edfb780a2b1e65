package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/buildspec"
)

func (c *cli) newBuildSpecCommand() *cobra.Command {
	cmd := nounCommand("buildspec", "Check CodeBuild buildspec files (buildspec.yml) before building them",
		`  slipway buildspec validate buildspec.yml
  slipway buildspec validate ci/buildspec-release.yml --output json`)
	cmd.AddCommand(c.newBuildSpecValidateCommand())
	return cmd
}

// buildSpecReport is the JSON output of `slipway buildspec validate`.
type buildSpecReport struct {
	Path        string                `json:"path"`
	Valid       bool                  `json:"valid"`
	Diagnostics buildspec.Diagnostics `json:"diagnostics"`
}

// invalidBuildSpec makes a command exit 1 after the diagnostics were printed.
type invalidBuildSpec struct{ errors int }

func (e *invalidBuildSpec) Error() string {
	return fmt.Sprintf("the buildspec has %d error(s); fix them and validate again", e.errors)
}
func (e *invalidBuildSpec) ExitCode() int { return ExitFailure }

// readBuildSpec reads and loads a buildspec file, refusing what is not a
// regular file or is larger than the parser's bound before reading it.
func readBuildSpec(path string) (*buildspec.Spec, buildspec.Diagnostics, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a file; give the path of a buildspec.yml", path)
	}
	if st.Size() > buildspec.MaxFileSize {
		return nil, nil, fmt.Errorf("%s is %d bytes, more than the %d (1 MiB) a buildspec may have", path, st.Size(), buildspec.MaxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	s, diags := buildspec.Load(path, data)
	return s, diags, nil
}

// printBuildSpecDiagnostics prints diagnostics as text (or nothing in JSON
// mode, where they belong to the command's report).
func (c *cli) printBuildSpecDiagnostics(p *printer, diags buildspec.Diagnostics) error {
	if p.json() || len(diags) == 0 {
		return nil
	}
	_, err := fmt.Fprint(c.stdout, diags.String())
	return err
}

func (c *cli) newBuildSpecValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Validate a buildspec file",
		Long: `Validate a buildspec file the way a build reads it (docs/BUILDSPEC.md): version, env, phases,
artifacts, reports, cache and batch. Each problem is printed as path:line:col: message; warnings
(unknown keys with a did-you-mean, values CodeBuild lets through) say "warning:" and do not make
the file invalid.

Exit code 0 means valid (warnings may be printed), 1 invalid, 2 a wrong command line.`,
		Example: `  slipway buildspec validate buildspec.yml
  slipway buildspec validate ci/buildspec-release.yml --output json`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			path := args[0]
			_, diags, err := readBuildSpec(path)
			if err != nil {
				return err
			}
			errs := len(diags.Errors())
			if p.json() {
				if diags == nil {
					diags = buildspec.Diagnostics{}
				}
				if err := p.JSON(buildSpecReport{Path: path, Valid: errs == 0, Diagnostics: diags}); err != nil {
					return err
				}
			} else {
				if err := c.printBuildSpecDiagnostics(p, diags); err != nil {
					return err
				}
				if errs == 0 {
					if err := p.Linef("%s is valid", path); err != nil {
						return err
					}
				}
			}
			if errs > 0 {
				return &invalidBuildSpec{errors: errs}
			}
			return nil
		},
	}
}
