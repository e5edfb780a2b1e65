package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newIAMPolicyCommand() *cobra.Command {
	cmd := nounCommand("policy", "Manage policies and attach them to users, groups, tokens and roles",
		`  slipway iam policy create shop-read --document shop-read.yaml
  slipway iam policy attach shop-read --user alice
  slipway iam policy get AdministratorAccess`)
	cmd.Long = `A policy is a document (JSON or YAML) of statements, each allowing or denying actions
(codedeploy:CreateDeployment, iam:*, ...) on resources (srn:slipway:codedeploy:app/shop, with *
and ? wildcards), optionally under conditions. An explicit Deny wins, then an Allow; anything
else is denied. Managed policies (AdministratorAccess, ReadOnlyAccess, CodeDeployFullAccess, ...)
are built in; customer policies are made here. A document that does not parse is refused with
the parser's diagnostics (line, path, what to fix).

  Version: slipway-2026-12
  Statement:
    - Sid: ReadShop
      Effect: Allow
      Action: ["codedeploy:Get*", "codedeploy:List*"]
      Resource: ["srn:slipway:codedeploy:app/shop", "srn:slipway:codedeploy:app/shop/*"]`
	cmd.AddCommand(c.newIAMPolicyCreateCommand(), c.newIAMPolicyUpdateCommand(), c.newIAMPolicyListCommand(),
		c.newIAMPolicyGetCommand(), c.newIAMPolicyDeleteCommand(),
		c.newIAMPolicyAttachCommand(true), c.newIAMPolicyAttachCommand(false))
	return cmd
}

func (c *cli) newIAMPolicyCreateCommand() *cobra.Command {
	var document, description string
	cmd := &cobra.Command{
		Use:   "create NAME --document FILE [--description TEXT]",
		Short: "Create a customer policy from a JSON or YAML document",
		Example: `  slipway iam policy create shop-read --document shop-read.yaml --description "Read the shop app"
  cat ci.json | slipway iam policy create ci-deploy --document -`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if document == "" {
				return usagef("--document is required: a JSON or YAML file, or - for stdin")
			}
			doc, err := readInput(cmd, "--document", document)
			if err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			req := api.PolicyPutRequest{Name: args[0], Document: doc}
			if cmd.Flags().Changed("description") {
				req.Description = &description
			}
			pol, err := cl.PolicyCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pol)
			}
			return p.Linef("Created policy %q (version %d)", pol.Name, pol.Version)
		},
	}
	cmd.Flags().StringVar(&document, "document", "", "the policy document: a JSON or YAML file, - for stdin (required)")
	cmd.Flags().StringVar(&description, "description", "", "what the policy is for")
	return cmd
}

func (c *cli) newIAMPolicyUpdateCommand() *cobra.Command {
	var document, description string
	cmd := &cobra.Command{
		Use:     "update NAME --document FILE [--description TEXT]",
		Short:   "Replace a customer policy's document (its version counts up)",
		Example: `  slipway iam policy update shop-read --document shop-read.yaml`,
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if document == "" {
				return usagef("--document is required: a JSON or YAML file, or - for stdin")
			}
			doc, err := readInput(cmd, "--document", document)
			if err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			req := api.PolicyPutRequest{Document: doc}
			if cmd.Flags().Changed("description") {
				req.Description = &description
			}
			pol, err := cl.PolicyUpdate(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pol)
			}
			return p.Linef("Updated policy %q (version %d)", pol.Name, pol.Version)
		},
	}
	cmd.Flags().StringVar(&document, "document", "", "the new document: a JSON or YAML file, - for stdin (required)")
	cmd.Flags().StringVar(&description, "description", "", "a new description")
	return cmd
}

func (c *cli) newIAMPolicyListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List managed and customer policies",
		Example: `  slipway iam policy list`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			pols, err := allPages(ctx, func(next string) ([]api.Policy, string, error) {
				l, err := cl.PolicyList(ctx, &api.QueryOptions{Next: next})
				if err != nil {
					return nil, "", err
				}
				return l.Policies, l.Next, nil
			})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pols)
			}
			rows := make([][]string, 0, len(pols))
			for _, pol := range pols {
				kind, version := "customer", strconv.Itoa(pol.Version)
				if pol.Managed {
					kind, version = "managed", "-"
				}
				rows = append(rows, []string{pol.Name, kind, version, pol.Description})
			}
			return p.Table([]string{"NAME", "TYPE", "VERSION", "DESCRIPTION"}, rows)
		},
	}
}

func (c *cli) newIAMPolicyGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a policy's document",
		Example: `  slipway iam policy get shop-read
  slipway iam policy get ReadOnlyAccess --output json`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pol, err := cl.PolicyGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pol)
			}
			var doc bytes.Buffer
			if err := json.Indent(&doc, pol.Document, "", "  "); err != nil {
				return fmt.Errorf("policy %q: the server sent a document that is not JSON: %w", pol.Name, err)
			}
			_, err = fmt.Fprintln(p.w, doc.String())
			return err
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newIAMPolicyDeleteCommand() *cobra.Command {
	return c.iamAction("delete NAME", "Delete a customer policy that nothing has attached", `  slipway iam policy delete shop-read`, []string{"NAME"},
		func(ctx context.Context, cl *api.Client, args []string) error { return cl.PolicyDelete(ctx, args[0]) },
		func(args []string) string { return "Deleted policy " + strconv.Quote(args[0]) })
}

// newIAMPolicyAttachCommand is `iam policy attach` (attach) or `iam policy detach`.
func (c *cli) newIAMPolicyAttachCommand(attach bool) *cobra.Command {
	var to api.PolicyAttachRequest
	verb, short, prep, done := "attach", "Attach a policy to a user, a group, a token or a role", "to", "Attached"
	if !attach {
		verb, short, prep, done = "detach", "Detach a policy from a user, a group, a token or a role", "from", "Detached"
	}
	cmd := &cobra.Command{
		Use:   verb + " NAME --user U | --group G | --token ACCESSOR | --role R",
		Short: short,
		Long: short + `: exactly one of them.

Here --token names the service token to ` + verb + ` the policy ` + prep + ` (its accessor ID), not the
credential of the call: give that in ` + EnvToken + `.`,
		Example: fmt.Sprintf(`  slipway iam policy %[1]s shop-read --user alice
  slipway iam policy %[1]s CodeDeployFullAccess --group deployers
  slipway iam policy %[1]s ci-deploy --token 5f0c9a1e-2d4b-4c1a-9a7e-1f2b3c4d5e6f`, verb),
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var kind, target string
			n := 0
			for _, t := range []struct{ kind, name string }{{"user", to.User}, {"group", to.Group}, {"token", to.Token}, {"role", to.Role}} {
				if t.name != "" {
					kind, target = t.kind, t.name
					n++
				}
			}
			if n != 1 {
				return usagef("give exactly one of --user, --group, --token and --role")
			}
			if strings.HasPrefix(to.Token, "slw") {
				// Never send a secret as a name (the refusal would echo it).
				return usagef("--token takes the accessor ID of the token to %s, not a secret; give the credential of the call in %s", verb, EnvToken)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if attach {
				err = cl.PolicyAttach(cmd.Context(), args[0], to)
			} else {
				err = cl.PolicyDetach(cmd.Context(), args[0], to)
			}
			if err != nil {
				return err
			}
			return p.Linef("%s policy %q %s %s %q", done, args[0], prep, kind, target)
		},
	}
	f := cmd.Flags()
	f.StringVar(&to.User, "user", "", "a user's name")
	f.StringVar(&to.Group, "group", "", "a group's name")
	f.StringVar(&to.Token, "token", "", "a service token's accessor ID")
	f.StringVar(&to.Role, "role", "", "a role's name")
	return cmd
}
