package cli

import (
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
	cmd.AddCommand(c.newGroupPutCommand(true), c.newGroupPutCommand(false), c.newGroupListCommand(), c.newGroupGetCommand(), c.newGroupDeleteCommand())
	return cmd
}

func (c *cli) newGroupPutCommand(create bool) *cobra.Command {
	var (
		app, config, rollback string
		tags, hosts           []string
	)
	verb, short := "update", "Change a deployment group's members and settings"
	if create {
		verb, short = "create", "Create a deployment group"
	}
	cmd := &cobra.Command{
		Use:   verb + " --app APP NAME [--tag key=value ...] [--host NAME ...] [--config NAME] [--auto-rollback on-failure|on-stop|off]",
		Short: short,
		Example: `  slipway group ` + verb + ` --app web prod --tag env=prod --config HalfAtATime
  slipway group ` + verb + ` --app web canary --host web-1 --auto-rollback on-failure`,
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
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			req := api.GroupRequest{Name: args[0], Tags: t, Hosts: hosts, Config: config, AutoRollback: rollback}
			var g *api.Group
			if create {
				g, err = cl.GroupCreate(cmd.Context(), app, req)
			} else {
				g, err = cl.GroupUpdate(cmd.Context(), app, req)
			}
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(g)
			}
			return p.Linef("Group %q of %q: %d member(s), config %s, auto-rollback %s", g.Name, g.App, len(g.Members), g.Config, g.AutoRollback)
		},
	}
	f := cmd.Flags()
	requireAppFlag(cmd, &app, "application")
	f.StringArrayVar(&tags, "tag", nil, "key=value a member host must carry (repeatable; all must match)")
	f.StringArrayVar(&hosts, "host", nil, "host name that is a member (repeatable)")
	f.StringVar(&config, "config", "", "deployment configuration (default OneAtATime)")
	f.StringVar(&rollback, "auto-rollback", "", "on-failure, on-stop or off (default off)")
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
				{"Config", g.Config}, {"Auto-rollback", g.AutoRollback}, {"Current revision", g.CurrentRevision}, {"Active deployment", g.ActiveDeployment}}); err != nil {
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
  slipway config list`)
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
				rows = append(rows, []string{dc.Name, dc.Kind, v})
			}
			return p.Table([]string{"NAME", "KIND", "VALUE"}, rows)
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}
