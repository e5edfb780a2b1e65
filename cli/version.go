package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/version"
)

// versionInfo is the json output of `slipway version`.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func currentVersion() versionInfo {
	return versionInfo{
		Version:   version.Version,
		Commit:    version.Commit(),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// versionString is the one-line form, also used by --version.
func versionString() string {
	v := currentVersion()
	return fmt.Sprintf("%s (commit %s, %s, %s)", v.Version, v.Commit, v.GoVersion, v.Platform)
}

func (c *cli) newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this slipway binary",
		Example: `  slipway version
  slipway version --output json`,
		Args: exactArgs(),
		RunE: func(*cobra.Command, []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(currentVersion())
			}
			return p.Linef("slipway %s", versionString())
		},
	}
}
