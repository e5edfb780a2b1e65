package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newGroupCommand() *cobra.Command {
	cmd := nounCommand("group", "Manage deployment groups",
		`  slipway group create --app web prod --tag env=prod --config HalfAtATime --auto-rollback on-failure
  slipway group list --app web
  slipway group get --app web prod`)
	cmd.Long = `A deployment group is an app's set of hosts deployed together: the hosts carrying all of its tags
and the hosts it names. Members are fixed when a deployment starts.`
	cmd.AddCommand(c.newGroupCreateCommand(), c.newGroupUpdateCommand(), c.newGroupListCommand(), c.newGroupGetCommand(), c.newGroupDeleteCommand(),
		c.newGroupTriggerCommand())
	return cmd
}

func (c *cli) newGroupCreateCommand() *cobra.Command {
	var (
		app, config, rollback string
		tags, hosts           []string
		health                healthCheckFlags
	)
	cmd := &cobra.Command{
		Use:   "create --app APP NAME [--tag key=value ...] [--host NAME ...] [--config NAME] [--auto-rollback on-failure|on-stop|off]",
		Short: "Create a deployment group",
		Example: `  slipway group create --app web prod --tag env=prod --config HalfAtATime
  slipway group create --app web canary --host web-1 --auto-rollback on-failure
  slipway group create --app web prod --tag env=prod --auto-rollback on-failure --health-check-url http://127.0.0.1/health`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := parseTags(tags)
			if err != nil {
				return err
			}
			if err := checkAutoRollback(rollback); err != nil {
				return err
			}
			if len(t) == 0 && len(hosts) == 0 {
				return usagef("give --tag key=value or --host NAME (or both): a deployment group finds its members by tags and names")
			}
			hc, err := health.request(cmd, nil)
			if err != nil {
				return err
			}
			if hc != nil && hc.URL == "" {
				hc = nil
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			g, err := cl.GroupCreate(cmd.Context(), app, api.GroupRequest{Name: args[0], Tags: t, Hosts: hosts, Config: config, AutoRollback: rollback, HealthCheck: hc})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(g)
			}
			line := fmt.Sprintf("Group %q of %q: %d member(s), config %s, auto-rollback %s", g.Name, g.App, len(g.Members), g.Config, g.AutoRollback)
			if g.HealthCheck != nil {
				line += ", health check " + formatHealthCheck(g.HealthCheck)
			}
			return p.Linef("%s", line)
		},
	}
	f := cmd.Flags()
	requireAppFlag(cmd, &app, "application")
	f.StringArrayVar(&tags, "tag", nil, "key=value a member host must carry (repeatable; all must match)")
	f.StringArrayVar(&hosts, "host", nil, "host name that is a member (repeatable)")
	f.StringVar(&config, "config", "", "deployment configuration, e.g. HalfAtATime or CodeDeployDefault.HalfAtATime (default OneAtATime)")
	f.StringVar(&rollback, "auto-rollback", "", "on-failure, on-stop or off (default off); on-failure also rolls back when the health check fails")
	health.add(cmd)
	return cmd
}

// checkAutoRollback reports an --auto-rollback value the server would refuse as a usage error;
// empty means the server's default (off).
func checkAutoRollback(v string) error {
	switch v {
	case "", api.RollbackOff, api.RollbackOnFailure, api.RollbackOnStop:
		return nil
	}
	return usagef("invalid --auto-rollback %q: want %s, %s or %s", v, api.RollbackOnFailure, api.RollbackOnStop, api.RollbackOff)
}

// newGroupUpdateCommand changes only the settings given, as CodeDeploy's UpdateDeploymentGroup:
// --tag replaces all tag filters and --host all host names; an empty --tag or --host clears them.
func (c *cli) newGroupUpdateCommand() *cobra.Command {
	var (
		app, config, rollback string
		tags, hosts           []string
		health                healthCheckFlags
	)
	cmd := &cobra.Command{
		Use:   "update --app APP NAME [--tag key=value ... | --tag ''] [--host NAME ... | --host ''] [--config NAME] [--auto-rollback on-failure|on-stop|off]",
		Short: "Change a deployment group's members and settings; what is not given stays",
		Long: `Changes only what is given. --tag replaces all of the group's tag filters and --host all of its
host names; --tag '' clears the tag filters and --host '' the host names (a group keeps at least one
of them). --health-check-* flags change the health check's settings they name (--health-check-url ''
removes the check). Prints what changed.`,
		Example: `  slipway group update --app web prod --host web-3
  slipway group update --app web prod --tag env=prod --host '' --config CodeDeployDefault.HalfAtATime
  slipway group update --app web prod --health-check-url http://127.0.0.1/health --health-check-attempts 5`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			var req api.GroupUpdateRequest
			if fl.Changed("tag") {
				t, err := parseTags(nonEmpty(tags))
				if err != nil {
					return err
				}
				if t == nil {
					t = map[string]string{}
				}
				req.Tags = &t
			}
			if fl.Changed("host") {
				h := nonEmpty(hosts)
				if h == nil {
					h = []string{}
				}
				req.Hosts = &h
			}
			if fl.Changed("config") {
				req.Config = &config
			}
			if fl.Changed("auto-rollback") {
				if err := checkAutoRollback(rollback); err != nil {
					return err
				}
				req.AutoRollback = &rollback
			}
			healthGiven := slices.ContainsFunc(healthCheckFlagNames, fl.Changed)
			if req == (api.GroupUpdateRequest{}) && !healthGiven {
				return usagef("nothing to update: give --tag, --host, --config, --auto-rollback or --health-check-*")
			}
			if _, err := health.request(cmd, &api.GroupHealthCheck{URL: "http://placeholder"}); err != nil {
				return err // a bad value is a usage error before any request
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			old, err := cl.GroupGet(cmd.Context(), app, args[0], nil)
			if err != nil {
				return err
			}
			if req.HealthCheck, err = health.request(cmd, old.HealthCheck); err != nil {
				return err
			}
			g, err := cl.GroupUpdate(cmd.Context(), app, args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(g)
			}
			return p.Linef("%s", groupChanges(old, g))
		},
	}
	f := cmd.Flags()
	requireAppFlag(cmd, &app, "application")
	f.StringArrayVar(&tags, "tag", nil, "key=value a member host must carry (repeatable; replaces all tag filters; '' clears them)")
	f.StringArrayVar(&hosts, "host", nil, "host name that is a member (repeatable; replaces all host names; '' clears them)")
	f.StringVar(&config, "config", "", "deployment configuration, e.g. HalfAtATime or CodeDeployDefault.HalfAtATime")
	f.StringVar(&rollback, "auto-rollback", "", "on-failure, on-stop or off; on-failure also rolls back when the health check fails")
	health.add(cmd)
	return cmd
}

// nonEmpty drops empty values: an empty --tag or --host stands for "none".
func nonEmpty(values []string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// groupChanges says what an update changed of a group, old to now, and what it kept, e.g.
// "Updated group web: hosts [dev-3] (was [dev-1]); tags, config and auto-rollback unchanged".
func groupChanges(old, now *api.Group) string {
	var changed, same []string
	diff := func(name, was, is string) {
		if was == is {
			same = append(same, name)
			return
		}
		changed = append(changed, fmt.Sprintf("%s %s (was %s)", name, is, was))
	}
	diff("hosts", "["+strings.Join(old.Hosts, " ")+"]", "["+strings.Join(now.Hosts, " ")+"]")
	diff("tags", "["+formatTags(old.Tags)+"]", "["+formatTags(now.Tags)+"]")
	diff("config", old.Config, now.Config)
	diff("auto-rollback", old.AutoRollback, now.AutoRollback)
	if was, is := formatHealthCheck(old.HealthCheck), formatHealthCheck(now.HealthCheck); was != is {
		changed = append(changed, fmt.Sprintf("health check %s (was %s)", is, was))
	}
	out := "Updated group " + now.Name
	if len(changed) == 0 {
		return out + ": nothing changed"
	}
	out += ": " + strings.Join(changed, "; ")
	switch len(same) {
	case 0:
	case 1:
		out += "; " + same[0] + " unchanged"
	default:
		out += "; " + strings.Join(same[:len(same)-1], ", ") + " and " + same[len(same)-1] + " unchanged"
	}
	return out
}

func (c *cli) newGroupListCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "list --app APP",
		Aliases: []string{"ls"},
		Short:   "List an application's deployment groups",
		Example: `  slipway group list --app web`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.GroupList(cmd.Context(), app, nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Groups)
			}
			rows := [][]string{}
			for _, g := range l.Groups {
				rows = append(rows, []string{g.Name, strconv.Itoa(len(g.Members)), g.Config, g.AutoRollback, g.CurrentRevision, g.ActiveDeployment})
			}
			return p.Table([]string{"NAME", "MEMBERS", "CONFIG", "AUTO-ROLLBACK", "CURRENT REVISION", "ACTIVE DEPLOYMENT"}, rows)
		},
	}
	requireAppFlag(cmd, &app, "application")
	return cmd
}

func (c *cli) newGroupGetCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "get --app APP NAME",
		Short:   "Show a deployment group, its members' health and revisions",
		Example: `  slipway group get --app web prod`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			g, err := cl.GroupGet(cmd.Context(), app, args[0], nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(g)
			}
			if err := p.Fields([]field{{"Name", g.Name}, {"App", g.App}, {"Tags", formatTags(g.Tags)}, {"Hosts", strings.Join(g.Hosts, ",")},
				{"Config", g.Config}, {"Auto-rollback", g.AutoRollback}, {"Health check", formatHealthCheck(g.HealthCheck)},
				{"Triggers", formatTriggers(g.Triggers)}, {"Current revision", g.CurrentRevision}, {"Active deployment", g.ActiveDeployment}}); err != nil {
				return err
			}
			rows := [][]string{}
			for _, m := range g.Members {
				rows = append(rows, []string{m.Host, m.Health, m.Revision})
			}
			_ = p.Linef("")
			return p.Table([]string{"MEMBER", "HEALTH", "REVISION"}, rows)
		},
	}
	requireAppFlag(cmd, &app, "application")
	return cmd
}

func (c *cli) newGroupDeleteCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "delete --app APP NAME",
		Short:   "Delete a deployment group",
		Example: `  slipway group delete --app web canary`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.GroupDelete(cmd.Context(), app, args[0]); err != nil {
				return err
			}
			if p.json() {
				return nil
			}
			return p.Linef("Deleted group %q of %q", args[0], app)
		},
	}
	requireAppFlag(cmd, &app, "application")
	return cmd
}

func (c *cli) newConfigCommand() *cobra.Command {
	cmd := nounCommand("config", "Manage deployment configurations (minimum healthy hosts)",
		`  slipway config create two-left --min-healthy-hosts 2
  slipway config create most --min-healthy-percent 75
  slipway config list
  slipway config get CodeDeployDefault.HalfAtATime
  slipway config delete two-left`)
	cmd.Long = `A deployment configuration is how many hosts must stay healthy during a deployment. The built-in
ones answer to their short names and to the names AWS CodeDeploy gives them: OneAtATime
(CodeDeployDefault.OneAtATime), HalfAtATime (CodeDeployDefault.HalfAtATime) and AllAtOnce
(CodeDeployDefault.AllAtOnce). Groups and deployments store the short name.`
	var hosts, percent int
	create := &cobra.Command{
		Use:   "create NAME --min-healthy-hosts N | --min-healthy-percent P",
		Short: "Create a custom deployment configuration",
		Example: `  slipway config create two-left --min-healthy-hosts 2
  slipway config create most --min-healthy-percent 75`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			hSet, pSet := cmd.Flags().Changed("min-healthy-hosts"), cmd.Flags().Changed("min-healthy-percent")
			if hSet == pSet {
				return usagef("give exactly one of --min-healthy-hosts and --min-healthy-percent")
			}
			if hSet && hosts < 0 {
				return usagef("invalid --min-healthy-hosts %d: give 0 or more", hosts)
			}
			if pSet && (percent < 0 || percent > 99) {
				return usagef("invalid --min-healthy-percent %d: give 0 to 99", percent)
			}
			req := api.DeploymentConfig{Name: args[0], Kind: "HOST_COUNT", Value: hosts}
			if pSet {
				req.Kind, req.Value = "FLEET_PERCENT", percent
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			dc, err := cl.ConfigCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(dc)
			}
			return p.Linef("Created deployment config %q (%s %d)", dc.Name, dc.Kind, dc.Value)
		},
	}
	create.Flags().IntVar(&hosts, "min-healthy-hosts", 0, "hosts that must stay healthy (HOST_COUNT)")
	create.Flags().IntVar(&percent, "min-healthy-percent", 0, "percent of hosts that must stay healthy, 0-99, rounded up (FLEET_PERCENT)")
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List deployment configurations",
		Example: `  slipway config list`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.ConfigList(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Configs)
			}
			rows := [][]string{}
			for _, dc := range l.Configs {
				v := strconv.Itoa(dc.Value)
				if dc.Builtin {
					v = "built-in"
				}
				rows = append(rows, []string{dc.Name, dc.AWSName, dc.Kind, v})
			}
			return p.Table([]string{"NAME", "AWS NAME", "KIND", "VALUE"}, rows)
		},
	}
	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a deployment configuration and the groups that use it",
		Example: `  slipway config get two-left
  slipway config get CodeDeployDefault.OneAtATime`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			dc, err := cl.ConfigGet(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(dc)
			}
			v := strconv.Itoa(dc.Value)
			if dc.Builtin {
				v += " (built-in)"
			}
			fields := []field{{"Name", dc.Name}}
			if dc.AWSName != "" {
				fields = append(fields, field{"AWS name", dc.AWSName})
			}
			return p.Fields(append(fields, field{"Kind", dc.Kind}, field{"Value", v}, field{"Used by", strings.Join(dc.UsedBy, ", ")}))
		},
	}
	del := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a custom deployment configuration that no group uses",
		Example: `  slipway config delete two-left`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.ConfigDelete(cmd.Context(), args[0]); err != nil {
				return err
			}
			if p.json() {
				return nil
			}
			return p.Linef("Deleted deployment config %q", args[0])
		},
	}
	cmd.AddCommand(create, list, get, del)
	return cmd
}
