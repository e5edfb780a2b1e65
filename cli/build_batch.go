package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// Batch builds: `slipway build start --batch` and `slipway build batch get|list|stop`.

// remoteBatchFailed makes a watched batch that did not succeed exit ExitFailure.
type remoteBatchFailed struct{ id, status string }

func (e *remoteBatchFailed) Error() string {
	return fmt.Sprintf("build batch %s %s: see slipway build batch get %s", e.id, e.status, e.id)
}
func (e *remoteBatchFailed) ExitCode() int { return ExitFailure }

// startBatch starts a batch build of req's project and prints its ID; with watch it waits for
// the batch to end, printing each build's status as it changes.
func (c *cli) startBatch(ctx context.Context, cl *api.Client, p *printer, req api.BuildBatchStartRequest, watch bool) error {
	bt, err := cl.BuildBatchStart(ctx, req)
	if err != nil {
		return err
	}
	if !watch {
		if p.json() {
			return p.JSON(bt)
		}
		return p.Linef("%s", bt.ID)
	}
	if !p.json() {
		_ = p.Linef("Build batch %s started with %d builds; watching it", bt.ID, len(bt.Builds))
	}
	seen := map[string]string{}
	for {
		for _, g := range bt.Builds {
			if g.Status != seen[g.Identifier] && !p.json() {
				_ = p.Linef("%s %s %s", g.Identifier, g.BuildID, g.Status)
			}
			seen[g.Identifier] = g.Status
		}
		if bt.Status != api.BuildInProgress {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if bt, err = cl.BuildBatchGet(ctx, bt.ID, nil); err != nil {
			return err
		}
	}
	if p.json() {
		if err := p.JSON(bt); err != nil {
			return err
		}
	} else {
		_ = p.Linef("Build batch %s %s", bt.ID, bt.Status)
	}
	if bt.Status != api.BuildSucceeded {
		return &remoteBatchFailed{id: bt.ID, status: bt.Status}
	}
	return nil
}

func (c *cli) newBuildBatchCommand() *cobra.Command {
	cmd := nounCommand("batch", "Show, list and stop batch builds",
		`  slipway build start web --batch
  slipway build batch list --project web
  slipway build batch get web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a
  slipway build batch stop web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a`)
	cmd.AddCommand(c.newBuildBatchGetCommand(), c.newBuildBatchListCommand(), c.newBuildBatchStopCommand())
	return cmd
}

func (c *cli) newBuildBatchGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a batch build and its builds",
		Long: `Shows the batch build: its status, kind, commit, and each of its builds with its identifier, build
ID, dependencies and status ("-" while it has not ended).`,
		Example: `  slipway build batch get web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a
  slipway build batch get web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --output json`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			bt, err := cl.BuildBatchGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(bt)
			}
			fields := []field{{"ID", bt.ID}, {"Status", bt.Status}, {"Kind", bt.Kind}, {"Commit", cell(bt.ResolvedSourceVersion)},
				{"Initiator", bt.Initiator}, {"Started", formatTime(bt.StartTime)}}
			if bt.EndTime != nil {
				fields = append(fields, field{"Ended", formatTime(*bt.EndTime)})
			}
			if bt.FastFail {
				fields = append(fields, field{"Fast fail", "true"})
			}
			if bt.StopRequested {
				fields = append(fields, field{"Stop requested", "true"})
			}
			if err := p.Fields(fields); err != nil {
				return err
			}
			if err := p.Linef(""); err != nil {
				return err
			}
			return p.Table([]string{"IDENTIFIER", "BUILD", "DEPENDS ON", "STATUS"}, batchRows(bt))
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func batchRows(bt *api.BuildBatch) [][]string {
	rows := make([][]string, 0, len(bt.Builds))
	for _, g := range bt.Builds {
		rows = append(rows, []string{g.Identifier, g.BuildID, cell(strings.Join(g.DependsOn, ",")), cell(g.Status)})
	}
	return rows
}

func (c *cli) newBuildBatchListCommand() *cobra.Command {
	var (
		project    string
		limit      int
		consistent bool
	)
	cmd := &cobra.Command{
		Use:   "list [--project PROJECT]",
		Short: "List batch builds, newest first",
		Long: `Lists the newest batch builds of the cluster, or of --project, newest first: at most --limit
(default 100, at most 1000).`,
		Example: `  slipway build batch list
  slipway build batch list --project web --output json`,
		Args:              exactArgs(),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return usagef("--limit %d is not 1-1000", limit)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			q := &api.QueryOptions{Consistent: consistent, Limit: limit}
			var l *api.BuildBatchList
			if project != "" {
				l, err = cl.BuildBatchListForProject(cmd.Context(), project, q)
			} else {
				l, err = cl.BuildBatchList(cmd.Context(), q)
			}
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Batches)
			}
			rows := make([][]string, 0, len(l.Batches))
			for _, bt := range l.Batches {
				rows = append(rows, []string{bt.ID, bt.Status, bt.Kind, fmt.Sprint(len(bt.Builds)), shortCommit(bt.ResolvedSourceVersion), formatTime(bt.StartTime), bt.Initiator})
			}
			return p.Table([]string{"ID", "STATUS", "KIND", "BUILDS", "COMMIT", "STARTED", "INITIATOR"}, rows)
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "only this project's batch builds")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many batch builds (1-1000)")
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newBuildBatchStopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop ID",
		Short: "Stop a batch build and its builds",
		Long: `Stops the batch build: its queued builds (and those waiting for others) are STOPPED at once, its
builds in progress are marked for their workers to stop; the batch ends STOPPED once they all
ended. A batch that already ended is left as it is.`,
		Example:           `  slipway build batch stop web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			bt, err := cl.BuildBatchStop(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(bt)
			}
			return p.Linef("Build batch %s: %s", bt.ID, bt.Status)
		},
	}
}
