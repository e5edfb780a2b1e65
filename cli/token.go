package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newTokenCommand() *cobra.Command {
	cmd := nounCommand("token", "Manage API tokens",
		`  slipway token create --name ci --ttl 720h
  slipway token list
  slipway token self
  slipway token revoke 5f0c9a1e-2d4b-4c1a-9a7e-1f2b3c4d5e6f`)
	cmd.Long = `Tokens authenticate every API call. A token has a public accessor ID, used to look it up and
revoke it, and a secret, sent as the bearer token. The cluster stores only a hash of the secret,
so the secret is shown once, when the token is created.`
	cmd.AddCommand(c.newTokenCreateCommand(), c.newTokenListCommand(), c.newTokenGetCommand(),
		c.newTokenSelfCommand(), c.newTokenRevokeCommand())
	return cmd
}

func (c *cli) newTokenCreateCommand() *cobra.Command {
	var (
		name, typ string
		ttl       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME [--ttl DURATION] [--type client|management]",
		Short: "Create a token and print its secret once",
		Example: `  slipway token create --name ci
  slipway token create --name laptop --ttl 24h
  slipway token create --name ops --type management --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return usagef("--name is required")
			}
			typ = strings.ToLower(strings.TrimSpace(typ))
			if typ != api.TokenTypeClient && typ != api.TokenTypeManagement {
				return usagef("invalid --type %q: want %s or %s", typ, api.TokenTypeClient, api.TokenTypeManagement)
			}
			if ttl < 0 {
				return usagef("invalid --ttl %s: must not be negative", ttl)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			tok, err := cl.TokenCreate(cmd.Context(), name, typ, ttl)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(tok)
			}
			if err := p.Fields(tokenFields(tok)); err != nil {
				return err
			}
			return p.Linef("\nThe secret ID will not be shown again: store it now.")
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "name of the token, e.g. who or what uses it (required)")
	f.DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 24h or 720h; 0 means the token does not expire")
	f.StringVar(&typ, "type", api.TokenTypeClient, "token type: client or management")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(
		[]cobra.Completion{api.TokenTypeClient, api.TokenTypeManagement}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("name", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("ttl", cobra.NoFileCompletions)
	return cmd
}

func (c *cli) newTokenListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List tokens (secrets are never listed)",
		Example: `  slipway token list
  slipway token list --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			toks, err := listTokens(cmd.Context(), cl, consistent)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(toks)
			}
			rows := make([][]string, 0, len(toks))
			for _, t := range toks {
				rows = append(rows, []string{t.AccessorID, t.Name, t.Type, formatTime(t.CreateTime), expires(t.ExpirationTime)})
			}
			return p.Table([]string{"ACCESSOR ID", "NAME", "TYPE", "CREATED", "EXPIRES"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newTokenGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:               "get ACCESSOR",
		Short:             "Show a token by accessor ID",
		Example:           `  slipway token get 5f0c9a1e-2d4b-4c1a-9a7e-1f2b3c4d5e6f`,
		Args:              exactArgs("ACCESSOR"),
		ValidArgsFunction: c.completeTokens,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			tok, err := cl.TokenGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			return printToken(p, tok)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newTokenSelfCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "self",
		Short: "Show the token this command authenticates with",
		Example: `  slipway token self
  SLIPWAY_TOKEN=... slipway token self --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			tok, err := cl.TokenSelf(cmd.Context())
			if err != nil {
				return err
			}
			return printToken(p, tok)
		},
	}
}

func (c *cli) newTokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "revoke ACCESSOR",
		Short:             "Revoke a token; it stops working at once on every server",
		Example:           `  slipway token revoke 5f0c9a1e-2d4b-4c1a-9a7e-1f2b3c4d5e6f`,
		Args:              exactArgs("ACCESSOR"),
		ValidArgsFunction: c.completeTokens,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.TokenRevoke(cmd.Context(), args[0]); err != nil {
				return err
			}
			return p.Linef("Revoked token %s", args[0])
		},
	}
}

func printToken(p *printer, tok *api.Token) error {
	if p.json() {
		return p.JSON(tok)
	}
	return p.Fields(tokenFields(tok))
}

// tokenFields is the table view of one token; the secret appears only when the answer has it.
func tokenFields(t *api.Token) []field {
	fs := []field{{"Accessor ID", t.AccessorID}}
	if t.SecretID != "" {
		fs = append(fs, field{"Secret ID", t.SecretID})
	}
	fs = append(fs,
		field{"Name", t.Name},
		field{"Type", t.Type},
	)
	if len(t.Policies) > 0 {
		fs = append(fs, field{"Policies", strings.Join(t.Policies, ", ")})
	}
	return append(fs,
		field{"Created", formatTime(t.CreateTime)},
		field{"Expires", expires(t.ExpirationTime)},
	)
}

func expires(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return formatTime(*t)
}

func listTokens(ctx context.Context, cl *api.Client, consistent bool) ([]api.Token, error) {
	return allPages(ctx, func(next string) ([]api.Token, string, error) {
		l, err := cl.TokenList(ctx, &api.QueryOptions{Consistent: consistent, Next: next})
		if err != nil {
			return nil, "", err
		}
		return l.Tokens, l.Next, nil
	})
}

// completeTokens offers accessor IDs, described by the token's name.
func (c *cli) completeTokens(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return c.complete(cmd, func(ctx context.Context, cl *api.Client) ([]cobra.Completion, error) {
		toks, err := listTokens(ctx, cl, false)
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, 0, len(toks))
		for _, t := range toks {
			out = append(out, cobra.CompletionWithDesc(t.AccessorID, t.Name))
		}
		return out, nil
	})
}
