package cli

import (
	"github.com/spf13/cobra"
)

func (c *cli) newStatusCommand() *cobra.Command {
	cmd := nounCommand("status", "Show the cluster's status",
		`  slipway status leader`)
	cmd.AddCommand(&cobra.Command{
		Use:   "leader",
		Short: "Show the current Raft leader",
		Example: `  slipway status leader
  slipway status leader --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.Leader(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l)
			}
			return p.Fields([]field{
				{"ID", l.ID},
				{"Raft Address", l.RaftAddr},
				{"HTTP Address", l.HTTPAddr},
			})
		},
	})
	return cmd
}
