package cli

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newKeyringCommand() *cobra.Command {
	cmd := nounCommand("keyring", "The cluster keyring that encrypts blobs at rest",
		`  slipway operator keyring kek create --out /etc/slipway/keyring.kek
  slipway operator keyring list
  slipway operator keyring rotate`)
	kek := nounCommand("kek", "The key-encryption key file every server loads",
		`  slipway operator keyring kek create --out /etc/slipway/keyring.kek`)
	kek.AddCommand(c.newKEKCreateCommand()) // in server_cmds.go: it writes the file with the server keyring's code
	cmd.AddCommand(kek, c.newKeyringListCommand(), c.newKeyringRotateCommand())
	return cmd
}

func (c *cli) newKeyringListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the data keys of the cluster keyring (never key material)",
		Long: `List the cluster's data keys: id, whether new writes use it, when it was made, and how many
of the answering server's blob files are encrypted under it. After a rotation those counts fall
to 0 on each server as its background job re-encrypts its files. Old keys are kept.`,
		Example: `  slipway operator keyring list
  slipway operator keyring list --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			k, err := cl.KeyringGet(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				if k.Keys == nil {
					k.Keys = []api.KeyringKey{}
				}
				return p.JSON(k)
			}
			rows := make([][]string, 0, len(k.Keys))
			for _, key := range k.Keys {
				state := "old"
				if key.Active {
					state = "active"
				}
				rows = append(rows, []string{key.ID, state, key.CreateTime.Local().Format(time.DateTime), strconv.Itoa(key.LocalBlobs), key.KEKFingerprint})
			}
			if err := p.Table([]string{"ID", "STATE", "CREATED", "BLOBS ON " + k.Node, "KEK"}, rows); err != nil {
				return err
			}
			if k.LocalUnencrypted > 0 {
				return p.Linef("%d blob files on %s are not encrypted yet (written before encryption at rest); they are being encrypted", k.LocalUnencrypted, k.Node)
			}
			return nil
		},
	}
}

func (c *cli) newKeyringRotateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Add a data key that becomes active for new writes",
		Long: `Add a new data key to the cluster keyring and make it the active one: blobs written from now on
are encrypted under it. Blobs under older keys stay readable, and every server re-encrypts its
own blob files under the new key in the background (bounded in rate). Old keys are kept in the
keyring: they are tiny, and a server that was down or a restored backup may still need one.`,
		Example: `  slipway operator keyring rotate
  slipway operator keyring list     # watch BLOBS fall to 0 under the old key`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			k, err := cl.KeyringRotate(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(k)
			}
			return p.Linef("Data key %s is now active; servers re-encrypt their blob files under it in the background (slipway operator keyring list)", k.ID)
		},
	}
}
