package cli

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newRepoPutFileCommand() *cobra.Command {
	var branch, path, file, parent, message string
	var del bool
	cmd := &cobra.Command{
		Use:   "put-file NAME --branch B --path P (--file LOCAL | --delete) [--parent C] [--message M]",
		Short: "Commit one file's new content (or its deletion) on a branch",
		Long: `Commits one file on a branch without a clone, as the console's editor does: the server makes
the commit (author: you) and publishes it through the same replicated ref update as a push.

--parent is the commit you changed the file against. Without it, the branch's head is read
first and used (printed on standard error); a branch that does not exist yet starts from the
default branch's head (or is the first commit of an empty repository). If the branch moved
between that read (or your --parent) and the commit, nothing changes and the command fails
saying where the branch is now: look at the change and run it again.

The file is at most 512 KiB (push larger ones with git); --file - reads standard input.`,
		Example: `  slipway repo put-file web --branch main --path README.md --file README.md --message "Say hello"
  slipway repo put-file web --branch main --path old.txt --delete --message "Drop old.txt"`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if (file == "") == !del {
				return &usageError{errors.New("give either --file LOCAL (the new content) or --delete")}
			}
			if message == "" {
				message = "Update " + path
				if del {
					message = "Delete " + path
				}
			}
			req := api.FilePutRequest{Branch: branch, Path: path, Parent: parent, Message: message, Delete: del}
			if file != "" {
				b, err := readLocal(file)
				if err != nil {
					return err
				}
				if utf8.Valid(b) {
					req.Content = string(b)
				} else {
					req.ContentBase64 = base64.StdEncoding.EncodeToString(b)
				}
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if req.Parent == "" {
				b, err := cl.RepoBranch(ctx, name, branch)
				switch {
				case err == nil:
					req.Parent = b.Commit
					_, _ = fmt.Fprintf(c.stderr, "Branch %s is at %s: committing on it\n", branch, b.Commit)
				case api.IsNotFound(err):
					repo, err := cl.RepoGet(ctx, name, nil)
					if err != nil {
						return err
					}
					if d, err := cl.RepoBranch(ctx, name, repo.DefaultBranch); err == nil {
						req.Parent = d.Commit
						_, _ = fmt.Fprintf(c.stderr, "Branch %s is new: starting it from %s at %s\n", branch, repo.DefaultBranch, d.Commit)
					} else if !api.IsNotFound(err) {
						return err
					}
				default:
					return err
				}
			}
			out, err := cl.RepoPutFile(ctx, name, req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(out)
			}
			return p.Linef("Committed %s on %s (%s)", out.Commit, out.Branch, out.Path)
		},
	}
	f := cmd.Flags()
	f.StringVar(&branch, "branch", "", "the branch to commit to (required)")
	f.StringVar(&path, "path", "", "the file's path in the repository (required)")
	f.StringVar(&file, "file", "", "the local file with the new content (- for standard input)")
	f.StringVar(&parent, "parent", "", "the commit the change is against (default: the branch's head, read first)")
	f.StringVar(&message, "message", "", `the commit message (default "Update PATH" or "Delete PATH")`)
	f.BoolVar(&del, "delete", false, "delete the file instead")
	_ = cmd.MarkFlagRequired("branch")
	_ = cmd.MarkFlagRequired("path")
	return cmd
}

// readLocal reads a file to commit, at most one byte over the server's limit (the server says
// what the limit is); "-" is standard input.
func readLocal(name string) ([]byte, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer func() { _ = f.Close() }()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}
