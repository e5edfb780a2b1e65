package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newACLCommand() *cobra.Command {
	cmd := nounCommand("acl", "Bootstrap the cluster's access control",
		`  slipway acl bootstrap
  export SLIPWAY_TOKEN=$(slipway acl bootstrap --output json | jq -r .secret_id)`)
	cmd.AddCommand(c.newACLBootstrapCommand())
	return cmd
}

func (c *cli) newACLBootstrapCommand() *cobra.Command {
	var (
		user          string
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "bootstrap [--user NAME --password-stdin]",
		Short: "Create the cluster's first management token (and first administrator)",
		Long: `Create the cluster's first management token and print its secret.

This works once per cluster and needs no token. The secret is stored only as a hash, so it cannot
be shown again: keep it safe. Use it to create further tokens with 'slipway token create'.

With --user, the same one-time operation also creates that user, with the password read from the
first line of standard input (--password-stdin) or asked for on the terminal, and attaches
AdministratorAccess: the first administrator, who signs in with 'slipway login'.`,
		Example: `  slipway acl bootstrap
  slipway acl bootstrap --output json > bootstrap-token.json
  slipway acl bootstrap --user admin --password-stdin < admin-password.txt`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			password := ""
			if user != "" {
				in := newPrompter(cmd.InOrStdin(), c.stderr)
				if !passwordStdin && !in.terminal() {
					return usagef("standard input is not a terminal to ask the password on: give --password-stdin and the password on standard input")
				}
				pw, err := in.secret("Password for "+user+": ", "password")
				if err != nil {
					return err
				}
				password = pw
			} else if passwordStdin {
				return usagef("--password-stdin is the password of --user: give --user too")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			var tok *api.Token
			if user != "" {
				tok, err = cl.ACLBootstrapAdmin(cmd.Context(), user, password)
			} else {
				tok, err = cl.ACLBootstrap(cmd.Context())
			}
			if err != nil {
				if api.IsConflict(err) {
					return fmt.Errorf("%w; use the management token printed by the first bootstrap, or one made with 'slipway token create'", err)
				}
				return err
			}
			if p.json() {
				return p.JSON(tok)
			}
			_, err = fmt.Fprintf(p.w, `The cluster's first management token:

    Secret ID:    %s
    Accessor ID:  %s

The secret will not be shown again: store it now, then use it with
    export %s=%s
`, tok.SecretID, tok.AccessorID, EnvToken, tok.SecretID)
			if err == nil && user != "" {
				_, err = fmt.Fprintf(p.w, "\nUser %s is the first administrator (AdministratorAccess): sign in with\n    slipway login --user %s\n", user, user)
			}
			if err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "also create this user as the first administrator")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the --user's password from the first line of standard input")
	return cmd
}
