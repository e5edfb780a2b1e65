package cli

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// newGroupTriggerCommand is `slipway group trigger add|list|remove`: a group's webhooks.
func (c *cli) newGroupTriggerCommand() *cobra.Command {
	cmd := nounCommand("trigger", "Manage a deployment group's triggers (webhooks of its deployment and host events)",
		`  slipway group trigger add --app web prod notify --events DeploymentFailure,DeploymentRollback --url https://hooks.example.com/slipway
  slipway group trigger list --app web prod
  slipway group trigger remove --app web prod notify`)
	cmd.Long = `A trigger POSTs a group's deployment and host events to a URL, as CodeDeploy's triggers send them to
an SNS topic: JSON with CodeDeploy's fields (deploymentId, applicationName, deploymentGroupName,
status, eventTriggerName, instanceId, ...), signed with the trigger's secret (HMAC-SHA256 over
"<Slipway-Timestamp>.<body>", in the Slipway-Signature header as sha256=<hex>). Events are
delivered at least once, retried with backoff; the Slipway-Event-Id header tells a repeat.
See docs/TRIGGERS.md for how to verify a request.`
	cmd.AddCommand(c.newTriggerAddCommand(), c.newTriggerListCommand(), c.newTriggerRemoveCommand())
	return cmd
}

func (c *cli) newTriggerAddCommand() *cobra.Command {
	var app, events, target string
	cmd := &cobra.Command{
		Use:   "add --app APP GROUP NAME --events EVENT,... --url URL",
		Short: "Add a trigger to a group and print its secret, shown this once",
		Long: `Adds a trigger taking the events named (comma-separated, or all):
  ` + strings.Join(api.TriggerEvents, ", ") + `
DeploymentReady and InstanceReady belong to blue/green deployments and are never sent for in-place
ones. The secret that signs the requests is printed once: keep it where the receiver can read it.`,
		Example: `  slipway group trigger add --app web prod notify --events all --url https://hooks.example.com/slipway
  slipway group trigger add --app web prod pager --events DeploymentFailure,InstanceFailure --url https://pager.example.com/in`,
		Args: exactArgs("GROUP", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			evs, err := parseTriggerEvents(events)
			if err != nil {
				return err
			}
			if target == "" {
				return usagef("give --url: the http:// or https:// URL the events are POSTed to")
			}
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usagef("invalid --url %q: want an http:// or https:// URL such as https://hooks.example.com/slipway", target)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			tr, err := cl.TriggerAdd(cmd.Context(), app, args[0], api.TriggerRequest{Name: args[1], Events: evs, URL: target})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(tr)
			}
			return p.Linef("Added trigger %q to group %q: %s to %s\nSecret (shown once; it signs every request): %s",
				tr.Name, args[0], strings.Join(tr.Events, ","), tr.URL, tr.Secret)
		},
	}
	requireAppFlag(cmd, &app, "application")
	cmd.Flags().StringVar(&events, "events", "", "events to send, comma-separated, or all (required)")
	cmd.Flags().StringVar(&target, "url", "", "http:// or https:// URL the events are POSTed to (required)")
	return cmd
}

// parseTriggerEvents reads --events: names of api.TriggerEvents, or all.
func parseTriggerEvents(s string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case strings.EqualFold(e, "all"):
			out = append(out, "all")
		case slices.Contains(api.TriggerEvents, e):
			out = append(out, e)
		default:
			hint := ""
			if best := closest(e, api.TriggerEvents); best != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", best)
			}
			return nil, usagef("unknown event %q in --events%s: want %s, or all", e, hint, strings.Join(api.TriggerEvents, ", "))
		}
	}
	if len(out) == 0 {
		return nil, usagef("give --events: a comma-separated list of %s, or all", strings.Join(api.TriggerEvents, ", "))
	}
	return out, nil
}

func (c *cli) newTriggerListCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "list --app APP GROUP",
		Aliases: []string{"ls"},
		Short:   "List a group's triggers and their URLs (never their secrets; needs a management token)",
		Example: `  slipway group trigger list --app web prod`,
		Args:    exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.TriggerList(cmd.Context(), app, args[0], nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Triggers)
			}
			rows := [][]string{}
			for _, t := range l.Triggers {
				rows = append(rows, []string{t.Name, strings.Join(t.Events, ","), t.URL})
			}
			return p.Table([]string{"NAME", "EVENTS", "URL"}, rows)
		},
	}
	requireAppFlag(cmd, &app, "application")
	return cmd
}

func (c *cli) newTriggerRemoveCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "remove --app APP GROUP NAME",
		Aliases: []string{"rm"},
		Short:   "Remove a trigger; its events not yet delivered are dropped",
		Example: `  slipway group trigger remove --app web prod notify`,
		Args:    exactArgs("GROUP", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.TriggerRemove(cmd.Context(), app, args[0], args[1]); err != nil {
				return err
			}
			return p.Linef("Removed trigger %q of group %q", args[1], args[0])
		},
	}
	requireAppFlag(cmd, &app, "application")
	return cmd
}

// formatTriggers shows a group's triggers on one line.
func formatTriggers(ts []api.Trigger) string {
	if len(ts) == 0 {
		return "none"
	}
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s (%s)", t.Name, strings.Join(t.Events, ",")))
	}
	return strings.Join(out, "; ")
}
