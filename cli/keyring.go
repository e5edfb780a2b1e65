package cli

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/keyring"
)

func (c *cli) newKeyringCommand() *cobra.Command {
	cmd := nounCommand("keyring", "The cluster keyring that encrypts blobs at rest",
		`  slipway operator keyring kek create --out /etc/slipway/keyring.kek
  slipway operator keyring list
  slipway operator keyring rotate`)
	kek := nounCommand("kek", "The key-encryption key file every server loads",
		`  slipway operator keyring kek create --out /etc/slipway/keyring.kek`)
	kek.AddCommand(c.newKEKCreateCommand())
	cmd.AddCommand(kek, c.newKeyringListCommand(), c.newKeyringRotateCommand())
	return cmd
}

// kekResult is the json output of kek create.
type kekResult struct {
	File        string `json:"file"`
	Fingerprint string `json:"fingerprint"`
}

func (c *cli) newKEKCreateCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "create --out FILE",
		Short: "Create a key-encryption key file for a new cluster",
		Long: `Create a key-encryption key (KEK): 32 random bytes, base64, written to FILE with mode 0600.
An existing FILE is never overwritten.

Every server of a cluster loads the same KEK file (slipway server --keyring-kek-file FILE, or
keyring.kek_file, or SLIPWAY_KEYRING_KEK_FILE). It wraps the cluster's data keys, which encrypt
every blob on disk; it never enters the Raft log, snapshots or the state. Copy it to each server
over a secure channel, keep it out of the data directory and out of backups of it, and keep a
copy offline: a cluster whose KEK is lost cannot read its blobs any more.`,
		Example: `  slipway operator keyring kek create --out /etc/slipway/keyring.kek
  slipway server --keyring-kek-file /etc/slipway/keyring.kek ...`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("slipway operator keyring kek create: --out FILE is required: where to write the key-encryption key")
			}
			p, err := c.printer()
			if err != nil {
				return err
			}
			k, err := keyring.CreateKEKFile(out)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(kekResult{File: out, Fingerprint: k.Fingerprint()})
			}
			return p.Linef("Wrote key-encryption key %s (fingerprint %s, mode 0600).\nGive every server of the cluster this same file: --keyring-kek-file %s", out, k.Fingerprint(), out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to create (refused if it exists)")
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
