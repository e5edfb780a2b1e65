package cli

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newRepoProtectCommand() *cobra.Command {
	var rule api.BranchProtection
	var list, remove bool
	cmd := &cobra.Command{
		Use:   "protect NAME (--branch PATTERN [--no-force-push] [--no-delete] [--require-pr] [--push-principal P ...] [--require-status CTX ...] | --branch PATTERN --remove | --list)",
		Short: "Protect branches of a repository: no force push, no deletion, who may push, pull requests, required statuses",
		Long: `Sets the branch protection rule of a branch pattern (a glob on the branch name: main,
release/*; '*' does not cross a '/'), replacing the pattern's earlier rule. Every move of a
matching branch (git push over HTTPS or SSH, a file edited through the API or console, a pull
request's merge) is checked before it is stored, and refused with git's "remote rejected" and
the reason when:
  --no-force-push      the branch's commit is not an ancestor of the new one
  --no-delete          the branch is deleted
  --require-pr         the move is not a pull request's merge
  --push-principal P   the pusher is none of the principals (repeat it): a user or group name,
                       user:NAME, group:NAME, KIND:NAME for a token or role, or a glob of them
  --require-status C   the status context C (repeat it) is not success on the new commit
                       (slipway repo status set)
A repository has at most 50 rules. --list shows them; --remove drops the pattern's rule.
Setting and removing need codecommit:PutBranchProtection / DeleteBranchProtection.`,
		Example: `  slipway repo protect web --branch main --no-force-push --no-delete --push-principal maintainers
  slipway repo protect web --branch 'release/*' --require-status ci/build
  slipway repo protect web --list
  slipway repo protect web --branch 'release/*' --remove`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			switch {
			case list && (remove || rule.Pattern != ""):
				return &usageError{errors.New("--list takes no --branch or --remove")}
			case !list && rule.Pattern == "":
				return &usageError{errors.New("give --branch PATTERN (the branches to protect), or --list")}
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			switch {
			case list:
				l, err := cl.RepoProtections(ctx, name)
				if err != nil {
					return err
				}
				if p.json() {
					return p.JSON(l)
				}
				rows := make([][]string, 0, len(l.Protections))
				for _, r := range l.Protections {
					rows = append(rows, []string{r.Pattern, ruleSummary(r), strings.Join(r.PushPrincipals, ","), strings.Join(r.RequiredStatuses, ",")})
				}
				return p.Table([]string{"PATTERN", "RULES", "PUSH PRINCIPALS", "REQUIRED STATUSES"}, rows)
			case remove:
				if err := cl.RepoUnprotect(ctx, name, rule.Pattern); err != nil {
					return err
				}
				return p.Linef("Removed the protection of %s on %s", rule.Pattern, name)
			}
			out, err := cl.RepoProtect(ctx, name, rule)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(out)
			}
			return p.Fields([]field{
				{"Pattern", out.Pattern},
				{"Rules", ruleSummary(*out)},
				{"Push Principals", strings.Join(out.PushPrincipals, ", ")},
				{"Required Statuses", strings.Join(out.RequiredStatuses, ", ")},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&rule.Pattern, "branch", "", "the branch pattern the rule protects (a glob: main, release/*)")
	f.BoolVar(&rule.NoForcePush, "no-force-push", false, "refuse moves that are not fast-forwards")
	f.BoolVar(&rule.NoDelete, "no-delete", false, "refuse deleting the branch")
	f.BoolVar(&rule.RequirePR, "require-pr", false, "allow changes only through a pull request's merge")
	f.StringArrayVar(&rule.PushPrincipals, "push-principal", nil, "who may push (repeat): user or group name, user:NAME, group:NAME, or a glob")
	f.StringArrayVar(&rule.RequiredStatuses, "require-status", nil, "a status context that must be success on the new commit (repeat)")
	f.BoolVar(&list, "list", false, "list the repository's rules")
	f.BoolVar(&remove, "remove", false, "remove the rule of --branch")
	return cmd
}

// ruleSummary names a rule's switches.
func ruleSummary(r api.BranchProtection) string {
	var s []string
	if r.NoForcePush {
		s = append(s, "no-force-push")
	}
	if r.NoDelete {
		s = append(s, "no-delete")
	}
	if r.RequirePR {
		s = append(s, "require-pr")
	}
	return strings.Join(s, ",")
}

func (c *cli) newRepoStatusCommand() *cobra.Command {
	cmd := nounCommand("status", "Set and list the statuses of a commit (CI systems report through them)",
		`  slipway repo status set web 3f2a... --context ci/build --state success --url https://ci.example.com/42
  slipway repo status list web 3f2a...`)
	var req api.CommitStatusRequest
	set := &cobra.Command{
		Use:   "set NAME COMMIT --context C --state pending|success|failure|error [--description D] [--url U]",
		Short: "Add a status to a commit (the latest of a context is its state)",
		Example: `  slipway repo status set web 3f2a... --context ci/build --state pending
  slipway repo status set web 3f2a... --context ci/build --state success --url https://ci.example.com/42`,
		Long: `Adds a status to a commit (its full 40-hex ID): its state for a context such as ci/build.
The latest status of a context is the context's state; a branch protection rule's
--require-status contexts must be success on a branch's new commit. A commit holds at most 100
contexts and 1,000 statuses; a repository keeps its latest 10,000 statuses.`,
		Args:              exactArgs("NAME", "COMMIT"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			s, err := cl.RepoSetStatus(cmd.Context(), args[0], args[1], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(s)
			}
			return p.Linef("%s is %s on %s", s.Context, s.State, s.Commit)
		},
	}
	set.Flags().StringVar(&req.Context, "context", "", "what reports the status, e.g. ci/build")
	set.Flags().StringVar(&req.State, "state", "", "pending, success, failure or error")
	set.Flags().StringVar(&req.Description, "description", "", "a short description")
	set.Flags().StringVar(&req.TargetURL, "url", "", "a link to the details (http or https)")
	list := &cobra.Command{
		Use:               "list NAME COMMIT",
		Short:             "List a commit's statuses: the latest per context and the combined state",
		Example:           "  slipway repo status list web 3f2a... --output json",
		Args:              exactArgs("NAME", "COMMIT"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			s, err := cl.RepoStatuses(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(s)
			}
			rows := make([][]string, 0, len(s.Latest))
			for _, l := range s.Latest {
				rows = append(rows, []string{l.Context, l.State, l.Description, l.TargetURL, l.Creator})
			}
			if err := p.Table([]string{"CONTEXT", "STATE", "DESCRIPTION", "URL", "BY"}, rows); err != nil {
				return err
			}
			return p.Linef("Combined: %s", s.State)
		},
	}
	cmd.AddCommand(set, list)
	return cmd
}
