package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newAppCommand() *cobra.Command {
	cmd := nounCommand("app", "Manage applications",
		`  slipway app create web --description "Public website"
  slipway app list
  slipway app get web
  slipway app update web --description "Public website (EU)" --cas 42
  slipway app delete web`)
	cmd.Long = `An application is the unit that revisions, deployment groups and deployments belong to.
Names are 1-100 characters of letters, digits, '.', '_' and '-'.`
	cmd.AddCommand(c.newAppCreateCommand(), c.newAppListCommand(), c.newAppGetCommand(), c.newAppUpdateCommand(), c.newAppDeleteCommand())
	return cmd
}

func (c *cli) newAppCreateCommand() *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an application",
		Example: `  slipway app create web
  slipway app create billing-api --description "Invoices and payments"`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			app, err := cl.AppCreate(cmd.Context(), api.AppCreateRequest{Name: args[0], Description: description})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(app)
			}
			return p.Linef("Created app %q", app.Name)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the application is")
	return cmd
}

func (c *cli) newAppListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List applications",
		Example: `  slipway app list
  slipway app list --output json --consistent`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			apps, err := listApps(cmd.Context(), cl, consistent)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(apps)
			}
			rows := make([][]string, 0, len(apps))
			for _, a := range apps {
				rows = append(rows, []string{a.Name, a.Description, formatTime(a.CreateTime)})
			}
			return p.Table([]string{"NAME", "DESCRIPTION", "CREATED"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newAppGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an application",
		Example: `  slipway app get web
  slipway app get web --output json`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: c.completeApps,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			app, err := cl.AppGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(app)
			}
			return p.Fields([]field{
				{"Name", app.Name},
				{"Description", app.Description},
				{"Created", formatTime(app.CreateTime)},
				{"Create Index", strconv.FormatUint(app.CreateIndex, 10)},
				{"Modify Index", strconv.FormatUint(app.ModifyIndex, 10)},
			})
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newAppUpdateCommand() *cobra.Command {
	var (
		description string
		cas         uint64
	)
	cmd := &cobra.Command{
		Use:   "update NAME --description TEXT [--cas INDEX]",
		Short: "Change an application's description",
		Long: `Replaces the application's description. With --cas, the change applies only if the
application's modify index is still INDEX (as 'slipway app get' shows it), so two people editing
at once cannot overwrite each other: the second gets a conflict and reads again.`,
		Example: `  slipway app update web --description "Public website (EU)"
  slipway app update web --description "Public website (EU)" --cas 42`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: c.completeApps,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("description") {
				return usagef("--description is required: give the new description (\"\" clears it)")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			app, err := cl.AppUpdate(cmd.Context(), args[0], api.AppUpdateRequest{Description: description}, cas)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(app)
			}
			return p.Linef("Updated app %q (modify index %d)", app.Name, app.ModifyIndex)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "the new description")
	cmd.Flags().Uint64Var(&cas, "cas", 0, "apply only if the app's modify index is still this (0: always)")
	return cmd
}

func (c *cli) newAppDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "delete NAME",
		Aliases:           []string{"rm"},
		Short:             "Delete an application",
		Example:           `  slipway app delete web`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: c.completeApps,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.AppDelete(cmd.Context(), args[0]); err != nil {
				return err
			}
			return p.Linef("Deleted app %q", args[0])
		},
	}
}

func listApps(ctx context.Context, cl *api.Client, consistent bool) ([]api.App, error) {
	return allPages(ctx, func(next string) ([]api.App, string, error) {
		l, err := cl.AppList(ctx, &api.QueryOptions{Consistent: consistent, Next: next})
		if err != nil {
			return nil, "", err
		}
		return l.Apps, l.Next, nil
	})
}

// completeApps offers application names for the NAME argument.
func (c *cli) completeApps(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return c.complete(cmd, func(ctx context.Context, cl *api.Client) ([]cobra.Completion, error) {
		apps, err := listApps(ctx, cl, false)
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, 0, len(apps))
		for _, a := range apps {
			out = append(out, cobra.CompletionWithDesc(a.Name, a.Description))
		}
		return out, nil
	})
}

// complete runs a completion lookup against the cluster with a short deadline and no retries:
// a shell waiting on a tab press must not hang, and a failure just offers nothing.
func (c *cli) complete(cmd *cobra.Command, f func(context.Context, *api.Client) ([]cobra.Completion, error)) ([]cobra.Completion, cobra.ShellCompDirective) {
	cl, err := c.clientWithRetry(-1)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out, err := f(ctx, cl)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func addConsistentFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "consistent", false, "read through the leader (linearizable) instead of from the server's local state")
}
