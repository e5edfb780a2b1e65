package cli

import (
	"context"
	"fmt"
	"io"
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
		c.newDeployStopCommand(), c.newDeployWatchCommand())
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
ApplicationStart, ValidateService). With --watch, follow every event and script output live and
exit 1 if the deployment fails.`,
		Example: `  slipway deploy create --app web --group prod --revision 7d1c9b8e-... --watch
  slipway deploy create --app web --group prod --revision 7d1c9b8e-... --config HalfAtATime
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
			d, err := cl.DeploymentCreate(cmd.Context(), api.DeploymentCreateRequest{App: app, Revision: revision, Hosts: hosts,
				Group: group, Config: config, IgnoreApplicationStopFailures: ignoreAS})
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
				return p.Linef("Created deployment %s (follow it: slipway deploy get %s)", d.ID, d.ID)
			}
			if !p.json() {
				to := strings.Join(hosts, ", ")
				if group != "" {
					to = fmt.Sprintf("group %s (%s, at least %d healthy)", group, d.Config, d.MinHealthy)
				}
				_ = p.Linef("Deployment %s of %s to %s", d.ID, app, to)
			}
			return c.watch(cmd.Context(), cl, p, d.ID)
		},
	}
	f := cmd.Flags()
	f.StringVar(&app, "app", "", "application (required)")
	f.StringVar(&revision, "revision", "", "revision ID (required; see slipway revision list)")
	f.StringArrayVar(&hosts, "host", nil, "host name (repeatable)")
	f.StringVar(&group, "group", "", "deployment group to deploy to")
	f.StringVar(&config, "config", "", "deployment configuration for this deployment (default: the group's)")
	f.BoolVar(&watch, "watch", false, "follow the deployment live until it ends")
	f.BoolVar(&ignoreAS, "ignore-application-stop-failures", false, "go on when the previous revision's ApplicationStop fails")
	return cmd
}

// watch follows a deployment: one line per lifecycle change, and the scripts' output.
func (c *cli) watch(ctx context.Context, cl *api.Client, p *printer, id string) error {
	seen := map[string]bool{}
	var last *api.Deployment
	var table *liveTable
	if !p.json() && isTerminal(c.stdout) {
		table = &liveTable{w: c.stdout}
	}
	err := cl.DeploymentWatch(ctx, id, func(m api.WatchMessage) error {
		if p.json() {
			return jsonLine(c.stdout, m) // one JSON object per line
		}
		if table != nil {
			if m.Deployment != nil {
				last = m.Deployment
				table.draw(m.Deployment, time.Now())
			}
			return nil
		}
		for _, l := range m.Lines {
			_, _ = fmt.Fprintf(c.stdout, "  %s | %-16s | %s\n", m.Host, l.Event, l.Text)
		}
		if m.Deployment != nil {
			last = m.Deployment
			for _, t := range m.Deployment.Targets {
				// An event's final status is printed after its scripts' results.
				var held []api.LifecycleEvent
				flush := func() {
					for _, h := range held {
						_, _ = fmt.Fprintln(c.stdout, eventLine(t.Host, h))
					}
					held = held[:0]
				}
				for _, e := range t.Events {
					key := t.Host + "/" + e.Name + "/" + e.Script + "/" + e.Status
					if seen[key] {
						continue
					}
					seen[key] = true
					switch {
					case e.Script == "" && e.Status != "started":
						held = append(held, e)
					case e.Script != "":
						_, _ = fmt.Fprintln(c.stdout, eventLine(t.Host, e))
					default:
						flush()
						_, _ = fmt.Fprintln(c.stdout, eventLine(t.Host, e))
					}
				}
				flush()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if last == nil {
		if last, err = cl.DeploymentGet(ctx, id, nil); err != nil {
			return err
		}
	}
	if !p.json() {
		msg := ""
		if last.Message != "" {
			msg = ": " + last.Message
		}
		_ = p.Linef("Deployment %s %s%s", id, last.Status, msg)
		if last.RolledBack != "" {
			_ = p.Linef("Rolling back with deployment %s (slipway deploy watch %s)", last.RolledBack, last.RolledBack)
		}
	}
	if last.Status != api.DeploymentSucceeded {
		return &deploymentFailed{id: id, status: last.Status}
	}
	return nil
}

func eventLine(host string, e api.LifecycleEvent) string {
	s := fmt.Sprintf("%s  %-16s %s", host, e.Name, e.Status)
	if e.Script != "" {
		s = fmt.Sprintf("%s  %-16s %s: %s", host, e.Name, e.Script, e.Result)
		if e.ExitCode != 0 {
			s += fmt.Sprintf(" (exit %d)", e.ExitCode)
		}
	}
	if e.Message != "" {
		s += " — " + e.Message
	}
	return s
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
	var app string
	cmd := &cobra.Command{
		Use:     "list [--app APP]",
		Aliases: []string{"ls"},
		Short:   "List deployments",
		Example: `  slipway deploy list --app web`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.DeploymentList(cmd.Context(), app)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Deployments)
			}
			rows := [][]string{}
			for _, d := range l.Deployments {
				var hs []string
				for _, t := range d.Targets {
					hs = append(hs, t.Host)
				}
				rows = append(rows, []string{d.ID, d.App, d.Revision, d.Status, strings.Join(hs, ","), formatTime(d.CreateTime)})
			}
			return p.Table([]string{"ID", "APP", "REVISION", "STATUS", "HOSTS", "CREATED"}, rows)
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "only this application's deployments")
	return cmd
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

func (c *cli) newDeployWatchCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a deployment live until it ends (exit 1 if it fails)",
		Example: `  slipway deploy watch d-1234
  slipway deploy watch d-1234 --output json`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			return c.watch(cmd.Context(), cl, p, args[0])
		},
	}
}
