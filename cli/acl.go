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
	return &cobra.Command{
		Use:   "bootstrap",
		Short: "Create the cluster's first management token",
		Long: `Create the cluster's first management token and print its secret.

This works once per cluster and needs no token. The secret is stored only as a hash, so it cannot
be shown again: keep it safe. Use it to create further tokens with 'slipway token create'.`,
		Example: `  slipway acl bootstrap
  slipway acl bootstrap --output json > bootstrap-token.json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			tok, err := cl.ACLBootstrap(cmd.Context())
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
			if err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		},
	}
}
