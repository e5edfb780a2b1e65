package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newIAMGroupCommand() *cobra.Command {
	cmd := nounCommand("group", "Manage groups of users",
		`  slipway iam group create deployers --description "May deploy the shop"
  slipway iam group add-user deployers alice
  slipway iam policy attach shop-deploy --group deployers`)
	cmd.AddCommand(c.newIAMGroupCreateCommand(), c.newIAMGroupListCommand(), c.newIAMGroupGetCommand(),
		c.newIAMGroupDeleteCommand(), c.newIAMGroupAddUserCommand(), c.newIAMGroupRemoveUserCommand())
	return cmd
}

func (c *cli) newIAMGroupCreateCommand() *cobra.Command {
	var req api.IAMGroupCreateRequest
	cmd := &cobra.Command{
		Use:     "create NAME [--description TEXT]",
		Short:   "Create a group",
		Example: `  slipway iam group create deployers --description "May deploy the shop"`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			g, err := cl.IAMGroupCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(g)
			}
			return p.Linef("Created group %q", g.Name)
		},
	}
	cmd.Flags().StringVar(&req.Description, "description", "", "what the group is for")
	return cmd
}

func (c *cli) newIAMGroupListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List groups",
		Example: `  slipway iam group list`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			groups, err := allPages(ctx, func(next string) ([]api.IAMGroup, string, error) {
				l, err := cl.IAMGroupList(ctx, &api.QueryOptions{Next: next})
				if err != nil {
					return nil, "", err
				}
				return l.Groups, l.Next, nil
			})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(groups)
			}
			rows := make([][]string, 0, len(groups))
			for _, g := range groups {
				rows = append(rows, []string{g.Name, g.Description, joinNames(g.Policies), formatTime(g.CreateTime)})
			}
			return p.Table([]string{"NAME", "DESCRIPTION", "POLICIES", "CREATED"}, rows)
		},
	}
}

func (c *cli) newIAMGroupGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "get NAME",
		Short:   "Show a group with its members and policies",
		Example: `  slipway iam group get deployers`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			g, err := cl.IAMGroupGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(g)
			}
			return p.Fields([]field{{"Name", g.Name}, {"Description", g.Description}, {"Members", joinNames(g.Members)},
				{"Policies", joinNames(g.Policies)}, {"Created", formatTime(g.CreateTime)}, {"Modify Index", strconv.FormatUint(g.ModifyIndex, 10)}})
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newIAMGroupDeleteCommand() *cobra.Command {
	return c.iamAction("delete NAME", "Delete a group (its members stay users)", `  slipway iam group delete deployers`, []string{"NAME"},
		func(ctx context.Context, cl *api.Client, args []string) error { return cl.IAMGroupDelete(ctx, args[0]) },
		func(args []string) string { return "Deleted group " + strconv.Quote(args[0]) })
}

func (c *cli) newIAMGroupAddUserCommand() *cobra.Command {
	return c.iamAction("add-user GROUP USER", "Add a user to a group", `  slipway iam group add-user deployers alice`, []string{"GROUP", "USER"},
		func(ctx context.Context, cl *api.Client, args []string) error {
			return cl.IAMGroupAddUser(ctx, args[0], args[1])
		},
		func(args []string) string {
			return "Added user " + strconv.Quote(args[1]) + " to group " + strconv.Quote(args[0])
		})
}

func (c *cli) newIAMGroupRemoveUserCommand() *cobra.Command {
	return c.iamAction("remove-user GROUP USER", "Remove a user from a group", `  slipway iam group remove-user deployers alice`, []string{"GROUP", "USER"},
		func(ctx context.Context, cl *api.Client, args []string) error {
			return cl.IAMGroupRemoveUser(ctx, args[0], args[1])
		},
		func(args []string) string {
			return "Removed user " + strconv.Quote(args[1]) + " from group " + strconv.Quote(args[0])
		})
}
