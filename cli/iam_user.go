package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newIAMUserCommand() *cobra.Command {
	cmd := nounCommand("user", "Manage users",
		`  echo "$PASSWORD" | slipway iam user create alice --display-name "Alice Liddell" --email alice@example.com --password-stdin
  slipway iam user list
  slipway iam user get alice
  slipway iam user unlock alice`)
	cmd.AddCommand(c.newIAMUserCreateCommand(), c.newIAMUserListCommand(), c.newIAMUserGetCommand(),
		c.newIAMUserUpdateCommand(), c.newIAMUserDeleteCommand(), c.newIAMUserUnlockCommand(),
		c.newIAMUserSetPasswordCommand())
	return cmd
}

func (c *cli) newIAMUserCreateCommand() *cobra.Command {
	var req api.UserCreateRequest
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "create NAME [--display-name TEXT] [--email ADDRESS] [--password-stdin]",
		Short: "Create a user (with a password read from stdin, or none)",
		Long: `Create a user. With --password-stdin the password is read from the first line of stdin (it is
never taken as an argument, so it stays out of shell history and process lists); without it the
user has no password and signs in only with personal access tokens ('slipway iam token create').`,
		Example: `  slipway iam user create alice
  printf '%s\n' "$PASSWORD" | slipway iam user create bob --email bob@example.com --password-stdin`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if pwStdin {
				pw, err := readPasswordStdin(cmd)
				if err != nil {
					return err
				}
				req.Password = pw
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			u, err := cl.UserCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(u)
			}
			return p.Linef("Created user %q", u.Name)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.DisplayName, "display-name", "", "the user's full name")
	f.StringVar(&req.Email, "email", "", "the user's email address")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

func listUsers(ctx context.Context, cl *api.Client) ([]api.User, error) {
	return allPages(ctx, func(next string) ([]api.User, string, error) {
		l, err := cl.UserList(ctx, &api.QueryOptions{Next: next})
		if err != nil {
			return nil, "", err
		}
		return l.Users, l.Next, nil
	})
}

func (c *cli) newIAMUserListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List users",
		Example: `  slipway iam user list
  slipway iam user list --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			users, err := listUsers(cmd.Context(), cl)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(users)
			}
			rows := make([][]string, 0, len(users))
			for _, u := range users {
				rows = append(rows, []string{u.Name, u.DisplayName, u.Email, yesNo(u.HasPassword), yesNo(u.MFAEnabled), joinNames(u.Groups), joinNames(u.Policies)})
			}
			return p.Table([]string{"NAME", "DISPLAY NAME", "EMAIL", "PASSWORD", "MFA", "GROUPS", "POLICIES"}, rows)
		},
	}
}

func userFields(u *api.User) []field {
	fs := []field{{"Name", u.Name}, {"ID", u.ID}, {"Display Name", u.DisplayName}, {"Email", u.Email},
		{"Password", yesNo(u.HasPassword)}, {"MFA", yesNo(u.MFAEnabled)},
		{"Groups", joinNames(u.Groups)}, {"Policies", joinNames(u.Policies)}}
	if u.LockedUntil != nil {
		fs = append(fs, field{"Locked Until", formatTime(*u.LockedUntil)})
	}
	return append(fs, field{"Created", formatTime(u.CreateTime)}, field{"Modify Index", strconv.FormatUint(u.ModifyIndex, 10)})
}

func (c *cli) newIAMUserGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "get NAME",
		Short:   "Show a user: groups, attached policies, MFA, lock",
		Example: `  slipway iam user get alice --output json`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			u, err := cl.UserGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(u)
			}
			return p.Fields(userFields(u))
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newIAMUserUpdateCommand() *cobra.Command {
	var display, email string
	cmd := &cobra.Command{
		Use:   "update NAME [--display-name TEXT] [--email ADDRESS]",
		Short: "Change a user's display name or email",
		Example: `  slipway iam user update alice --email alice@shop.example
  slipway iam user update alice --display-name ""`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req api.UserUpdateRequest
			if cmd.Flags().Changed("display-name") {
				req.DisplayName = &display
			}
			if cmd.Flags().Changed("email") {
				req.Email = &email
			}
			if req.DisplayName == nil && req.Email == nil {
				return usagef("nothing to change: give --display-name or --email")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			u, err := cl.UserUpdate(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(u)
			}
			return p.Linef("Updated user %q", u.Name)
		},
	}
	cmd.Flags().StringVar(&display, "display-name", "", "new display name (empty clears it)")
	cmd.Flags().StringVar(&email, "email", "", "new email address (empty clears it)")
	return cmd
}

// iamAction is a command NAME... that calls do and says what it did (nothing in json format).
func (c *cli) iamAction(use, short, example string, names []string, do func(ctx context.Context, cl *api.Client, args []string) error, done func(args []string) string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    exactArgs(names...),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := do(cmd.Context(), cl, args); err != nil {
				return err
			}
			return p.Linef("%s", done(args))
		},
	}
}

func (c *cli) newIAMUserDeleteCommand() *cobra.Command {
	return c.iamAction("delete NAME", "Delete a user with their tokens, sessions and SSH keys", `  slipway iam user delete alice`, []string{"NAME"},
		func(ctx context.Context, cl *api.Client, args []string) error { return cl.UserDelete(ctx, args[0]) },
		func(args []string) string { return "Deleted user " + strconv.Quote(args[0]) })
}

func (c *cli) newIAMUserUnlockCommand() *cobra.Command {
	return c.iamAction("unlock NAME", "Lift a user's sign-in lock after failed logins", `  slipway iam user unlock alice`, []string{"NAME"},
		func(ctx context.Context, cl *api.Client, args []string) error { return cl.UserUnlock(ctx, args[0]) },
		func(args []string) string { return "Unlocked user " + strconv.Quote(args[0]) })
}

func (c *cli) newIAMUserSetPasswordCommand() *cobra.Command {
	var pwStdin bool
	cmd := &cobra.Command{
		Use:     "set-password NAME --password-stdin",
		Short:   "Set a user's password (read from stdin); their sign-in sessions end",
		Example: `  printf '%s\n' "$PASSWORD" | slipway iam user set-password alice --password-stdin`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !pwStdin {
				return usagef("--password-stdin is required: the password is read from stdin, never from the command line")
			}
			pw, err := readPasswordStdin(cmd)
			if err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.UserSetPassword(cmd.Context(), args[0], api.PasswordRequest{Password: pw}); err != nil {
				return err
			}
			return p.Linef("Set the password of user %q; their sign-in sessions ended", args[0])
		},
	}
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the new password from stdin (required)")
	return cmd
}
