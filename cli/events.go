package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newEventsCommand() *cobra.Command {
	var kinds []string
	var resource string
	return withFlags(&cobra.Command{
		Use:   "events [--kind KIND ...] [--resource ID]",
		Short: "Stream committed changes live (from any server) until interrupted",
		Long: `Stream every change committed to the cluster: one line per change with its log index, kind
(app, revision, host, group, deployment, ...), operation and resource. --output json prints one
JSON object per line.`,
		Example: `  slipway events
  slipway events --kind deployment --kind host
  slipway events --resource d-1234 --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			err = cl.Events(cmd.Context(), kinds, resource, func(e api.Event) error {
				if p.json() {
					return jsonLine(c.stdout, e)
				}
				_, err := fmt.Fprintf(c.stdout, "%s  %-8d %-12s %-10s %s\n", formatTime(e.Time), e.Index, e.Kind, e.Op, e.Resource)
				return err
			})
			if cmd.Context().Err() != nil {
				return nil //nolint:nilerr // interrupted by the user: the stream ends normally
			}
			return err
		},
	}, func(cmd *cobra.Command) {
		cmd.Flags().StringArrayVar(&kinds, "kind", nil, "only changes of this kind (repeatable)")
		cmd.Flags().StringVar(&resource, "resource", "", "only changes of this resource")
	})
}

func withFlags(cmd *cobra.Command, add func(*cobra.Command)) *cobra.Command {
	add(cmd)
	return cmd
}
