package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func (c *cli) newRepoBundleCommand() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "bundle NAME [-o FILE] [--force]",
		Short: "Download a repository as a git bundle (a backup)",
		Long: `Downloads the repository as a git bundle: one file with every branch and tag and the objects
they reach, as 'git bundle create --all' makes it on the server that answers (once its copy has
caught up with every push acknowledged before the request). The file is NAME.bundle unless -o
names another ('-' writes to standard output); an existing file is kept unless --force is given.
The file appears only when the bundle is whole.

Check it with 'git bundle verify FILE'. To restore it into a repository (a new one, or the same
after a delete):

  slipway repo import NAME --from NAME.bundle

An empty repository (nothing pushed yet) has nothing to bundle and is refused.`,
		Example: `  slipway repo bundle web
  slipway repo bundle web -o /backups/web-$(date +%F).bundle
  slipway repo bundle web -o web.bundle --force`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if out == "" {
				out = name + ".bundle"
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if out == "-" {
				return cl.RepoBundle(cmd.Context(), name, c.stdout)
			}
			if _, err := os.Lstat(out); err == nil && !force {
				return fmt.Errorf("%s already exists: give another file with -o, or --force to replace it", out)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("check %s: %w", out, err)
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
			if err != nil {
				return fmt.Errorf("write the bundle: %w", err)
			}
			defer func() { _ = os.Remove(tmp.Name()) }() // gone after the rename; a partial file otherwise
			if err := cl.RepoBundle(cmd.Context(), name, tmp); err != nil {
				_ = tmp.Close()
				return err
			}
			st, err := tmp.Stat()
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			if err := os.Chmod(tmp.Name(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			if p.json() {
				return p.JSON(struct {
					Repository string `json:"repository"`
					File       string `json:"file"`
					Bytes      int64  `json:"bytes"`
				}{name, out, st.Size()})
			}
			return p.Linef("Wrote repository %s to %s (%d bytes): check it with git bundle verify %s", name, out, st.Size(), out)
		},
	}
	cmd.Flags().StringVarP(&out, "output-file", "o", "", "the file to write (default NAME.bundle; - for standard output)")
	cmd.Flags().BoolVar(&force, "force", false, "replace the file if it exists")
	return cmd
}
