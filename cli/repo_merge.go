package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newRepoMergeCommand() *cobra.Command {
	var req api.RepoMergeRequest
	var check bool
	cmd := &cobra.Command{
		Use:   "merge NAME --source B --destination B --strategy fast-forward|squash|three-way [--message M] [--check]",
		Short: "Merge one branch into another (fast-forward, squash or three-way)",
		Long: `Merges the source branch into the destination branch on the server, as CodeCommit's
MergeBranchesByFastForward, MergeBranchesBySquash and MergeBranchesByThreeWay: git merges the
trees (merge-tree), the server makes the commit (committer: you) and publishes it through the
same replicated ref update as a push.

fast-forward moves the destination to the source (only when the destination is an ancestor of
the source); squash makes one commit on the destination with the source's changes; three-way
makes a merge commit with both branches as parents.

--source-commit and --destination-commit are the heads you reviewed; without them both branches'
heads are read first (printed on standard error). If either branch moved since, or the merge
conflicts, nothing changes and the command fails naming the head now or the conflicting paths.
--check only says whether the merge would succeed and lists the conflicting paths.`,
		Example: `  slipway repo merge web --source feature/login --destination main --strategy squash
  slipway repo merge web --source feature/login --destination main --strategy three-way --check`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if check {
				out, err := cl.RepoMergeable(ctx, name, req)
				if err != nil {
					return err
				}
				if p.json() {
					return p.JSON(out)
				}
				if out.Mergeable {
					return p.Linef("%s merges into %s (%s) without conflicts", req.Source, req.Destination, req.Strategy)
				}
				if err := p.Linef("%s conflicts with %s in %d path(s):", req.Source, req.Destination, len(out.Conflicts)); err != nil {
					return err
				}
				for _, path := range out.Conflicts {
					if err := p.Linef("  %s", path); err != nil {
						return err
					}
				}
				return fmt.Errorf("%s does not merge into %s: resolve the conflicts on the source branch and push again", req.Source, req.Destination)
			}
			for _, b := range []struct {
				name string
				at   *string
			}{{req.Source, &req.SourceCommit}, {req.Destination, &req.DestinationCommit}} {
				if *b.at != "" {
					continue
				}
				br, err := cl.RepoBranch(ctx, name, b.name)
				if err != nil {
					return err
				}
				*b.at = br.Commit
				_, _ = fmt.Fprintf(c.stderr, "Branch %s is at %s\n", b.name, br.Commit)
			}
			out, err := cl.RepoMerge(ctx, name, req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(out)
			}
			return p.Linef("Merged %s into %s (%s): %s is at %s", req.Source, req.Destination, req.Strategy, req.Destination, out.Commit)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Source, "source", "", "the branch to merge (required)")
	f.StringVar(&req.Destination, "destination", "", "the branch to merge into (required)")
	f.StringVar(&req.Strategy, "strategy", "", "fast-forward, squash or three-way (required)")
	f.StringVar(&req.SourceCommit, "source-commit", "", "the source head you reviewed (default: read first)")
	f.StringVar(&req.DestinationCommit, "destination-commit", "", "the destination head you reviewed (default: read first)")
	f.StringVar(&req.Message, "message", "", "the commit message (default: one naming the branches)")
	f.BoolVar(&check, "check", false, "only check whether it merges, and list the conflicting paths")
	_ = cmd.MarkFlagRequired("source")
	_ = cmd.MarkFlagRequired("destination")
	_ = cmd.MarkFlagRequired("strategy")
	return cmd
}
