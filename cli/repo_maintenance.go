package cli

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) newRepoMaintenanceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "maintenance NAME",
		Short: "Repack a repository's copy on the server that answers, now",
		Long: `Repacks the answering server's bare copy of the repository now, as every server does in the
background once a copy has more than 50 packs (one per push): the packs are merged so reads
stay fast, and refs are packed. Reads and pushes go on meanwhile. Objects no ref reaches are
kept for two weeks (a push in flight is never touched); once a day per copy the repack is full
and drops those older. Needs a management token.`,
		Example:           "  slipway repo maintenance web",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			res, err := cl.RepoMaintain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(res)
			}
			return p.Fields([]field{
				{"Packs Before", strconv.Itoa(res.PacksBefore)},
				{"Packs After", strconv.Itoa(res.PacksAfter)},
				{"Full Repack", strconv.FormatBool(res.Full)},
				{"Duration", (time.Duration(res.DurationMS) * time.Millisecond).String()},
			})
		},
	}
}
