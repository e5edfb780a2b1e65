package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// maxSecretValue is the server's bound on a value (64 KiB): the CLI reads one byte more, so that
// an oversized value is refused by the server with its message.
const maxSecretValue = 64 << 10

func (c *cli) newSecretCommand() *cobra.Command {
	cmd := nounCommand("secret", "Keep secrets (passwords, tokens, keys), encrypted at rest",
		`  slipway secret put prod/db/password --from-file ./password.txt --description "shop database"
  printf %s "$TOKEN" | slipway secret put ci/npm-token
  slipway secret get prod/db/password
  slipway secret get prod/db/password --value
  slipway secret list prod/
  slipway secret delete prod/db/password`)
	cmd.Long = `The secrets store keeps named values (passwords, tokens, keys) in the cluster's replicated
state, encrypted with the cluster keyring (AES-256-GCM) by the server that receives them: no
value is ever in clear in the Raft log, a snapshot or a server's disk. Names are 1-512 characters
of letters, digits and / _ + = . @ - (a path such as prod/db/password; no empty, "." or ".."
segment); values are at most 64 KiB; the cluster holds at most 10,000 secrets.

Metadata (secretsmanager:DescribeSecret, ListSecrets) is readable with any token whose policy
allows it, read-only tokens included; a value (secretsmanager:GetSecretValue) only with a policy
that names that action, and every read of a value is in the audit trail.

Every secret has a version, 1 for its first value. --cas VERSION makes a write apply only while
the secret is still at VERSION; --cas 0 writes only a secret that does not exist yet. See
docs/SECRETS.md.`
	cmd.AddCommand(c.newSecretPutCommand(), c.newSecretGetCommand(), c.newSecretListCommand(), c.newSecretDeleteCommand())
	return cmd
}

func (c *cli) newSecretPutCommand() *cobra.Command {
	var (
		value, file, description string
		cas                      uint64
	)
	cmd := &cobra.Command{
		Use:   "put NAME [--value VALUE | --from-file PATH] [--description TEXT] [--cas VERSION]",
		Short: "Write a secret's value (its next version)",
		Long: `Writes the secret's next value: the content of --from-file, or standard input ("-" or no flag:
typed without echo on a terminal, else read to its end, taken as it is: use printf, not echo, to
leave out a newline). --value takes it from the command line, where your shell history and the
process list keep it: avoid it for real secrets. --description sets the description (without it
the secret keeps its own). With --cas the write applies only while the secret is at version
VERSION, and --cas 0 only creates.`,
		Example: `  slipway secret put prod/db/password --from-file ./password.txt
  printf %s "$NPM_TOKEN" | slipway secret put ci/npm-token --description "publishes @shop packages"
  slipway secret put prod/db/password --from-file ./new.txt --cas 3
  slipway secret put dev/api-key --value not-really-secret`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			valueGiven := cmd.Flags().Changed("value")
			if valueGiven && file != "" {
				return usagef("give --value or --from-file, not both")
			}
			var v []byte
			switch {
			case valueGiven:
				_, _ = fmt.Fprintln(c.stderr, "Warning: a value given with --value stays in your shell history and shows in the process list; prefer --from-file or standard input.")
				v = []byte(value)
			default:
				var err error
				if v, err = readSecretValue(cmd.InOrStdin(), c.stderr, file); err != nil {
					return err
				}
			}
			req := api.SecretPutRequest{Value: v}
			if cmd.Flags().Changed("description") {
				req.Description = &description
			}
			if cmd.Flags().Changed("cas") {
				req.CAS = api.CAS(cas)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			s, err := cl.SecretPut(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(s)
			}
			return p.Linef("Wrote %q version %d (%d bytes, sealed under data key %s)", s.Name, s.Version, len(v), s.KeyID)
		},
	}
	cmd.Flags().StringVar(&value, "value", "", "the value itself (kept by your shell history: prefer --from-file or standard input)")
	cmd.Flags().StringVar(&file, "from-file", "", `read the value from this file ("-" for standard input, the default)`)
	cmd.Flags().StringVar(&description, "description", "", "what the secret is for (at most 2,048 bytes)")
	cmd.Flags().Uint64Var(&cas, "cas", 0, "write only if the secret is still at this version (0: only if it does not exist)")
	return cmd
}

// readSecretValue reads a value from a file or standard input (file "" or "-"). On a terminal
// it asks for it without echo; otherwise it reads to the end, at most one byte more than a value
// may hold.
func readSecretValue(stdin io.Reader, stderr io.Writer, file string) ([]byte, error) {
	r := stdin
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read --from-file: %w", err)
		}
		defer func() { _ = f.Close() }()
		r = f
	} else if p := newPrompter(stdin, stderr); p.terminal() {
		s, err := p.secret("Value (not echoed): ", "value")
		return []byte(s), err
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretValue+1))
	if err != nil {
		return nil, fmt.Errorf("read the value: %w", err)
	}
	return b, nil
}

func (c *cli) newSecretGetCommand() *cobra.Command {
	var consistent, value bool
	cmd := &cobra.Command{
		Use:   "get NAME [--value]",
		Short: "Show a secret's metadata, or with --value its value",
		Long: `Shows the secret's metadata: version, description, when and by whom it was created and last
written, and the data key its value is sealed under. --value prints the value itself, as stored,
for scripts (it needs secretsmanager:GetSecretValue, and the read is in the audit trail); with
--output json it prints {"name", "version", "value" (base64)}.`,
		Example: `  slipway secret get prod/db/password
  slipway secret get prod/db/password --output json
  PGPASSWORD="$(slipway secret get prod/db/password --value)" psql -h db -U shop`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if value {
				v, err := cl.SecretValueGet(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if p.json() {
					return p.JSON(v)
				}
				if _, err := p.w.Write(v.Value); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
				if n := len(v.Value); n > 0 && v.Value[n-1] != '\n' && utf8.Valid(v.Value) && isTerminal(p.w) {
					return p.Linef("")
				}
				return nil
			}
			s, err := cl.SecretGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(s)
			}
			return p.Fields([]field{
				{"Name", s.Name},
				{"Description", cell(s.Description)},
				{"Version", strconv.FormatUint(s.Version, 10)},
				{"ID", s.ID},
				{"Data Key", s.KeyID},
				{"Created", formatTime(s.CreateTime) + " by " + cell(s.CreatedBy)},
				{"Modified", formatTime(s.ModifyTime) + " by " + cell(s.ModifiedBy)},
				{"Create Index", strconv.FormatUint(s.CreateIndex, 10)},
				{"Modify Index", strconv.FormatUint(s.ModifyIndex, 10)},
			})
		},
	}
	addConsistentFlag(cmd, &consistent)
	cmd.Flags().BoolVar(&value, "value", false, "print the secret's value (needs secretsmanager:GetSecretValue; audited)")
	return cmd
}

func (c *cli) newSecretListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "list [PREFIX]",
		Aliases: []string{"ls"},
		Short:   "List secrets (names and metadata, never values)",
		Example: `  slipway secret list
  slipway secret list prod/
  slipway secret list --output json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("too many arguments: %q takes at most a PREFIX", cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			list, err := listSecrets(cmd.Context(), cl, prefix, consistent)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(list)
			}
			rows := make([][]string, 0, len(list))
			for _, s := range list {
				rows = append(rows, []string{s.Name, strconv.FormatUint(s.Version, 10), formatTime(s.ModifyTime), cell(s.Description)})
			}
			return p.Table([]string{"NAME", "VERSION", "MODIFIED", "DESCRIPTION"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func listSecrets(ctx context.Context, cl *api.Client, prefix string, consistent bool) ([]api.Secret, error) {
	return allPages(ctx, func(next string) ([]api.Secret, string, error) {
		l, err := cl.SecretList(ctx, prefix, &api.QueryOptions{Consistent: consistent, Next: next})
		if err != nil {
			return nil, "", err
		}
		return l.Secrets, l.Next, nil
	})
}

func (c *cli) newSecretDeleteCommand() *cobra.Command {
	var cas uint64
	cmd := &cobra.Command{
		Use:     "delete NAME [--cas VERSION]",
		Aliases: []string{"rm"},
		Short:   "Delete a secret",
		Long: `Deletes the secret and its value at once (there is no recovery window). A secret created again
under the same name starts at version 1 with a new ID; values sealed for the old one do not open
for it.`,
		Example: `  slipway secret delete prod/db/password
  slipway secret delete prod/db/password --cas 4`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			var precondition *uint64
			if cmd.Flags().Changed("cas") {
				if cas == 0 {
					return usagef("--cas 0 means create only, which a delete cannot be: give the secret's version")
				}
				precondition = api.CAS(cas)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.SecretDelete(cmd.Context(), args[0], precondition); err != nil {
				return err
			}
			return p.Linef("Deleted %q", args[0])
		},
	}
	cmd.Flags().Uint64Var(&cas, "cas", 0, "delete only if the secret is still at this version")
	return cmd
}
