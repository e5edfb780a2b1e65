package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// newRepoApprovalTemplateCommand is `slipway repo approval-template
// create|update|list|get|delete|associate|disassociate`.
func (c *cli) newRepoApprovalTemplateCommand() *cobra.Command {
	cmd := nounCommand("approval-template", "Approval rule templates: one rule for the pull requests of many repositories",
		`  slipway repo approval-template create reviewers-required --approvals 1 --pool group:reviewers --branch main
  slipway repo approval-template associate reviewers-required --repo web
  slipway repo approval-template list
  slipway repo approval-template list --repo web
  slipway repo approval-template update reviewers-required --approvals 2
  slipway repo approval-template disassociate reviewers-required --repo web
  slipway repo approval-template delete reviewers-required`)
	cmd.Long = `An approval rule template (CodeCommit's) is a rule, N approvals of a pull request's current
revision from a pool (user names, group:NAME, or globs over user names such as dev-*), that
applies to every pull request of the repositories it is associated with whose destination branch
matches one of its --branch patterns (globs: main, release/*; none: every branch). 'slipway pr
evaluate' shows the rule under the approval rule template's name and origin, and a merge is
refused naming it while it does not hold.

Approval rule templates are read when a pull request is evaluated: one associated or changed
later applies to open pull requests too (CodeCommit copies them into a pull request when it is
opened). A cluster holds at most 1,000 approval rule templates; each needs 1-25 approvals, has
at most 100 pool entries and 50 branch patterns, and is associated with at most 1,000
repositories. Creating, changing and deleting need codecommit:CreateApprovalRuleTemplate, UpdateApprovalRuleTemplateContent
(and ...Description), DeleteApprovalRuleTemplate on approval-template/NAME; associating needs
codecommit:AssociateApprovalRuleTemplateWithRepository (Disassociate...) on the repository.`
	cmd.AddCommand(c.newTemplateCreateCommand(), c.newTemplateUpdateCommand(), c.newTemplateListCommand(), c.newTemplateGetCommand(),
		c.newTemplateDeleteCommand(), c.newTemplateAssociateCommand(true), c.newTemplateAssociateCommand(false))
	return cmd
}

// templateFlags are a template's content flags.
func templateFlags(cmd *cobra.Command, t *api.ApprovalTemplate) {
	f := cmd.Flags()
	f.IntVar(&t.Approvals, "approvals", 1, "approvals of the current revision the rule needs (1-25)")
	f.StringSliceVar(&t.Pool, "pool", nil, "who may approve (repeat, or a comma list): user names, group:NAME, globs (dev-*)")
	f.StringArrayVar(&t.Branches, "branch", nil, "a destination branch pattern it applies to (repeat; a glob: main, release/*; none: every branch)")
	f.StringVar(&t.Description, "description", "", "what it is for")
}

func (c *cli) newTemplateCreateCommand() *cobra.Command {
	var t api.ApprovalTemplate
	cmd := &cobra.Command{
		Use:   "create NAME --approvals N --pool USER|group:NAME|GLOB... [--branch PATTERN...] [--description D]",
		Short: "Create an approval rule template",
		Example: `  slipway repo approval-template create reviewers-required --approvals 1 --pool group:reviewers --branch main
  slipway repo approval-template create two-seniors --approvals 2 --pool alice,bob,'lead-*' --branch main --branch 'release/*'`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(t.Pool) == 0 {
				return usagef("give --pool: who may approve (user names, group:NAME, globs)")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			t.Name = args[0]
			out, err := cl.ApprovalTemplateCreate(cmd.Context(), t)
			if err != nil {
				return err
			}
			return printTemplate(p, out)
		},
	}
	templateFlags(cmd, &t)
	return cmd
}

func (c *cli) newTemplateUpdateCommand() *cobra.Command {
	var t api.ApprovalTemplate
	var allBranches bool
	cmd := &cobra.Command{
		Use:   "update NAME [--approvals N] [--pool ...] [--branch PATTERN... | --all-branches] [--description D]",
		Short: "Change an approval rule template's rule or description (the flags given; the rest stays)",
		Long: `Changes what the flags given say and keeps the rest: --approvals, --pool and --branch replace
the approval rule template's (--all-branches drops its branch patterns: it then applies to every branch);
--description replaces the description. Open pull requests are evaluated against the new rule
at once.`,
		Example: `  slipway repo approval-template update reviewers-required --approvals 2
  slipway repo approval-template update reviewers-required --branch main --branch 'release/*'
  slipway repo approval-template update reviewers-required --description "Two reviewers on main"`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			content := fl.Changed("approvals") || fl.Changed("pool") || fl.Changed("branch") || allBranches
			switch {
			case allBranches && fl.Changed("branch"):
				return usagef("give --branch or --all-branches, not both")
			case !content && !fl.Changed("description"):
				return usagef("nothing to change: give --approvals, --pool, --branch, --all-branches or --description")
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ctx, name := cmd.Context(), args[0]
			out, err := cl.ApprovalTemplateGet(ctx, name, &api.QueryOptions{Consistent: true})
			if err != nil {
				return err
			}
			if content {
				next := api.ApprovalTemplateContent{Approvals: out.Approvals, Pool: out.Pool, Branches: out.Branches}
				if fl.Changed("approvals") {
					next.Approvals = t.Approvals
				}
				if fl.Changed("pool") {
					next.Pool = t.Pool
				}
				if fl.Changed("branch") {
					next.Branches = t.Branches
				}
				if allBranches {
					next.Branches = nil
				}
				if out, err = cl.ApprovalTemplateUpdateContent(ctx, name, next); err != nil {
					return err
				}
			}
			if fl.Changed("description") {
				if out, err = cl.ApprovalTemplateUpdateDescription(ctx, name, t.Description); err != nil {
					return err
				}
			}
			return printTemplate(p, out)
		},
	}
	templateFlags(cmd, &t)
	cmd.Flags().BoolVar(&allBranches, "all-branches", false, "drop the branch patterns: apply to pull requests into every branch")
	return cmd
}

func (c *cli) newTemplateListCommand() *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:   "list [--repo R]",
		Short: "List the approval rule templates, or those associated with a repository",
		Example: `  slipway repo approval-template list
  slipway repo approval-template list --repo web --output json`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			var all []api.ApprovalTemplate
			if repo != "" {
				l, err := cl.RepoApprovalTemplates(cmd.Context(), repo, nil)
				if err != nil {
					return err
				}
				all = l.Templates
			} else {
				q := &api.QueryOptions{Limit: 100}
				for {
					l, err := cl.ApprovalTemplateList(cmd.Context(), q)
					if err != nil {
						return err
					}
					all = append(all, l.Templates...)
					if l.Next == "" {
						break
					}
					q.Next = l.Next
				}
			}
			if p.json() {
				return p.JSON(api.ApprovalTemplateList{Templates: all})
			}
			rows := make([][]string, 0, len(all))
			for _, t := range all {
				rows = append(rows, []string{t.Name, strconv.Itoa(t.Approvals), strings.Join(t.Pool, ","), branchesOf(t), strings.Join(t.Repositories, ",")})
			}
			return p.Table([]string{"NAME", "APPROVALS", "POOL", "BRANCHES", "REPOSITORIES"}, rows)
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "only the approval rule templates associated with this repository")
	return cmd
}

func (c *cli) newTemplateGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "get NAME",
		Short:             "Show an approval rule template and the repositories it is associated with",
		Example:           "  slipway repo approval-template get reviewers-required\n  slipway repo approval-template get reviewers-required --output json",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			t, err := cl.ApprovalTemplateGet(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			return printTemplate(p, t)
		},
	}
}

func (c *cli) newTemplateDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "delete NAME",
		Short:             "Delete an approval rule template and its associations (its rule no longer applies)",
		Example:           "  slipway repo approval-template delete reviewers-required",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.ApprovalTemplateDelete(cmd.Context(), args[0]); err != nil {
				return err
			}
			return p.Linef("Deleted approval rule template %s", args[0])
		},
	}
}

// newTemplateAssociateCommand is associate (on) or disassociate.
func (c *cli) newTemplateAssociateCommand(on bool) *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:   "associate NAME --repo R",
		Short: "Apply an approval rule template to a repository's pull requests (open ones included)",
		Long: `Associates the approval rule template with the repository: from then on its rule applies to the
repository's pull requests into a branch that matches its patterns, open ones included.
Associating again changes nothing. A repository deleted and created again under its name is
another repository: associate it again.`,
		Example:           "  slipway repo approval-template associate reviewers-required --repo web",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if on {
				if err := cl.ApprovalTemplateAssociate(cmd.Context(), args[0], repo); err != nil {
					return err
				}
				return p.Linef("Associated approval rule template %s with %s", args[0], repo)
			}
			if err := cl.ApprovalTemplateDisassociate(cmd.Context(), args[0], repo); err != nil {
				return err
			}
			return p.Linef("Disassociated approval rule template %s from %s", args[0], repo)
		},
	}
	if !on {
		cmd.Use = "disassociate NAME --repo R"
		cmd.Short = "Stop applying an approval rule template to a repository's pull requests"
		cmd.Long = ""
		cmd.Example = "  slipway repo approval-template disassociate reviewers-required --repo web"
	}
	repoFlag(cmd, &repo)
	return cmd
}

func printTemplate(p *printer, t *api.ApprovalTemplate) error {
	if p.json() {
		return p.JSON(t)
	}
	return p.Fields([]field{
		{"Name", t.Name},
		{"Description", t.Description},
		{"Approvals", strconv.Itoa(t.Approvals)},
		{"Pool", strings.Join(t.Pool, ", ")},
		{"Branches", branchesOf(*t)},
		{"Repositories", strings.Join(t.Repositories, ", ")},
	})
}

// branchesOf names a template's branch patterns, "(every branch)" when it has none.
func branchesOf(t api.ApprovalTemplate) string {
	if len(t.Branches) == 0 {
		return "(every branch)"
	}
	return strings.Join(t.Branches, ",")
}
