package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// watchExitHelp is the exit-code contract of the commands that follow a deployment.
const watchExitHelp = `Only the deployment's outcome decides the exit code: 0 it succeeded, 1 it failed or was stopped.
When the server followed goes away, the watch goes on from another server of the cluster (every
address in --addr/SLIPWAY_ADDR, separated by commas, and the servers the cluster lists) where it
was, printing nothing twice. If no server can be reached for --reconnect-for, it exits 3; the
deployment goes on. Ctrl-C stops watching only (exit 130): the deployment keeps running.`

func (c *cli) newDeployWatchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a deployment live until it ends (exit 1 if it fails, 3 if every server is lost)",
		Long:  "Follow a deployment live until it ends: every lifecycle event and script output line.\n\n" + watchExitHelp,
		Example: `  slipway deploy watch d-1234
  slipway deploy watch d-1234 --output json
  SLIPWAY_ADDR=https://10.0.0.1:7400,https://10.0.0.2:7400 slipway deploy watch d-1234 --reconnect-for 5m`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			return c.watch(cmd.Context(), cl, p, args[0])
		},
	}
	addReconnectFlag(cmd, &c.reconnectFor)
	return cmd
}

// addReconnectFlag adds --reconnect-for to a command that follows a deployment.
func addReconnectFlag(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "reconnect-for", time.Minute, "how long to keep trying the cluster's servers after losing the connection before exiting 3")
}

// watchLost makes a watch that lost every server exit ExitServersLost.
type watchLost struct {
	id  string
	err error
}

func (e *watchLost) Error() string {
	return fmt.Sprintf("%v. The deployment goes on in the cluster; when a server is back: slipway deploy watch %s", e.err, e.id)
}
func (e *watchLost) Unwrap() error { return e.err }
func (e *watchLost) ExitCode() int { return ExitServersLost }

// watch follows a deployment: one line per lifecycle change, and the scripts' output; with
// --output json, each message as one JSON object per line. The deployment's outcome decides
// the error: nil when it succeeded, a deploymentFailed otherwise.
func (c *cli) watch(ctx context.Context, cl *api.Client, p *printer, id string) error {
	seen := map[string]bool{}
	var last *api.Deployment
	var table *liveTable
	if !p.json() && isTerminal(c.stdout) {
		table = &liveTable{w: c.stdout}
	}
	err := cl.DeploymentWatch(ctx, id, func(m api.WatchMessage) error {
		if m.Deployment != nil {
			last = m.Deployment
		}
		switch {
		case p.json():
			return jsonLine(c.stdout, m) // one JSON object per line
		case table != nil:
			if m.Deployment != nil {
				table.draw(m.Deployment, time.Now())
			}
			return nil
		}
		for _, l := range m.Lines {
			_, _ = fmt.Fprintf(c.stdout, "  %s | %-16s | %s\n", m.Host, l.Event, l.Text)
		}
		if m.Deployment != nil {
			printNewEvents(c, m.Deployment, seen)
		}
		return nil
	})
	switch {
	case ctx.Err() != nil:
		_, _ = fmt.Fprintf(c.stderr, "Stopped watching. Deployment %s keeps running; watch it again with: slipway deploy watch %s\n", id, id)
		return ctx.Err()
	case errors.Is(err, api.ErrServersLost):
		return &watchLost{id: id, err: err}
	case err != nil:
		return err
	}
	if last == nil || last.EndTime == nil {
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

// printNewEvents prints the lifecycle events of d not printed yet (seen holds those that were).
func printNewEvents(c *cli, d *api.Deployment, seen map[string]bool) {
	for _, t := range d.Targets {
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
