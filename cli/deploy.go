package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newDeployCommand() *cobra.Command {
	cmd := nounCommand("deploy", "Deploy revisions to hosts and follow them",
		`  slipway deploy create --app web --revision REV --host web-1 --watch
  slipway deploy get d-1234
  slipway deploy logs d-1234 --host web-1 --follow`)
	cmd.AddCommand(c.newDeployCreateCommand(), c.newDeployGetCommand(), c.newDeployListCommand(), c.newDeployLogsCommand(),
		c.newDeployStopCommand(), c.newDeployWatchCommand(), c.newDeployRedeployCommand())
	return cmd
}

// deploymentFailed makes a watched deployment that failed exit 1.
type deploymentFailed struct{ id, status string }

func (e *deploymentFailed) Error() string {
	return fmt.Sprintf("deployment %s %s: see slipway deploy get %s and slipway deploy logs", e.id, e.status, e.id)
}
func (e *deploymentFailed) ExitCode() int { return ExitFailure }

func (c *cli) newDeployCreateCommand() *cobra.Command {
	var (
		app, revision, group, config string
		hosts                        []string
		watch, ignoreAS              bool
	)
	cmd := &cobra.Command{
		Use:   "create --app APP --revision REV (--group G [--config C] | --host NAME ...) [--watch]",
		Short: "Deploy a revision to a deployment group or to named hosts",
		Long: `Run a revision on the named hosts: each host's agent runs the AppSpec lifecycle (ApplicationStop of
the last successful revision, DownloadBundle, BeforeInstall, Install, AfterInstall,
ApplicationStart, ValidateService). --revision takes the revision's ID, a unique prefix of it (at
least 4 characters), or latest (the application's newest revision).

With --watch, follow every event and script output live, as slipway deploy watch does: exit 0 if
the deployment succeeds, 1 if it fails or is stopped, 3 if every server was lost for
--reconnect-for (the deployment goes on).`,
		Example: `  slipway deploy create --app web --group prod --revision 7d1c9b8e-... --watch
  slipway deploy create --app web --group prod --revision latest --config HalfAtATime
  slipway deploy create --app web --revision 7d1c9b8e-... --host web-1 --host web-2`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if app == "" || revision == "" || (len(hosts) == 0) == (group == "") {
				return usagef("--app, --revision, and either --group or at least one --host are required")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			return c.startDeployment(cmd.Context(), cl, p, api.DeploymentCreateRequest{App: app, Revision: revision, Hosts: hosts,
				Group: group, Config: config, IgnoreApplicationStopFailures: ignoreAS}, watch, "Created")
		},
	}
	f := cmd.Flags()
	f.StringVar(&app, "app", "", "application (required)")
	f.StringVar(&revision, "revision", "", "revision: its ID, a unique prefix, or latest (required; see slipway revision list)")
	f.StringArrayVar(&hosts, "host", nil, "host name (repeatable)")
	f.StringVar(&group, "group", "", "deployment group to deploy to")
	f.StringVar(&config, "config", "", "deployment configuration for this deployment (default: the group's)")
	f.BoolVar(&watch, "watch", false, "follow the deployment live until it ends")
	addReconnectFlag(cmd, &c.reconnectFor)
	f.BoolVar(&ignoreAS, "ignore-application-stop-failures", false, "go on when the previous revision's ApplicationStop fails")
	return cmd
}

// startDeployment creates the deployment req asks for, then reports it (verb: "Created" or
// "Redeployed as") or, with watch, follows it to its end. A deployment refused at once is
// reported as refused and exits 1.
func (c *cli) startDeployment(ctx context.Context, cl *api.Client, p *printer, req api.DeploymentCreateRequest, watch bool, verb string) error {
	d, err := cl.DeploymentCreate(ctx, req)
	if err != nil {
		return err
	}
	if d.Status == api.DeploymentFailed { // refused at once (too few healthy hosts, no members...)
		if p.json() {
			_ = p.JSON(d)
		} else {
			_ = p.Linef("Deployment %s refused: %s", d.ID, d.Message)
		}
		return &deploymentFailed{id: d.ID, status: d.Status}
	}
	if !watch {
		if p.json() {
			return p.JSON(d)
		}
		return p.Linef("%s deployment %s (follow it: slipway deploy watch %s)", verb, d.ID, d.ID)
	}
	if !p.json() {
		to := strings.Join(req.Hosts, ", ")
		if req.Group != "" {
			to = fmt.Sprintf("group %s (%s, at least %d healthy)", req.Group, d.Config, d.MinHealthy)
		}
		_ = p.Linef("Deployment %s of %s to %s", d.ID, req.App, to)
	}
	return c.watch(ctx, cl, p, d.ID)
}

func (c *cli) newDeployRedeployCommand() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "redeploy ID [--watch]",
		Short: "Deploy a deployment's revision again, to the same group or hosts, with the same configuration",
		Long: `Start a new deployment of the revision a deployment installed, to the same deployment group (with
the configuration it used) or the same hosts. The old deployment is not changed.

With --watch, follow it as slipway deploy watch does.`,
		Example: `  slipway deploy redeploy d-1234
  slipway deploy redeploy d-1234 --watch`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			old, err := cl.DeploymentGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: true})
			if err != nil {
				return err
			}
			req := api.DeploymentCreateRequest{App: old.App, Revision: old.Revision, Group: old.Group}
			if old.Group != "" {
				req.Config = old.Config
			} else {
				for _, t := range old.Targets {
					req.Hosts = append(req.Hosts, t.Host)
				}
			}
			return c.startDeployment(cmd.Context(), cl, p, req, watch, "Redeployed "+old.ID+" as")
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the new deployment live until it ends")
	addReconnectFlag(cmd, &c.reconnectFor)
	return cmd
}

func (c *cli) newDeployGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "get ID",
		Short:   "Show a deployment and each host's lifecycle events",
		Example: `  slipway deploy get d-1234`,
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			d, err := cl.DeploymentGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(d)
			}
			if err := p.Fields([]field{{"ID", d.ID}, {"App", d.App}, {"Revision", d.Revision}, {"Status", d.Status}, {"Created", formatTime(d.CreateTime)}}); err != nil {
				return err
			}
			for _, t := range d.Targets {
				_ = p.Linef("\n%s: %s %s", t.Host, t.Status, t.Message)
				for _, e := range t.Events {
					_ = p.Linef("  %s", eventLine(t.Host, e))
				}
			}
			return nil
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newDeployListCommand() *cobra.Command {
	var app, group, host, status, since string
	var newest bool
	cmd := &cobra.Command{
		Use:     "list [--app APP] [--group G] [--host H] [--status S] [--since 1h|RFC3339] [--newest]",
		Aliases: []string{"ls"},
		Short:   "List deployments, oldest first, optionally filtered",
		Long: `List deployments, oldest first (newest first with --newest). --app, --group, --host (the
deployments that target this host, with the host's own status in each), --status (in_progress,
succeeded, failed, stopped) and --since (a duration back from now, such as 1h or 30m, or a time
such as 2026-01-02T15:04:05Z) keep the deployments that match all given. The server does the
filtering.`,
		Example: `  slipway deploy list --app web
  slipway deploy list --app web --group prod --status failed --since 24h
  slipway deploy list --host web-1 --newest
  slipway deploy list --status in_progress --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := api.DeploymentFilter{App: app, Group: group, Host: host, Status: status, Newest: newest}
			if err := checkDeploymentStatus(status); err != nil {
				return err
			}
			var err error
			if f.Since, err = parseSince(since, time.Now()); err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.DeploymentSearch(cmd.Context(), f, nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Deployments)
			}
			header := []string{"ID", "APP", "GROUP", "REVISION", "STATUS", "HOSTS", "CREATED"}
			if host != "" {
				header[5] = "HOST STATUS"
			}
			rows := [][]string{}
			for _, d := range l.Deployments {
				var hs []string
				for _, t := range d.Targets {
					hs = append(hs, t.Host)
				}
				hosts := strings.Join(hs, ",")
				if host != "" {
					hosts = d.HostStatus
				}
				rows = append(rows, []string{d.ID, d.App, d.Group, d.Revision, d.Status, hosts, formatTime(d.CreateTime)})
			}
			return p.Table(header, rows)
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "only this application's deployments")
	cmd.Flags().StringVar(&group, "group", "", "only deployments to this deployment group")
	cmd.Flags().StringVar(&host, "host", "", "only deployments that target this host (by name), each with the host's own status")
	cmd.Flags().StringVar(&status, "status", "", "only deployments with this status: in_progress, succeeded, failed or stopped")
	cmd.Flags().StringVar(&since, "since", "", "only deployments created since: a duration back from now (1h, 30m) or an RFC 3339 time")
	cmd.Flags().BoolVar(&newest, "newest", false, "list the newest first")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(deploymentStatuses, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// deploymentStatuses are the statuses `deploy list --status` takes.
var deploymentStatuses = []string{api.DeploymentInProgress, api.DeploymentSucceeded, api.DeploymentFailed, api.DeploymentStopped}

func checkDeploymentStatus(status string) error {
	if status == "" || slices.Contains(deploymentStatuses, status) {
		return nil
	}
	return usagef("invalid --status %q: want one of %s", status, strings.Join(deploymentStatuses, ", "))
}

// parseSince reads --since: a positive duration back from now, or an RFC 3339 time; "" is the
// zero time (no bound).
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return time.Time{}, usagef("invalid --since %q: give a positive duration such as 1h", v)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("invalid --since %q: give a duration back from now (1h, 30m) or a time such as 2026-01-02T15:04:05Z", v)
	}
	return t, nil
}

func (c *cli) newDeployLogsCommand() *cobra.Command {
	var host string
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs ID [--host NAME] [--follow]",
		Short: "Print the hook scripts' output of a deployment on a host",
		Example: `  slipway deploy logs d-1234 --host web-1
  slipway deploy logs d-1234 --host web-1 --follow`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.DeploymentLogs(cmd.Context(), args[0], host, 0)
			if err != nil {
				return err
			}
			if follow { // the watch stream sends every line from the start, live
				return cl.DeploymentWatch(cmd.Context(), args[0], func(m api.WatchMessage) error {
					if m.Host != l.Host || len(m.Lines) == 0 {
						return nil
					}
					if p.json() {
						return p.JSON(m)
					}
					printLines(c.stdout, m.Lines)
					return nil
				})
			}
			if p.json() {
				return p.JSON(l)
			}
			printLines(c.stdout, l.Lines)
			if l.Truncated {
				_ = p.Linef("(output past the server's limit was not kept; the host's logs/scripts.log has all of it)")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "host name (needed when the deployment has several)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until the deployment ends")
	return cmd
}

func printLines(w io.Writer, lines []api.LogLine) {
	for _, l := range lines {
		_, _ = fmt.Fprintf(w, "%s %-16s %s [%s] %s\n", l.Time.UTC().Format(time.RFC3339), l.Event, l.Script, l.Stream, l.Text)
	}
}

func (c *cli) newDeployStopCommand() *cobra.Command {
	var rollback bool
	cmd := &cobra.Command{
		Use:   "stop ID [--rollback]",
		Short: "Stop a deployment: hosts not started are skipped, running ones cancelled",
		Long: `Stop a deployment. Hosts not started yet are skipped and keep the health they had. A host
running a lifecycle event is told at once to cancel: its running hook's process group is
terminated (SIGTERM, then SIGKILL after the agent's grace of 10 s), no later event runs, and
the host counts as failed. --rollback then deploys the group's last successful revision.`,
		Example: `  slipway deploy stop d-1234
  slipway deploy stop d-1234 --rollback`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			d, err := cl.DeploymentStop(cmd.Context(), args[0], rollback)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(d)
			}
			if d.RolledBack != "" {
				return p.Linef("Stopped deployment %s; rolling back with %s", d.ID, d.RolledBack)
			}
			return p.Linef("Stopped deployment %s", d.ID)
		},
	}
	cmd.Flags().BoolVar(&rollback, "rollback", false, "then deploy the group's last successful revision again")
	return cmd
}
