package cli

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newIAMRoleCommand() *cobra.Command {
	cmd := nounCommand("role", "Manage roles that trusted principals assume for temporary credentials",
		`  slipway iam role create deployer --trust group/deployers --policy CodeDeployFullAccess --require-mfa --max-session 1h
  slipway iam role list
  slipway iam role get deployer`)
	cmd.Long = `A role has a trust list (who may assume it: user/NAME, group/NAME, token/ACCESSOR or role/NAME,
with * and ? globs) and permission policies. Assuming it gives temporary credentials that act
with the role's policies only, for at most its maximum session.`
	cmd.AddCommand(c.newIAMRoleCreateCommand(), c.newIAMRoleListCommand(), c.newIAMRoleGetCommand(), c.newIAMRoleDeleteCommand())
	return cmd
}

func (c *cli) newIAMRoleCreateCommand() *cobra.Command {
	var (
		req        api.RoleCreateRequest
		maxSession time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create NAME --trust PRINCIPAL [--trust ...] [--policy P ...] [--require-mfa] [--max-session DURATION]",
		Short: "Create a role",
		Example: `  slipway iam role create deployer --trust user/alice --trust group/ci --policy CodeDeployFullAccess
  slipway iam role create breakglass --trust group/admins --policy AdministratorAccess --require-mfa --max-session 15m`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if len(req.Trust) == 0 {
				return usagef("--trust is required: who may assume the role (user/NAME, group/NAME, token/ACCESSOR or role/NAME)")
			}
			if maxSession < 0 {
				return usagef("invalid --max-session %s: must not be negative", maxSession)
			}
			if maxSession > 0 {
				req.MaxSession = maxSession.String()
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			r, err := cl.RoleCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(r)
			}
			return p.Linef("Created role %q", r.Name)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&req.Trust, "trust", nil, "a principal that may assume the role: user/NAME, group/NAME, token/ACCESSOR or role/NAME (repeatable; required)")
	f.StringArrayVar(&req.Policies, "policy", nil, "a policy the role acts with (repeatable)")
	f.BoolVar(&req.RequireMFA, "require-mfa", false, "only a caller signed in with MFA may assume it")
	f.DurationVar(&maxSession, "max-session", 0, "longest session, from 15m to 12h (default 1h)")
	f.StringVar(&req.Description, "description", "", "what the role is for")
	return cmd
}

func (c *cli) newIAMRoleListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List roles",
		Example: `  slipway iam role list`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			roles, err := allPages(ctx, func(next string) ([]api.Role, string, error) {
				l, err := cl.RoleList(ctx, &api.QueryOptions{Next: next})
				if err != nil {
					return nil, "", err
				}
				return l.Roles, l.Next, nil
			})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(roles)
			}
			rows := make([][]string, 0, len(roles))
			for _, r := range roles {
				rows = append(rows, []string{r.Name, joinNames(r.Trust), joinNames(r.Policies), yesNo(r.RequireMFA), r.MaxSession})
			}
			return p.Table([]string{"NAME", "TRUST", "POLICIES", "MFA", "MAX SESSION"}, rows)
		},
	}
}

func (c *cli) newIAMRoleGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "get NAME",
		Short:   "Show a role",
		Example: `  slipway iam role get deployer --output json`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			r, err := cl.RoleGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(r)
			}
			return p.Fields([]field{{"Name", r.Name}, {"Description", r.Description}, {"Trust", joinNames(r.Trust)},
				{"Policies", joinNames(r.Policies)}, {"Require MFA", yesNo(r.RequireMFA)}, {"Max Session", r.MaxSession},
				{"Created", formatTime(r.CreateTime)}, {"Modify Index", strconv.FormatUint(r.ModifyIndex, 10)}})
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newIAMRoleDeleteCommand() *cobra.Command {
	return c.iamAction("delete NAME", "Delete a role and end its sessions", `  slipway iam role delete deployer`, []string{"NAME"},
		func(ctx context.Context, cl *api.Client, args []string) error { return cl.RoleDelete(ctx, args[0]) },
		func(args []string) string { return "Deleted role " + strconv.Quote(args[0]) })
}
