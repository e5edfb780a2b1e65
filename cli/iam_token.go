package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newIAMTokenCommand() *cobra.Command {
	cmd := nounCommand("token", "Manage users' personal access tokens",
		`  slipway iam token create --user alice --ttl 720h --output json
  slipway iam token list --user alice
  slipway iam token delete 5f0c9a1e-2d4b-4c1a-9a7e-1f2b3c4d5e6f`)
	cmd.Long = `A personal access token acts as its user (with the user's and their groups' policies) until
it expires or is deleted; --policy narrows it further: a request must be allowed by both. Its
secret is the API bearer token (SLIPWAY_TOKEN) and is shown once, when it is made.`
	cmd.AddCommand(c.newIAMTokenCreateCommand(), c.newIAMTokenListCommand(), c.newIAMTokenDeleteCommand())
	return cmd
}

// userTokenOutput is `iam token create --output json`: the token with its secret in a
// `secret` field (secret_id too, as `token create` prints it).
type userTokenOutput struct {
	*api.Token
	Secret string `json:"secret"`
}

func (c *cli) newIAMTokenCreateCommand() *cobra.Command {
	var (
		user, name, policyFile string
		ttl                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create --user USER [--name NAME] [--ttl DURATION] [--policy FILE]",
		Short: "Make a personal access token of a user and print its secret once",
		Example: `  slipway iam token create --user alice --ttl 720h
  export SLIPWAY_TOKEN=$(slipway iam token create --user alice --name laptop --output json | jq -r .secret)
  slipway iam token create --user ci-bot --policy deploy-shop-only.yaml --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(user) == "" {
				return usagef("--user is required")
			}
			if ttl < 0 {
				return usagef("invalid --ttl %s: must not be negative", ttl)
			}
			req := api.UserTokenCreateRequest{Name: name}
			if ttl > 0 {
				req.TTL = ttl.String()
			}
			if policyFile != "" {
				doc, err := readInput(cmd, "--policy", policyFile)
				if err != nil {
					return err
				}
				req.Policy = doc
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			tok, err := cl.UserTokenCreate(cmd.Context(), user, req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(userTokenOutput{Token: tok, Secret: tok.SecretID})
			}
			if err := p.Fields(tokenFields(tok)); err != nil {
				return err
			}
			return p.Linef("\nThe secret ID will not be shown again: store it now.")
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "the user the token acts as (required)")
	f.StringVar(&name, "name", "", `name of the token (default "USER token")`)
	f.DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 24h or 720h; 0 means the token does not expire")
	f.StringVar(&policyFile, "policy", "", "a policy document (JSON or YAML file, - for stdin) that narrows what the token may do")
	return cmd
}

func (c *cli) newIAMTokenListCommand() *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:     "list --user USER",
		Aliases: []string{"ls"},
		Short:   "List a user's personal tokens and sign-in sessions (secrets are never listed)",
		Example: `  slipway iam token list --user alice`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(user) == "" {
				return usagef("--user is required")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.UserTokenList(cmd.Context(), user)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Tokens)
			}
			rows := make([][]string, 0, len(l.Tokens))
			for _, t := range l.Tokens {
				rows = append(rows, []string{t.AccessorID, t.Name, t.Type, yesNo(t.Scoped), yesNo(t.MFA), formatTime(t.CreateTime), expires(t.ExpirationTime)})
			}
			return p.Table([]string{"ACCESSOR ID", "NAME", "TYPE", "SCOPED", "MFA", "CREATED", "EXPIRES"}, rows)
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "whose tokens (required)")
	return cmd
}

func (c *cli) newIAMTokenDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ACCESSOR",
		Short:   "Delete a token; it stops working at once on every server",
		Example: `  slipway iam token delete 5f0c9a1e-2d4b-4c1a-9a7e-1f2b3c4d5e6f`,
		Args:    exactArgs("ACCESSOR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.TokenRevoke(cmd.Context(), args[0]); err != nil {
				return err
			}
			return p.Linef("Deleted token %s", args[0])
		},
	}
}
