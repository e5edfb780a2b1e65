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

func (c *cli) newKVCommand() *cobra.Command {
	cmd := nounCommand("kv", "Read and write the cluster's key/value settings",
		`  slipway kv put settings/web/max-upload 10GiB
  slipway kv get settings/web/max-upload
  slipway kv list settings/
  slipway kv put settings/web/max-upload 20GiB --cas 42
  slipway kv delete settings/web/max-upload`)
	cmd.Long = `The key/value store keeps the cluster's settings, yours and, as they arrive, the services'. Keys are paths of 1-256 characters of letters, digits, '.', '_', '/' and '-' (no leading
or trailing '/', no '..'); values are at most 64 KiB; the cluster holds at most 10,000 keys.
Any token reads; writing needs a management token.

Every key has a modify index, the index of its last write. --cas INDEX makes a write apply only
while the key's modify index is still INDEX; --cas 0 writes only a key that does not exist yet.`
	cmd.AddCommand(c.newKVGetCommand(), c.newKVPutCommand(), c.newKVDeleteCommand(), c.newKVListCommand())
	return cmd
}

func (c *cli) newKVGetCommand() *cobra.Command {
	var consistent, detailed bool
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Print a key's value",
		Long: `Prints the key's value as stored, for scripts. --detailed shows its indexes too; --output json
prints the entry (the value in base64).`,
		Example: `  slipway kv get settings/web/max-upload
  slipway kv get settings/web/max-upload --detailed
  slipway kv get settings/web/max-upload --output json`,
		Args:              exactArgs("KEY"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.KVGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			switch {
			case p.json():
				return p.JSON(e)
			case detailed:
				return p.Fields([]field{
					{"Key", e.Key},
					{"Value", displayValue(e.Value)},
					{"Size", strconv.Itoa(len(e.Value))},
					{"Create Index", strconv.FormatUint(e.CreateIndex, 10)},
					{"Modify Index", strconv.FormatUint(e.ModifyIndex, 10)},
				})
			}
			if _, err := p.w.Write(e.Value); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			if n := len(e.Value); n > 0 && e.Value[n-1] != '\n' && utf8.Valid(e.Value) {
				return p.Linef("")
			}
			return nil
		},
	}
	addConsistentFlag(cmd, &consistent)
	cmd.Flags().BoolVar(&detailed, "detailed", false, "show the key's indexes and size, not only its value")
	return cmd
}

func (c *cli) newKVPutCommand() *cobra.Command {
	var (
		file string
		cas  uint64
	)
	cmd := &cobra.Command{
		Use:   "put KEY [VALUE | --file PATH] [--cas INDEX]",
		Short: "Write a key's value",
		Long: `Writes VALUE, or the content of --file ("-" for standard input), as the key's value. With
--cas the write applies only while the key's modify index is still INDEX (as 'slipway kv get
--detailed' shows it), and --cas 0 only creates: when another write came first the answer is a
conflict and nothing changed.`,
		Example: `  slipway kv put console/theme dark
  slipway kv put settings/web/ssh-config --file ./ssh_config
  echo -n 20GiB | slipway kv put settings/web/max-upload --file -
  slipway kv put settings/web/max-upload 20GiB --cas 42
  slipway kv put settings/web/max-upload 10GiB --cas 0`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("missing KEY: %q takes KEY and VALUE (or --file)", cmd.CommandPath())
			case len(args) == 1 && file == "":
				return usagef("missing VALUE: give it as an argument, or --file PATH (\"-\" for standard input)")
			case len(args) == 2 && file != "":
				return usagef("give VALUE or --file, not both")
			case len(args) > 2:
				return usagef("too many arguments: %q takes KEY and VALUE (quote a value with spaces)", cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			var value []byte
			if len(args) == 2 {
				value = []byte(args[1])
			} else {
				var err error
				if value, err = readValue(cmd.InOrStdin(), file); err != nil {
					return err
				}
			}
			var precondition *uint64
			if cmd.Flags().Changed("cas") {
				precondition = api.CAS(cas)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.KVPut(cmd.Context(), args[0], value, precondition)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(e)
			}
			return p.Linef("Wrote %q (%d bytes, modify index %d)", e.Key, len(e.Value), e.ModifyIndex)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", `read the value from this file ("-" for standard input)`)
	cmd.Flags().Uint64Var(&cas, "cas", 0, "write only if the key's modify index is still this (0: only if the key does not exist)")
	return cmd
}

// readValue reads a value from a file or, for "-", from stdin; at most one byte more than a value
// may hold, so that an oversized one is refused by the server with its message.
func readValue(stdin io.Reader, file string) ([]byte, error) {
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("read --file: %w", err)
		}
		defer func() { _ = f.Close() }()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10+1))
	if err != nil {
		return nil, fmt.Errorf("read --file %s: %w", file, err)
	}
	return b, nil
}

func (c *cli) newKVDeleteCommand() *cobra.Command {
	var cas uint64
	cmd := &cobra.Command{
		Use:     "delete KEY [--cas INDEX]",
		Aliases: []string{"rm"},
		Short:   "Delete a key",
		Example: `  slipway kv delete console/theme
  slipway kv delete console/theme --cas 42`,
		Args:              exactArgs("KEY"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			var precondition *uint64
			if cmd.Flags().Changed("cas") {
				if cas == 0 {
					return usagef("--cas 0 means create only, which a delete cannot be: give the key's modify index")
				}
				precondition = api.CAS(cas)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.KVDelete(cmd.Context(), args[0], precondition); err != nil {
				return err
			}
			return p.Linef("Deleted %q", args[0])
		},
	}
	cmd.Flags().Uint64Var(&cas, "cas", 0, "delete only if the key's modify index is still this")
	return cmd
}

func (c *cli) newKVListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:     "list [PREFIX]",
		Aliases: []string{"ls"},
		Short:   "List keys, all or under a prefix",
		Example: `  slipway kv list
  slipway kv list settings/
  slipway kv list settings/ --output json`,
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
			entries, err := listKV(cmd.Context(), cl, prefix, consistent)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(entries)
			}
			rows := make([][]string, 0, len(entries))
			for _, e := range entries {
				rows = append(rows, []string{e.Key, strconv.Itoa(len(e.Value)), strconv.FormatUint(e.ModifyIndex, 10)})
			}
			return p.Table([]string{"KEY", "SIZE", "MODIFY INDEX"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func listKV(ctx context.Context, cl *api.Client, prefix string, consistent bool) ([]api.KVEntry, error) {
	return allPages(ctx, func(next string) ([]api.KVEntry, string, error) {
		l, err := cl.KVList(ctx, prefix, &api.QueryOptions{Consistent: consistent, Next: next})
		if err != nil {
			return nil, "", err
		}
		return l.Entries, l.Next, nil
	})
}

// displayValue shows a value in a table: as text when it is printable UTF-8, otherwise its size.
func displayValue(v []byte) string {
	if utf8.Valid(v) {
		return cell(string(v))
	}
	return fmt.Sprintf("(%d bytes of binary data: use --output json for base64)", len(v))
}
