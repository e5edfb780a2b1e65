package cli

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newRepoCommand() *cobra.Command {
	cmd := nounCommand("repo", "Create, list, browse, rename and delete git repositories",
		`  slipway repo create web --description "The web front"
  slipway repo list
  slipway repo get web --output json
  slipway repo rename web website
  slipway repo delete website --confirm website
  slipway repo log web --limit 5
  slipway repo show web main:README.md
  slipway repo diff web v1.1 v1.2 --stat
  slipway repo import web --from https://git.example.com/team/web.git`)
	cmd.Long = `The cluster hosts git repositories that ordinary git clients clone, fetch and push through
any server (the clone URL is on 'slipway repo get'). Names are 1-100 letters, digits, '.', '_'
or '-', not ending in ".git"; the cluster holds at most 10,000 repositories. Reading them and
their content (branches, tags, log, tree, show, diff, bundle) is allowed by
CodeCommitReadOnlyAccess; creating, changing, importing and deleting by CodeCommitFullAccess.
'slipway repo import' brings in another repository's branches and tags, or restores a bundle.`
	cmd.AddCommand(c.newRepoCreateCommand(), c.newRepoListCommand(), c.newRepoGetCommand(),
		c.newRepoRenameCommand(), c.newRepoDeleteCommand(), c.newRepoBranchesCommand(), c.newRepoTagsCommand(),
		c.newRepoLogCommand(), c.newRepoTreeCommand(), c.newRepoShowCommand(), c.newRepoDiffCommand())
	cmd.AddCommand(c.newRepoBundleCommand(), c.newRepoImportCommand(), c.newRepoMaintenanceCommand(), c.newRepoHostKeyCommand(), c.newRepoPutFileCommand(), c.newRepoMergeCommand())
	cmd.AddCommand(c.newRepoProtectCommand(), c.newRepoStatusCommand())
	cmd.AddCommand(c.newRepoHookCommand())
	cmd.AddCommand(c.newRepoApprovalTemplateCommand())
	return cmd
}

func (c *cli) newRepoHostKeyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "host-key",
		Short: "Show the cluster's SSH host key, to pin it in known_hosts",
		Long: `Every server of the cluster presents the same SSH host key to git over SSH, so one
known_hosts entry holds through a failover. This prints its fingerprint (compare it with what
ssh shows on the first connection) and a known_hosts line for the server asked; append the line
to ~/.ssh/known_hosts, or name the key once for every server with ssh's HostKeyAlias.`,
		Example: `  slipway repo host-key
  slipway repo host-key --output json
  slipway repo host-key --output json | jq -r .known_hosts >> ~/.ssh/known_hosts`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			k, err := cl.GitSSHHostKey(cmd.Context())
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(k)
			}
			port := "none (this server serves no git over SSH)"
			if k.Port > 0 {
				port = strconv.Itoa(k.Port)
			}
			if err := p.Linef("Fingerprint: %s\nKey:         %s\nSSH port:    %s", k.Fingerprint, k.PublicKey, port); err != nil {
				return err
			}
			if k.KnownHosts != "" {
				return p.Linef("known_hosts %s", k.KnownHosts)
			}
			return nil
		},
	}
}

func (c *cli) newRepoCreateCommand() *cobra.Command {
	var description, branch string
	cmd := &cobra.Command{
		Use:               "create NAME [--description D] [--default-branch main]",
		Short:             "Create a repository",
		Example:           "  slipway repo create web --description \"The web front\" --default-branch main",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			r, err := cl.RepoCreate(cmd.Context(), api.RepositoryCreateRequest{Name: args[0], Description: description, DefaultBranch: branch})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(r)
			}
			return p.Linef("Created repository %s: git clone %s", r.Name, r.CloneURLHTTP)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the repository holds")
	cmd.Flags().StringVar(&branch, "default-branch", "main", "the branch a clone checks out")
	return cmd
}

func (c *cli) newRepoListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:               "list",
		Aliases:           []string{"ls"},
		Short:             "List repositories",
		Example:           "  slipway repo list\n  slipway repo list --output json",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			repos, err := listRepos(cmd.Context(), cl, consistent)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(repos)
			}
			rows := make([][]string, 0, len(repos))
			for _, r := range repos {
				rows = append(rows, []string{r.Name, r.DefaultBranch, cell(r.Description), r.CloneURLHTTP})
			}
			return p.Table([]string{"NAME", "DEFAULT BRANCH", "DESCRIPTION", "CLONE URL"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func listRepos(ctx context.Context, cl *api.Client, consistent bool) ([]api.Repository, error) {
	return allPages(ctx, func(next string) ([]api.Repository, string, error) {
		l, err := cl.RepoList(ctx, &api.QueryOptions{Consistent: consistent, Next: next})
		if err != nil {
			return nil, "", err
		}
		return l.Repositories, l.Next, nil
	})
}

func (c *cli) newRepoGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:               "get NAME",
		Short:             "Show a repository",
		Example:           "  slipway repo get web\n  slipway repo get web --output json",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			r, err := cl.RepoGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(r)
			}
			var tags []string
			for k, v := range r.Tags {
				tags = append(tags, k+"="+v)
			}
			sort.Strings(tags)
			return p.Fields([]field{
				{"Name", r.Name},
				{"ID", r.ID},
				{"Description", cell(r.Description)},
				{"Default Branch", r.DefaultBranch},
				{"Tags", strings.Join(tags, ", ")},
				{"Clone URL", r.CloneURLHTTP},
				{"Clone URL SSH", cell(r.CloneURLSSH)},
				{"Create Index", strconv.FormatUint(r.CreateIndex, 10)},
				{"Modify Index", strconv.FormatUint(r.ModifyIndex, 10)},
			})
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func (c *cli) newRepoRenameCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Rename a repository",
		Long: `Renames a repository. Its history, refs and ID stay; its clone URL changes, so clones must
update their remote (git remote set-url origin NEW_URL).`,
		Example: "  slipway repo rename web website",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("%q takes OLD and NEW, the repository's name and its new one", cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			r, err := cl.RepoUpdate(cmd.Context(), args[0], api.RepositoryUpdateRequest{Name: &args[1]})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(r)
			}
			return p.Linef("Renamed repository %s to %s: clone URL %s", args[0], r.Name, r.CloneURLHTTP)
		},
	}
}

func (c *cli) newRepoDeleteCommand() *cobra.Command {
	var confirm string
	cmd := &cobra.Command{
		Use:     "delete NAME --confirm NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a repository and its history",
		Long: `Deletes a repository with its refs and history on every server. It cannot be undone:
--confirm must repeat the name.`,
		Example:           "  slipway repo delete website --confirm website",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if confirm != args[0] {
				return usagef("deleting repository %s loses its history: repeat its name with --confirm %s", args[0], args[0])
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.RepoDelete(cmd.Context(), args[0], confirm); err != nil {
				return err
			}
			return p.Linef("Deleted repository %s", args[0])
		},
	}
	cmd.Flags().StringVar(&confirm, "confirm", "", "the repository's name again, to confirm the delete")
	return cmd
}
