package cli

import "github.com/spf13/cobra"

// newIAMCmd is the identity and access noun: `slipway iam ...`. Its sub-commands are added by
// the files that own them (iam_report.go: report active-users).
func (c *cli) newIAMCmd() *cobra.Command {
	cmd := nounCommand("iam", "Identity and access: reports over who uses the cluster",
		`  slipway iam report active-users --month 2026-11`)
	c.addIAMReport(cmd)
	return cmd
}
