package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newPRCommand() *cobra.Command {
	cmd := nounCommand("pr", "Open, review, comment on and merge pull requests",
		`  slipway pr create --repo web --source feature/login --destination main --title "Log in"
  slipway pr list --repo web --state open
  slipway pr get 7 --output json
  slipway pr diff 7
  slipway pr comment 7 --path src/login.go --line 12 --body "check the error"
  slipway pr approve 7
  slipway pr merge 7 --strategy squash`)
	cmd.Long = `A pull request asks to merge a source branch into a destination branch of one repository.
Each push that moves either branch of an open pull request makes a new revision of it;
approvals of an older revision show as stale. Reading pull requests is allowed by
CodeCommitReadOnlyAccess; opening, commenting, approving and merging by CodeCommit's actions
(codecommit:CreatePullRequest, PostCommentForPullRequest, UpdatePullRequestApprovalState,
MergePullRequestBySquash, ...), on the repository.`
	cmd.AddCommand(c.newPRCreateCommand(), c.newPRListCommand(), c.newPRGetCommand(), c.newPRDiffCommand(),
		c.newPRCommentCommand(), c.newPRStatusCommand("close", "closed"), c.newPRStatusCommand("reopen", "open"),
		c.newPRApprovalCommand("approve", "APPROVE"), c.newPRApprovalCommand("revoke", "REVOKE"), c.newPRMergeCommand(),
		c.newPRUpdateCommand(), c.newPRRuleCommand(), c.newPREvaluateCommand(), c.newPROverrideCommand())
	return cmd
}

func (c *cli) newPRCreateCommand() *cobra.Command {
	var req api.PullRequestCreateRequest
	cmd := &cobra.Command{
		Use:               "create --repo R --source BRANCH --destination BRANCH --title T [--description D]",
		Short:             "Open a pull request",
		Example:           `  slipway pr create --repo web --source feature/login --destination main --title "Log in" --output json`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.PullRequestCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Opened pull request %s: %s into %s of %s", pr.ID, pr.Source, pr.Destination, pr.Repository)
		},
	}
	cmd.Flags().StringVar(&req.Repository, "repo", "", "the repository")
	cmd.Flags().StringVar(&req.Source, "source", "", "the branch to merge")
	cmd.Flags().StringVar(&req.Destination, "destination", "", "the branch to merge into")
	cmd.Flags().StringVar(&req.Title, "title", "", "what the pull request does, in a line")
	cmd.Flags().StringVar(&req.Description, "description", "", "more about it")
	for _, f := range []string{"repo", "source", "destination", "title"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (c *cli) newPRListCommand() *cobra.Command {
	var f api.PullRequestFilter
	cmd := &cobra.Command{
		Use:               "list [--repo R] [--state open|closed|merged] [--author USER] [--destination BRANCH]",
		Aliases:           []string{"ls"},
		Short:             "List pull requests",
		Example:           "  slipway pr list --repo web --state open\n  slipway pr list --author alice --output json",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			list, err := allPages(cmd.Context(), func(next string) ([]api.PullRequest, string, error) {
				l, err := cl.PullRequestList(cmd.Context(), f, &api.QueryOptions{Next: next})
				if err != nil {
					return nil, "", err
				}
				return l.PullRequests, l.Next, nil
			})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(list)
			}
			rows := make([][]string, 0, len(list))
			for _, pr := range list {
				rows = append(rows, []string{pr.ID, pr.Repository, pr.Status, pr.Source + " → " + pr.Destination, pr.Author, pr.Title})
			}
			return p.Table([]string{"ID", "REPOSITORY", "STATUS", "BRANCHES", "AUTHOR", "TITLE"}, rows)
		},
	}
	cmd.Flags().StringVar(&f.Repository, "repo", "", "only this repository's")
	cmd.Flags().StringVar(&f.Status, "state", "", "only those open, closed or merged")
	cmd.Flags().StringVar(&f.Author, "author", "", "only those this user opened")
	cmd.Flags().StringVar(&f.Destination, "destination", "", "only those into this branch")
	return cmd
}

func (c *cli) newPRGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "get ID",
		Short:             "Show a pull request: its revision, commits, files, approvals and timeline",
		Example:           "  slipway pr get 7\n  slipway pr get 7 --output json",
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.PullRequestGet(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			fs := []field{{"ID", pr.ID}, {"Title", pr.Title}, {"Repository", pr.Repository}, {"Source", pr.Source}, {"Destination", pr.Destination},
				{"Status", pr.Status}, {"Author", pr.Author}, {"Revision", fmt.Sprintf("%d (source %s, destination %s)", pr.Revision.Number, pr.Revision.SourceCommit, pr.Revision.DestinationCommit)},
				{"Mergeable", mergeable(pr.Revision)}, {"Approved", yesNo(pr.Approved)},
				{"Commits", strconv.Itoa(len(pr.Commits))}, {"Files", strconv.Itoa(len(pr.Files))}, {"Comments", strconv.Itoa(pr.Comments)}}
			for _, a := range pr.Approvals {
				s := fmt.Sprintf("%s (revision %d)", a.User, a.Revision)
				if a.Stale {
					s += " stale"
				}
				fs = append(fs, field{"Approved by", s})
			}
			if pr.Merge != nil {
				fs = append(fs, field{"Merged", fmt.Sprintf("%s by %s as %s", pr.Merge.Strategy, pr.Merge.By, pr.Merge.Commit)})
			}
			if pr.Description != "" {
				fs = append(fs, field{"Description", pr.Description})
			}
			if err := p.Fields(fs); err != nil {
				return err
			}
			for _, e := range pr.Timeline {
				if err := p.Linef("  %s  %-16s %s %s", formatTime(e.Time), e.Kind, e.Actor, e.Detail); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (c *cli) newPRDiffCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "diff ID",
		Short:             "Print a pull request's patch: its current revision from the merge base",
		Example:           "  slipway pr diff 7 | less",
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			d, err := cl.PullRequestDiff(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(d)
			}
			if _, err := fmt.Fprint(p.w, d.Patch); err != nil {
				return err
			}
			if d.Truncated {
				return p.Linef("(cut at the server's bound: read the rest with git diff %s %s)", d.Base, d.Head)
			}
			return nil
		},
	}
}

func (c *cli) newPRCommentCommand() *cobra.Command {
	var req api.PullRequestCommentRequest
	var replyTo, edit string
	var del bool
	cmd := &cobra.Command{
		Use:   "comment ID [--path P --line N [--side source|destination] [--commit C]] [--reply-to C] [--edit C] [--delete C] --body TEXT",
		Short: "Comment on a pull request, on a line of a file, or reply; edit or delete your own",
		Example: `  slipway pr comment 7 --body "looks good"
  slipway pr comment 7 --path src/login.go --line 12 --body "check the error"
  slipway pr comment 7 --reply-to 3 --body "done"
  slipway pr comment 7 --edit 3 --body "done, see revision 2"
  slipway pr comment 7 --delete 3`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var cm *api.PullRequestComment
			switch {
			case del:
				if edit == "" {
					return fmt.Errorf("--delete needs the comment's ID in --edit: slipway pr comment %s --edit C --delete", args[0])
				}
				if err := cl.PullRequestCommentDelete(ctx, args[0], edit); err != nil {
					return err
				}
				return p.Linef("Deleted comment %s of pull request %s", edit, args[0])
			case edit != "":
				cm, err = cl.PullRequestCommentUpdate(ctx, args[0], edit, req.Body)
			case replyTo != "":
				cm, err = cl.PullRequestReply(ctx, args[0], replyTo, req.Body)
			default:
				cm, err = cl.PullRequestComment(ctx, args[0], req)
			}
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(cm)
			}
			return p.Linef("Comment %s on pull request %s", cm.ID, args[0])
		},
	}
	cmd.Flags().StringVar(&req.Body, "body", "", "the comment's text")
	cmd.Flags().StringVar(&req.Path, "path", "", "the file the comment is on")
	cmd.Flags().IntVar(&req.Line, "line", 0, "the line of --path, from 1")
	cmd.Flags().StringVar(&req.Side, "side", "", "source (the new file, default) or destination (the merge base's)")
	cmd.Flags().StringVar(&req.Commit, "commit", "", "the revision's source commit the line is in (default: the current revision)")
	cmd.Flags().StringVar(&replyTo, "reply-to", "", "the comment this one answers")
	cmd.Flags().StringVar(&edit, "edit", "", "your comment to change to --body")
	cmd.Flags().BoolVar(&del, "delete", false, "delete your comment --edit names (its place stays)")
	return cmd
}

func (c *cli) newPRUpdateCommand() *cobra.Command {
	var title, description string
	cmd := &cobra.Command{
		Use:               "update ID [--title T] [--description D]",
		Short:             "Change a pull request's title or description",
		Example:           `  slipway pr update 7 --title "Log in with a passkey"`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			var req api.PullRequestUpdateRequest
			if cmd.Flags().Changed("title") {
				req.Title = &title
			}
			if cmd.Flags().Changed("description") {
				req.Description = &description
			}
			pr, err := cl.PullRequestUpdate(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Updated pull request %s", pr.ID)
		},
	}
	cmd.Flags().StringVar(&title, "title", "", "the new title")
	cmd.Flags().StringVar(&description, "description", "", "the new description")
	return cmd
}

func (c *cli) newPRStatusCommand(verb, status string) *cobra.Command {
	return &cobra.Command{
		Use:               verb + " ID",
		Short:             map[string]string{"close": "Close a pull request without merging it", "reopen": "Reopen a closed pull request"}[verb],
		Example:           "  slipway pr " + verb + " 7",
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.PullRequestSetStatus(cmd.Context(), args[0], status)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Pull request %s is %s", pr.ID, pr.Status)
		},
	}
}

func (c *cli) newPRApprovalCommand(verb, state string) *cobra.Command {
	var revision int
	cmd := &cobra.Command{
		Use:               verb + " ID [--revision N]",
		Short:             map[string]string{"approve": "Approve a pull request's current revision", "revoke": "Revoke your approval of a pull request"}[verb],
		Example:           "  slipway pr " + verb + " 7",
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.PullRequestApproval(cmd.Context(), args[0], api.PullRequestApprovalRequest{State: state, Revision: revision})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Pull request %s: %d approvals", pr.ID, len(pr.Approvals))
		},
	}
	cmd.Flags().IntVar(&revision, "revision", 0, "the revision you reviewed (refused when it is no longer the current one)")
	return cmd
}

func (c *cli) newPRMergeCommand() *cobra.Command {
	var req api.PullRequestMergeRequest
	cmd := &cobra.Command{
		Use:               "merge ID --strategy fast-forward|squash|three-way [--source-commit C] [--message M]",
		Short:             "Merge a pull request",
		Example:           "  slipway pr merge 7 --strategy squash",
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.PullRequestMerge(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Merged pull request %s into %s as %s", pr.ID, pr.Destination, pr.Merge.Commit)
		},
	}
	cmd.Flags().StringVar(&req.Strategy, "strategy", "", "fast-forward, squash or three-way")
	cmd.Flags().StringVar(&req.SourceCommit, "source-commit", "", "the source commit you reviewed (refused when the source moved since)")
	cmd.Flags().StringVar(&req.Message, "message", "", "the merge commit's message (squash, three-way)")
	_ = cmd.MarkFlagRequired("strategy")
	return cmd
}

func (c *cli) newPREvaluateCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "evaluate ID",
		Short:             "Show which approval rules of a pull request hold",
		Example:           "  slipway pr evaluate 7\n  slipway pr evaluate 7 --output json",
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			e, err := cl.PullRequestEvaluate(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(e)
			}
			rows := make([][]string, 0, len(e.Rules))
			for _, r := range e.Rules {
				rows = append(rows, []string{r.Name, ruleOrigin(r.Origin), yesNo(r.Satisfied), fmt.Sprintf("%d/%d", len(r.ApprovedBy), r.Approvals), strings.Join(r.Pool, ","), strings.Join(r.ApprovedBy, ",")})
			}
			if err := p.Table([]string{"RULE", "ORIGIN", "HOLDS", "APPROVALS", "POOL", "APPROVED BY"}, rows); err != nil {
				return err
			}
			return p.Linef("Approved: %s", yesNo(e.Approved))
		},
	}
}

func (c *cli) newPRRuleCommand() *cobra.Command {
	var rule api.PullRequestRule
	var del bool
	cmd := &cobra.Command{
		Use:   "rule ID --name NAME --approvals N --pool USER|group:NAME|GLOB... | rule ID --name NAME --delete",
		Short: "Add, replace or delete an approval rule of a pull request",
		Example: `  slipway pr rule 7 --name "one reviewer" --approvals 1 --pool group:reviewers
  slipway pr rule 7 --name "one reviewer" --delete`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if del {
				if err := cl.PullRequestRuleDelete(cmd.Context(), args[0], rule.Name); err != nil {
					return err
				}
				return p.Linef("Deleted approval rule %s of pull request %s", rule.Name, args[0])
			}
			pr, err := cl.PullRequestRuleCreate(cmd.Context(), args[0], rule)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Pull request %s: approval rule %s", pr.ID, rule.Name)
		},
	}
	cmd.Flags().StringVar(&rule.Name, "name", "", "the rule's name")
	cmd.Flags().IntVar(&rule.Approvals, "approvals", 1, "approvals the rule needs")
	cmd.Flags().StringSliceVar(&rule.Pool, "pool", nil, "who may approve: user names, group:NAME, globs (dev-*)")
	cmd.Flags().BoolVar(&del, "delete", false, "delete the rule --name names")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (c *cli) newPROverrideCommand() *cobra.Command {
	var revoke bool
	cmd := &cobra.Command{
		Use:               "override ID [--revoke]",
		Short:             "Override a pull request's approval rules (audited), or revoke the override",
		Example:           "  slipway pr override 7\n  slipway pr override 7 --revoke",
		Args:              exactArgs("ID"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.PullRequestOverride(cmd.Context(), args[0], !revoke)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			if revoke {
				return p.Linef("Pull request %s: the override of its approval rules is revoked", pr.ID)
			}
			return p.Linef("Pull request %s: its approval rules are overridden by %s", pr.ID, pr.OverriddenBy)
		},
	}
	cmd.Flags().BoolVar(&revoke, "revoke", false, "revoke the override")
	return cmd
}

// mergeable is the current revision's background merge check as the table shows it.
func mergeable(r api.PullRequestRevision) string {
	switch {
	case r.Mergeable == nil:
		return "not known yet"
	case *r.Mergeable:
		return "true"
	}
	return "false (conflicts: " + strings.Join(r.Conflicts, ", ") + ")"
}

// ruleOrigin names where a rule comes from: the pull request's own ("pull request"), an
// approval rule template ("template"), ...
func ruleOrigin(origin string) string {
	if origin == "" {
		return "pull request"
	}
	return origin
}
