package cli

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// The verbs of `slipway build` that talk to a cluster (`build local` needs none).

func (c *cli) newBuildStartCommand() *cobra.Command {
	var (
		version                string
		env, secretEnv         []string
		timeout, queuedTimeout time.Duration
		watch, batch           bool
	)
	cmd := &cobra.Command{
		Use:   "start PROJECT [--batch] [--source-version REF] [--env K=V] [--watch]",
		Short: "Start a build of a project",
		Long: `Starts a build of the project and prints its ID (PROJECT:UUID). The build takes --source-version
(a branch, tag or commit ID; default the project's), resolved to a commit now, and the project's
settings; --env and --secret-env add variables or replace the project's of the same name, and
--timeout and --queued-timeout override the project's for this build.

The build is QUEUED until a worker (an agent with the build capability) takes it. With --watch
it then follows the build's log as 'slipway build logs --follow' does, and exits 0 when the
build SUCCEEDED, 1 otherwise.

With --batch it starts a batch build instead (CodeBuild's StartBuildBatch): the builds of the
batch key of the project's buildspec, read at the resolved commit (docs/BUILDS.md "Batch
builds"), and prints the batch's ID; --watch then prints each build's status as it changes and
exits 0 when the batch SUCCEEDED, 1 otherwise. --timeout and --queued-timeout do not apply.`,
		Example: `  slipway build start web
  slipway build start web --watch
  slipway build start web --batch --watch
  slipway build start web --source-version v1.4.0 --env STAGE=release
  slipway build start web --source-version 3f2c1e9d0b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d --output json`,
		Args:              exactArgs("PROJECT"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			vars, err := parseVariables(env, secretEnv)
			if err != nil {
				return err
			}
			if batch {
				if cmd.Flags().Changed("timeout") || cmd.Flags().Changed("queued-timeout") {
					return usagef("--timeout and --queued-timeout do not apply to --batch")
				}
				cl, p, err := c.setup()
				if err != nil {
					return err
				}
				return c.startBatch(cmd.Context(), cl, p, api.BuildBatchStartRequest{Project: args[0], SourceVersion: version, EnvironmentVariablesOverride: vars}, watch)
			}
			req := api.BuildStartRequest{Project: args[0], SourceVersion: version, EnvironmentVariablesOverride: vars}
			if cmd.Flags().Changed("timeout") {
				if req.TimeoutMinutesOverride, err = minutes("timeout", timeout); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("queued-timeout") {
				if req.QueuedTimeoutMinutesOverride, err = minutes("queued-timeout", queuedTimeout); err != nil {
					return err
				}
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			b, err := cl.BuildStart(cmd.Context(), req)
			if err != nil {
				return err
			}
			if watch {
				if !p.json() {
					_ = p.Linef("Build %s (#%d) started; following its log", b.ID, b.BuildNumber)
				}
				return c.followBuild(cmd.Context(), cl, p, b.ID, 0)
			}
			if p.json() {
				return p.JSON(b)
			}
			return p.Linef("%s", b.ID)
		},
	}
	cmd.Flags().BoolVar(&batch, "batch", false, "start a batch build of the buildspec's batch key")
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the build's log until it ends; exit 1 unless it SUCCEEDED")
	addReconnectFlag(cmd, &c.reconnectFor)
	cmd.Flags().StringVar(&version, "source-version", "", "the branch, tag or commit ID to build (default: the project's)")
	cmd.Flags().StringArrayVar(&env, "env", nil, "NAME=VALUE, a variable for this build; repeat for more")
	cmd.Flags().StringArrayVar(&secretEnv, "secret-env", nil, "NAME=SECRET, a variable read from secret SECRET; repeat for more")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "how long this build may run, 5m to 36h (default: the project's)")
	cmd.Flags().DurationVar(&queuedTimeout, "queued-timeout", 0, "how long this build may wait in the queue, 5m to 8h (default: the project's)")
	return cmd
}

func (c *cli) newBuildListCommand() *cobra.Command {
	var (
		project    string
		limit      int
		consistent bool
	)
	cmd := &cobra.Command{
		Use:   "list [--project PROJECT]",
		Short: "List builds, newest first",
		Long: `Lists the newest builds of the cluster, or of --project, newest first: at most --limit (default
100, at most 1000).`,
		Example: `  slipway build list
  slipway build list --project web --limit 10 --output json`,
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
			var l *api.BuildList
			if project != "" {
				l, err = cl.BuildListForProject(cmd.Context(), project, q)
			} else {
				l, err = cl.BuildList(cmd.Context(), q)
			}
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Builds)
			}
			rows := make([][]string, 0, len(l.Builds))
			for _, b := range l.Builds {
				rows = append(rows, []string{b.ID, strconv.FormatUint(b.BuildNumber, 10), b.Status, b.CurrentPhase, shortCommit(b.ResolvedSourceVersion), formatTime(b.StartTime), b.Initiator})
			}
			return p.Table([]string{"ID", "NUMBER", "STATUS", "PHASE", "COMMIT", "STARTED", "INITIATOR"}, rows)
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "only this project's builds")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many builds (1-1000)")
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return cell(c)
}

func (c *cli) newBuildGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a build: its status, phases, source and environment",
		Long: `Shows the build: status, phases with their status and duration, the source version asked and the
commit it resolved to, the environment, artifacts, exported variables, report counts and the log's
size. With --output json it prints the build record: "status", "phases", "artifacts",
"exported_variables" and "reports" are always there (empty until the build ends).`,
		Example: `  slipway build get web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a
  slipway build get web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --output json`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			b, err := cl.BuildGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(b)
			}
			version := b.SourceVersion
			if version == "" {
				version = "(the project's)"
			}
			fields := []field{
				{"ID", b.ID}, {"Number", strconv.FormatUint(b.BuildNumber, 10)}, {"Status", b.Status}, {"Phase", b.CurrentPhase},
				{"Source version", version}, {"Commit", cell(b.ResolvedSourceVersion)}, {"Initiator", b.Initiator},
				{"Image", cell(b.Environment.Image)}, {"Variables", cell(variablesText(b.Environment.Variables))},
				{"Timeout", (time.Duration(b.TimeoutMinutes) * time.Minute).String()}, {"Started", formatTime(b.StartTime)},
			}
			if b.EndTime != nil {
				fields = append(fields, field{"Ended", formatTime(*b.EndTime)})
			}
			if b.StopRequested {
				fields = append(fields, field{"Stop requested", "true"})
			}
			if b.BuildBatchID != "" {
				fields = append(fields, field{"Batch", b.BuildBatchID + " (" + b.BatchIdentifier + ")"})
			}
			for _, a := range b.Artifacts {
				fields = append(fields, field{"Artifact", fmt.Sprintf("%s %s (%d bytes)", cell(a.Name), a.Blob, a.Size)})
			}
			for _, k := range sortedKeys(b.ExportedVariables) {
				fields = append(fields, field{"Exported", k + "=" + b.ExportedVariables[k]})
			}
			for _, r := range b.Reports {
				counts := ""
				for _, k := range sortedCounts(r.Counts) {
					counts += fmt.Sprintf(" %s=%d", k, r.Counts[k])
				}
				fields = append(fields, field{"Report", fmt.Sprintf("%s %s, %d cases:%s", r.Name, r.Status, r.Total, counts)})
			}
			if b.LogLines > 0 {
				logText := fmt.Sprintf("%d lines (slipway build logs %s)", b.LogLines, b.ID)
				if b.LogTruncated {
					logText += ", truncated"
				}
				fields = append(fields, field{"Log", logText})
			}
			if err := p.Fields(fields); err != nil {
				return err
			}
			rows := make([][]string, 0, len(b.Phases))
			for _, ph := range b.Phases {
				d := "-"
				if ph.EndTime != nil {
					d = (time.Duration(ph.DurationMS) * time.Millisecond).String()
				}
				rows = append(rows, []string{ph.Name, cell(ph.Status), d, cell(ph.Message)})
			}
			if err := p.Linef(""); err != nil {
				return err
			}
			return p.Table([]string{"PHASE", "STATUS", "DURATION", "MESSAGE"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (c *cli) newBuildStopCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stop ID",
		Short: "Stop a build",
		Long: `Stops the build: a queued build is STOPPED at once; a build in progress is marked for its worker
to stop; a build that already ended is left as it is.`,
		Example:           `  slipway build stop web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			b, err := cl.BuildStop(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(b)
			}
			if b.Status == api.BuildInProgress {
				return p.Linef("Asked the worker to stop build %s", b.ID)
			}
			return p.Linef("Build %s is %s", b.ID, b.Status)
		},
	}
}
