package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// `slipway pipeline start|stop|retry|rollback|history|execution`: a pipeline's executions.

// parsePairs turns repeated KEY=VALUE flags into a map, refusing a flag without "=", an empty
// key and a key given twice; nil when none was given.
func parsePairs(flag string, values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(values))
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok || k == "":
			return nil, usagef("--%s %q: write NAME=VALUE", flag, v)
		case hasKey(out, k):
			return nil, usagef("--%s %s is given twice", flag, k)
		}
		out[k] = val
	}
	return out, nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// requireFlags refuses a command line missing any of the named string flags.
func requireFlags(flags ...[2]string) error {
	for _, f := range flags {
		if strings.TrimSpace(f[1]) == "" {
			return usagef("--%s is required", f[0])
		}
	}
	return nil
}

func (c *cli) newPipelineStartCommand() *cobra.Command {
	var (
		vars, revisions []string
		watch           bool
	)
	cmd := &cobra.Command{
		Use:   "start NAME [--var NAME=VALUE]... [--source-revision ACTION=REV]... [--watch]",
		Short: "Start an execution of a pipeline by hand",
		Long: `Starts an execution of the pipeline's current version and prints its ID. --var overrides a
pipeline variable's default (a name the pipeline does not declare is refused); --source-revision
pins a source action to a commit, branch or tag (the other source actions take their branch's
head).

With --watch it then draws the execution's stages and actions as they change (as pipeline watch
--execution does) and exits 0 when the execution ends Succeeded, 1 when it ends otherwise. Ctrl-C
stops watching only: the execution goes on.`,
		Example: `  slipway pipeline start web
  slipway pipeline start web --var STAGE=prod --var REGION=eu --watch
  slipway pipeline start web --source-revision Source=release-1.4 --output json`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.PipelineStartRequest{}
			var err error
			if req.Variables, err = parsePairs("var", vars); err != nil {
				return err
			}
			if req.SourceRevisions, err = parsePairs("source-revision", revisions); err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.PipelineStart(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if !watch {
				if p.json() {
					return p.JSON(e)
				}
				return p.Linef("Started execution %s of pipeline %s (version %d)", e.ID, args[0], e.Version)
			}
			if !p.json() {
				_ = p.Linef("Started execution %s of pipeline %s (version %d); watching it", e.ID, args[0], e.Version)
			}
			return c.watchPipeline(cmd.Context(), cl, p, args[0], e.ID)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&vars, "var", nil, "NAME=VALUE overriding a pipeline variable's default (repeatable)")
	f.StringArrayVar(&revisions, "source-revision", nil, "ACTION=REV: the commit, branch or tag a source action runs (repeatable)")
	f.BoolVar(&watch, "watch", false, "draw the execution until it ends; exit 1 unless it Succeeded")
	addReconnectFlag(cmd, &c.reconnectFor)
	return cmd
}

func (c *cli) newPipelineStopCommand() *cobra.Command {
	var (
		execution, reason string
		abandon           bool
	)
	cmd := &cobra.Command{
		Use:   "stop NAME --execution ID [--abandon] [--reason R]",
		Short: "Stop an execution",
		Long: `Stops the execution. By default its running actions finish and nothing more starts: it is
Stopping, then Stopped. With --abandon its running actions end Abandoned at once and their work
(builds, deployments) is stopped. An execution waiting to enter a stage ends Stopped at once.`,
		Example: `  slipway pipeline stop web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c
  slipway pipeline stop web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --abandon --reason "wrong commit"`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags([2]string{"execution", execution}); err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.PipelineStop(cmd.Context(), args[0], execution, api.PipelineStopRequest{Abandon: abandon, Reason: reason})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(e)
			}
			return p.Linef("Execution %s of pipeline %s: %s", e.ID, args[0], e.Status)
		},
	}
	f := cmd.Flags()
	f.StringVar(&execution, "execution", "", "the execution's ID (required)")
	f.BoolVar(&abandon, "abandon", false, "end the running actions at once and stop their work")
	f.StringVar(&reason, "reason", "", "why, kept with the execution")
	return cmd
}

func (c *cli) newPipelineRetryCommand() *cobra.Command {
	var (
		execution, stage string
		all              bool
	)
	cmd := &cobra.Command{
		Use:   "retry NAME --execution ID --stage S [--all-actions]",
		Short: "Retry a failed stage of a failed execution",
		Long: `Retries the failed stage of a failed execution: the execution is InProgress again and the stage
runs its actions that did not succeed (from the lowest run order that has one), or, with
--all-actions, every action. The stage is entered as any other entry: it waits when busy with
another execution or when its inbound transition is disabled.`,
		Example: `  slipway pipeline retry web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --stage Build
  slipway pipeline retry web --execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --stage Build --all-actions`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags([2]string{"execution", execution}, [2]string{"stage", stage}); err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			req := api.PipelineRetryRequest{Execution: execution, Stage: stage, RetryMode: api.RetryFailedActions}
			if all {
				req.RetryMode = api.RetryAllActions
			}
			e, err := cl.PipelineRetry(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(e)
			}
			return p.Linef("Retrying stage %s of execution %s (%s): %s", stage, e.ID, req.RetryMode, e.Status)
		},
	}
	f := cmd.Flags()
	f.StringVar(&execution, "execution", "", "the failed execution's ID (required)")
	f.StringVar(&stage, "stage", "", "the failed stage (required)")
	f.BoolVar(&all, "all-actions", false, "run every action of the stage again, not only those that did not succeed")
	return cmd
}

func (c *cli) newPipelineRollbackCommand() *cobra.Command {
	var stage, target string
	cmd := &cobra.Command{
		Use:   "rollback NAME --stage S [--target-execution ID]",
		Short: "Run a stage again with the artifacts of an earlier execution",
		Long: `Starts a rollback execution that runs only the stage, with the artifacts, variables and source
revisions of the newest other execution in which the stage succeeded, or of --target-execution.
It prints the new execution's ID.`,
		Example: `  slipway pipeline rollback web --stage Deploy
  slipway pipeline rollback web --stage Deploy --target-execution 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags([2]string{"stage", stage}); err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.PipelineRollback(cmd.Context(), args[0], api.PipelineRollbackRequest{Stage: stage, TargetExecution: target})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(e)
			}
			return p.Linef("Started rollback execution %s of stage %s to execution %s", e.ID, stage, cell(e.RollbackOf))
		},
	}
	f := cmd.Flags()
	f.StringVar(&stage, "stage", "", "the stage to roll back (required)")
	f.StringVar(&target, "target-execution", "", "the execution whose artifacts the stage runs (default: the newest other one in which it succeeded)")
	return cmd
}

func (c *cli) newPipelineHistoryCommand() *cobra.Command {
	var (
		consistent bool
		limit      int
	)
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List a pipeline's executions, newest first",
		Long: `Lists the pipeline's executions, newest first (the cluster keeps the 100 newest that ended, and
every one in progress): each one's ID, status, trigger, version, and its stages' statuses.
--output json prints the executions as the API has them, with every stage and action.
--limit N shows the N newest only.`,
		Example: `  slipway pipeline history web
  slipway pipeline history web --limit 5 --output json`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usagef("--limit %d: give a positive number (0: all)", limit)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			items, err := pipelineHistory(cmd, cl, args[0], limit, consistent)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(items)
			}
			rows := make([][]string, 0, len(items))
			for _, e := range items {
				ended := "-"
				if e.EndTime != nil {
					ended = formatTime(*e.EndTime)
				}
				rows = append(rows, []string{e.ID, statusOrDash(e.Status), cell(triggerText(e.Trigger)), strconv.Itoa(e.Version),
					formatTime(e.StartTime), ended, cell(stagesSummary(e))})
			}
			return p.Table([]string{"EXECUTION", "STATUS", "TRIGGER", "VERSION", "STARTED", "ENDED", "STAGES"}, rows)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "show only this many of the newest executions (0: all)")
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newPipelineExecutionCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "execution NAME ID",
		Short: "Show one execution: its stages and actions, external IDs, errors and variables",
		Long: `Shows one execution of the pipeline: its status, trigger, variables and source revisions, then a
row per action with its stage, status, attempt, external ID (a build's or deployment's ID) and
its error or summary, then the actions' output variables and the approvals waiting for an answer.
--output json prints the execution as the API has it.`,
		Example: `  slipway pipeline execution web 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c
  slipway pipeline execution web 3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c --output json`,
		Args:              exactArgs("NAME", "ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.PipelineExecutionGet(cmd.Context(), args[0], args[1], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(e)
			}
			return printExecution(p, e)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

// pipelineHistory reads a pipeline's executions page by page, newest first: every one, or the
// limit newest.
func pipelineHistory(cmd *cobra.Command, cl *api.Client, name string, limit int, consistent bool) ([]api.PipelineExecution, error) {
	items := []api.PipelineExecution{}
	seen := map[string]bool{}
	next := ""
	for {
		l, err := cl.PipelineHistory(cmd.Context(), name, &api.QueryOptions{Consistent: consistent, Next: next, Limit: limit})
		if err != nil {
			return nil, err
		}
		items = append(items, l.Executions...)
		switch {
		case limit > 0 && len(items) >= limit:
			return items[:limit], nil
		case l.Next == "":
			return items, nil
		case seen[l.Next]:
			return nil, fmt.Errorf("history: the server returned page token %q twice", l.Next)
		}
		seen[l.Next] = true
		next = l.Next
	}
}
