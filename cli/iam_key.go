package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newIAMKeyCommand() *cobra.Command {
	cmd := nounCommand("key", "Manage users' SSH public keys",
		`  slipway iam key add alice ~/.ssh/id_ed25519.pub
  slipway iam key list alice
  slipway iam key remove alice SHA256:mVPwvezndPv/ARoIadVY98vAC0g+P/5633yTC4d/Ca4`)
	cmd.Long = `SSH public keys (ed25519, ecdsa, or rsa of at least 2048 bits) identify a user to the
cluster's SSH endpoints. A key belongs to one user; it is named by its SHA256 fingerprint.`
	cmd.AddCommand(c.newIAMKeyAddCommand(), c.newIAMKeyListCommand(), c.newIAMKeyRemoveCommand())
	return cmd
}

func (c *cli) newIAMKeyAddCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "add USER PUBLIC_KEY_FILE",
		Short: "Add an SSH public key (an authorized_keys line) to a user and print its fingerprint",
		Example: `  slipway iam key add alice ~/.ssh/id_ed25519.pub
  ssh-add -L | head -1 | slipway iam key add alice -`,
		Args: exactArgs("USER", "PUBLIC_KEY_FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := readInput(cmd, "PUBLIC_KEY_FILE", args[1])
			if err != nil {
				return err
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			k, err := cl.SSHKeyAdd(cmd.Context(), args[0], line)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(k)
			}
			return p.Linef("%s", k.Fingerprint)
		},
	}
}

func (c *cli) newIAMKeyListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list USER",
		Aliases: []string{"ls"},
		Short:   "List a user's SSH public keys",
		Example: `  slipway iam key list alice`,
		Args:    exactArgs("USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.SSHKeyList(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Keys)
			}
			rows := make([][]string, 0, len(l.Keys))
			for _, k := range l.Keys {
				rows = append(rows, []string{k.Fingerprint, k.Type, strconv.Itoa(k.Bits), k.Comment, formatTime(k.AddTime)})
			}
			return p.Table([]string{"FINGERPRINT", "TYPE", "BITS", "COMMENT", "ADDED"}, rows)
		},
	}
}

func (c *cli) newIAMKeyRemoveCommand() *cobra.Command {
	return c.iamAction("remove USER FINGERPRINT", "Remove one of a user's SSH keys by fingerprint",
		`  slipway iam key remove alice SHA256:mVPwvezndPv/ARoIadVY98vAC0g+P/5633yTC4d/Ca4`, []string{"USER", "FINGERPRINT"},
		func(ctx context.Context, cl *api.Client, args []string) error {
			return cl.SSHKeyRemove(ctx, args[0], args[1])
		},
		func(args []string) string { return "Removed key " + args[1] + " of user " + strconv.Quote(args[0]) })
}
