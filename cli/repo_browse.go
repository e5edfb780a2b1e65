package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// The browse commands read a repository's content through the API (no clone needed): they are
// the CLI of /v1/repos/{name}/branches, tags, commits, tree, contents and compare.

func (c *cli) newRepoBranchesCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "branches NAME",
		Short:             "List a repository's branches",
		Example:           "  slipway repo branches web\n  slipway repo branches web --output json",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.RepoBranches(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Branches)
			}
			rows := make([][]string, 0, len(l.Branches))
			for _, b := range l.Branches {
				rows = append(rows, []string{b.Name, b.Commit})
			}
			return p.Table([]string{"BRANCH", "COMMIT"}, rows)
		},
	}
}

func (c *cli) newRepoTagsCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "tags NAME",
		Short:             "List a repository's tags",
		Example:           "  slipway repo tags web\n  slipway repo tags web --output json",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			l, err := cl.RepoTags(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(l.Tags)
			}
			rows := make([][]string, 0, len(l.Tags))
			for _, t := range l.Tags {
				subject, _, _ := strings.Cut(t.Message, "\n")
				rows = append(rows, []string{t.Name, t.Commit, subject})
			}
			return p.Table([]string{"TAG", "COMMIT", "MESSAGE"}, rows)
		},
	}
}

func (c *cli) newRepoLogCommand() *cobra.Command {
	var ref, path string
	var limit int
	cmd := &cobra.Command{
		Use:   "log NAME [--ref REF] [--path P] [--limit N]",
		Short: "Show a repository's commits, newest first",
		Long: `Shows the commits reachable from a branch, tag or commit (the default branch unless --ref
says), newest first, only those that change --path when it is given, at most --limit.`,
		Example:           "  slipway repo log web\n  slipway repo log web --ref v1.2 --path src/ --limit 5",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return usagef("--limit is %d: give a number of commits, at least 1", limit)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			var commits []api.Commit
			next := ""
			for len(commits) < limit {
				l, err := cl.RepoCommits(cmd.Context(), args[0], api.BrowseOptions{Ref: ref, Path: path},
					&api.QueryOptions{Limit: min(limit-len(commits), 1000), Next: next})
				if err != nil {
					return err
				}
				commits = append(commits, l.Commits...)
				if next = l.Next; next == "" {
					break
				}
			}
			if p.json() {
				return p.JSON(commits)
			}
			rows := make([][]string, 0, len(commits))
			for _, cm := range commits {
				rows = append(rows, []string{shortID(cm.ID), cm.Author.Name, cm.Author.Time.UTC().Format(time.DateTime), cm.Subject})
			}
			return p.Table([]string{"COMMIT", "AUTHOR", "DATE (UTC)", "SUBJECT"}, rows)
		},
	}
	cmd.Flags().StringVar(&ref, "ref", "", "branch, tag or commit to start from (default: the default branch)")
	cmd.Flags().StringVar(&path, "path", "", "only commits that change this file or directory")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many commits")
	return cmd
}

func (c *cli) newRepoTreeCommand() *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:               "tree NAME [PATH] [--ref REF]",
		Short:             "List a directory of a repository",
		Example:           "  slipway repo tree web\n  slipway repo tree web src/ --ref v1.2",
		ValidArgsFunction: cobra.NoFileCompletions,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%q takes NAME, the repository, and optionally PATH, a directory in it", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			o := api.BrowseOptions{Ref: ref}
			if len(args) == 2 {
				o.Path = args[1]
			}
			t, err := cl.RepoTree(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(t)
			}
			rows := make([][]string, 0, len(t.Entries))
			for _, e := range t.Entries {
				size, name := "-", e.Path
				if e.Type == "blob" {
					size = strconv.FormatInt(e.Size, 10)
				}
				if e.Type == "tree" {
					name += "/"
				}
				rows = append(rows, []string{e.Mode, e.Type, size, name})
			}
			if err := p.Table([]string{"MODE", "TYPE", "SIZE", "PATH"}, rows); err != nil {
				return err
			}
			if t.Truncated {
				return p.Linef("(only the first %d entries: the directory has more)", len(t.Entries))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ref, "ref", "", "branch, tag or commit (default: the default branch)")
	return cmd
}

func (c *cli) newRepoShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME REF:PATH",
		Short: "Print a file of a repository",
		Long: `Prints the bytes of the file PATH as of REF (a branch, tag or commit; ":PATH" alone is the
default branch), as they are stored. Files over the server's limit (10 MiB by default) are
refused: clone the repository for those.`,
		Example:           "  slipway repo show web main:README.md\n  slipway repo show web v1.2:src/app.go > app.go",
		ValidArgsFunction: cobra.NoFileCompletions,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("%q takes NAME, the repository, and REF:PATH, a file in it", cmd.CommandPath())
			}
			if _, path, ok := strings.Cut(args[1], ":"); !ok || path == "" {
				return usagef("%q is not REF:PATH: write for example main:README.md (or :README.md for the default branch)", args[1])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			ref, path, _ := strings.Cut(args[1], ":")
			return cl.RepoContents(cmd.Context(), args[0], api.BrowseOptions{Ref: ref, Path: path}, 0, p.w)
		},
	}
}

func (c *cli) newRepoDiffCommand() *cobra.Command {
	var stat bool
	cmd := &cobra.Command{
		Use:   "diff NAME BASE HEAD [--stat]",
		Short: "Show the changes between two commits of a repository",
		Long: `Shows the diff from BASE to HEAD (each a branch, tag or commit), as 'git diff BASE HEAD':
the patch, or with --stat the files changed and their lines added and deleted. A patch over the
server's bound is cut at a whole line and says so.`,
		Example:           "  slipway repo diff web v1.1 v1.2 --stat\n  slipway repo diff web main feature/login",
		ValidArgsFunction: cobra.NoFileCompletions,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 3 {
				return usagef("%q takes NAME, the repository, then BASE and HEAD, the commits to compare", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			d, err := cl.RepoCompare(cmd.Context(), args[0], args[1], args[2], stat)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(d)
			}
			if stat {
				rows := make([][]string, 0, len(d.Files))
				for _, f := range d.Files {
					add, del := strconv.Itoa(f.Additions), strconv.Itoa(f.Deletions)
					if f.Binary {
						add, del = "binary", "binary"
					}
					rows = append(rows, []string{"+" + add, "-" + del, f.Path})
				}
				if err := p.Table([]string{"ADDED", "DELETED", "PATH"}, rows); err != nil {
					return err
				}
			} else if _, err := fmt.Fprint(p.w, d.Patch); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			if d.Truncated {
				return p.Linef("(cut at the server's bound: clone the repository and run git diff %s %s for all of it)", shortID(d.Base), shortID(d.Head))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&stat, "stat", false, "the files changed and their line counts, not the patch")
	return cmd
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
