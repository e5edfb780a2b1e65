package cli

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

func (c *cli) newProjectCommand() *cobra.Command {
	cmd := nounCommand("project", "Manage build projects (CodeBuild's): what builds build and how",
		`  slipway project create web --repo shop --branch main
  slipway project create nightly --repo shop --buildspec ci/nightly.yml --image golang:1.23 --label arch=amd64
  slipway project list
  slipway project get web --output json
  slipway project update web --timeout 30m
  slipway project delete web`)
	cmd.Long = `A build project says where its builds take their source (a repository at a branch, tag or
commit; or none, with the buildspec inline), which buildspec they run (buildspec.yml of the
source, another path, or inline), the environment they run in (a Docker image or the worker's
host, labels a worker must carry, variables plain or from secrets), and their limits (timeout,
queued timeout, concurrent builds). A build copies the project's settings when it starts. Names
are 2-255 letters, digits, '_' and '-'; a cluster holds at most 5,000 projects. See
docs/BUILDS.md.`
	cmd.AddCommand(c.newProjectCreateCommand(), c.newProjectUpdateCommand(), c.newProjectListCommand(),
		c.newProjectGetCommand(), c.newProjectDeleteCommand())
	return cmd
}

// projectFlags are the settings flags create and update share.
type projectFlags struct {
	description, repo, branch, version, buildspec, buildspecFile string
	noSource, privileged                                         bool
	image, artifacts, artifactsName, cache, role                 string
	labels, env, secretEnv                                       []string
	timeout, queuedTimeout                                       time.Duration
	concurrent                                                   int
}

func (f *projectFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.description, "description", "", "what the project builds (at most 255 bytes)")
	fl.StringVar(&f.repo, "repo", "", "the repository the builds take their source from")
	fl.StringVar(&f.branch, "branch", "", "the branch builds take by default (default: the repository's default branch)")
	fl.StringVar(&f.version, "source-version", "", "the tag or commit builds take by default, instead of --branch")
	fl.BoolVar(&f.noSource, "no-source", false, "builds have no source: give the buildspec with --buildspec-file")
	fl.StringVar(&f.buildspec, "buildspec", "", "the buildspec's path in the source (default buildspec.yml)")
	fl.StringVar(&f.buildspecFile, "buildspec-file", "", "a local buildspec file whose text the project keeps inline (checked now)")
	fl.StringVar(&f.image, "image", "", `the Docker image builds run in ("" runs them on the worker's host)`)
	fl.StringArrayVar(&f.labels, "label", nil, "KEY=VALUE a worker must carry (os, arch, docker, ...); repeat for more")
	fl.BoolVar(&f.privileged, "privileged", false, "run the build's container in Docker's privileged mode")
	fl.StringArrayVar(&f.env, "env", nil, "NAME=VALUE, a variable of the builds' environment; repeat for more")
	fl.StringArrayVar(&f.secretEnv, "secret-env", nil, "NAME=SECRET, a variable whose value the build reads from secret SECRET; repeat for more")
	fl.DurationVar(&f.timeout, "timeout", 0, "how long a build may run, 5m to 36h (default 60m)")
	fl.DurationVar(&f.queuedTimeout, "queued-timeout", 0, "how long a build may wait in the queue, 5m to 8h (default 8h)")
	fl.IntVar(&f.concurrent, "concurrent-build-limit", 0, "how many of the project's builds may run at once (0: no limit)")
	fl.StringVar(&f.artifacts, "artifacts", "", "NO_ARTIFACTS (the default) or BLOB: keep the primary artifact in the cluster")
	fl.StringVar(&f.artifactsName, "artifacts-name", "", "the primary artifact's name (with --artifacts BLOB)")
	fl.StringVar(&f.cache, "cache", "", "NO_CACHE (the default) or LOCAL: keep the cache paths on the worker")
	fl.StringVar(&f.role, "service-role", "", "the role whose policies bound what the builds may read (secrets)")
}

// minutes turns a duration flag into whole minutes.
func minutes(flag string, d time.Duration) (int, error) {
	if d <= 0 || d%time.Minute != 0 {
		return 0, usagef("--%s %s is not a whole number of minutes: write e.g. --%s 30m", flag, d, flag)
	}
	return int(d / time.Minute), nil
}

// parseVariables turns --env NAME=VALUE and --secret-env NAME=SECRET into variables.
func parseVariables(env, secretEnv []string) ([]api.EnvironmentVariable, error) {
	var out []api.EnvironmentVariable
	for _, set := range []struct {
		flag, typ string
		vals      []string
	}{{"env", api.VariablePlaintext, env}, {"secret-env", api.VariableSecretsManager, secretEnv}} {
		for _, f := range set.vals {
			k, v, ok := strings.Cut(f, "=")
			if !ok || !envNameRe.MatchString(k) || (set.typ == api.VariableSecretsManager && v == "") {
				return nil, usagef("--%s %q: write NAME=%s, NAME made of letters, digits and underscores", set.flag, f, map[string]string{"env": "VALUE", "secret-env": "SECRET"}[set.flag])
			}
			out = append(out, api.EnvironmentVariable{Name: k, Value: v, Type: set.typ})
		}
	}
	return out, nil
}

func parseLabels(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, usagef("--label %q: write KEY=VALUE, such as os=linux", f)
		}
		out[k] = v
	}
	return out, nil
}

// readInline reads --buildspec-file.
func readInline(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read --buildspec-file: %w", err)
	}
	return string(b), nil
}

func (c *cli) newProjectCreateCommand() *cobra.Command {
	var f projectFlags
	cmd := &cobra.Command{
		Use:   "create NAME --repo REPO [--branch BRANCH] [--buildspec PATH] [flags]",
		Short: "Create a build project",
		Long: `Creates a build project over repository --repo: its builds take the branch --branch (or the tag
or commit --source-version; default the repository's default branch) unless a build names
another, and run the buildspec at --buildspec in the source (default buildspec.yml). With
--no-source builds have no source and run the buildspec of --buildspec-file, kept inline in the
project and validated now. --image runs builds in that Docker image (default: on the worker's
host); --label requires workers carrying that label. --env and --secret-env set variables; a
secret variable keeps the secret's name, and the build reads its value when it runs, under
--service-role.`,
		Example: `  slipway project create web --repo shop
  slipway project create web --repo shop --branch main --buildspec ci/buildspec.yml --timeout 30m
  slipway project create nightly --repo shop --image golang:1.23 --label arch=amd64 --env STAGE=nightly --secret-env NPM_TOKEN=ci/npm-token --service-role build-web
  slipway project create hello --no-source --buildspec-file ./buildspec.yml`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.ProjectCreateRequest{Name: args[0], Description: f.description, ConcurrentBuildLimit: f.concurrent,
				Artifacts: api.ProjectArtifacts{Type: f.artifacts, Name: f.artifactsName}, Cache: api.ProjectCache{Type: f.cache}, ServiceRole: f.role}
			if f.artifactsName != "" && f.artifacts == "" {
				req.Artifacts.Type = api.ArtifactsBlob
			}
			src, version, err := f.source(cmd, api.ProjectSource{Type: api.SourceSlipwayRepo})
			if err != nil {
				return err
			}
			if !f.noSource && f.repo == "" {
				return usagef("give the repository with --repo, or --no-source with --buildspec-file")
			}
			req.Source, req.SourceVersion = src, version
			if req.Environment, err = f.environment(cmd, api.BuildEnvironment{}); err != nil {
				return err
			}
			if f.timeout != 0 {
				if req.TimeoutMinutes, err = minutes("timeout", f.timeout); err != nil {
					return err
				}
			}
			if f.queuedTimeout != 0 {
				if req.QueuedTimeoutMinutes, err = minutes("queued-timeout", f.queuedTimeout); err != nil {
					return err
				}
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.ProjectCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Created build project %s", pr.Name)
		},
	}
	f.add(cmd)
	return cmd
}

// source applies the source flags that were given to src; version is the default version the
// flags name ("" when neither --branch nor --source-version was given).
func (f *projectFlags) source(cmd *cobra.Command, src api.ProjectSource) (api.ProjectSource, string, error) {
	changed := cmd.Flags().Changed
	if f.branch != "" && f.version != "" {
		return src, "", usagef("give --branch or --source-version, not both")
	}
	if f.buildspec != "" && f.buildspecFile != "" {
		return src, "", usagef("give --buildspec (a path in the source) or --buildspec-file (inline), not both")
	}
	if f.noSource {
		if f.repo != "" || f.branch != "" || f.version != "" || f.buildspec != "" {
			return src, "", usagef("--no-source takes no --repo, --branch, --source-version or --buildspec: give the buildspec with --buildspec-file")
		}
		if f.buildspecFile == "" && src.BuildspecInline == "" {
			return src, "", usagef("--no-source needs the buildspec inline: give --buildspec-file FILE")
		}
		src.Type, src.Repository, src.Buildspec = api.SourceNone, "", ""
	} else if changed("repo") {
		src.Type, src.Repository = api.SourceSlipwayRepo, f.repo
	}
	if changed("buildspec") {
		src.Buildspec, src.BuildspecInline = f.buildspec, ""
	}
	if f.buildspecFile != "" {
		text, err := readInline(f.buildspecFile)
		if err != nil {
			return src, "", err
		}
		src.Buildspec, src.BuildspecInline = "", text
	}
	version := f.branch
	if f.version != "" {
		version = f.version
	}
	return src, version, nil
}

// environment applies the environment flags that were given to env: --env and --secret-env
// together replace the variables, --label replaces the labels.
func (f *projectFlags) environment(cmd *cobra.Command, env api.BuildEnvironment) (api.BuildEnvironment, error) {
	changed := cmd.Flags().Changed
	if changed("image") {
		env.Image = f.image
	}
	if changed("privileged") {
		env.Privileged = f.privileged
	}
	if changed("label") {
		labels, err := parseLabels(f.labels)
		if err != nil {
			return env, err
		}
		env.Labels = labels
	}
	if changed("env") || changed("secret-env") {
		vars, err := parseVariables(f.env, f.secretEnv)
		if err != nil {
			return env, err
		}
		env.Variables = vars
	}
	return env, nil
}

func (c *cli) newProjectUpdateCommand() *cobra.Command {
	var f projectFlags
	cmd := &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change a build project's settings",
		Long: `Changes the settings whose flags are given and leaves the others. --env and --secret-env together
replace the project's variables, --label its labels; --concurrent-build-limit 0 removes the
limit. Builds already started keep the settings they started with.`,
		Example: `  slipway project update web --timeout 30m --description "the shop's web front"
  slipway project update web --branch release --buildspec ci/release.yml
  slipway project update web --env STAGE=prod --secret-env DB_PASSWORD=prod/db/password`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			changed := cmd.Flags().Changed
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			var req api.ProjectUpdateRequest
			if changed("description") {
				req.Description = &f.description
			}
			if changed("concurrent-build-limit") {
				req.ConcurrentBuildLimit = &f.concurrent
			}
			if changed("service-role") {
				req.ServiceRole = &f.role
			}
			if changed("cache") {
				req.Cache = &api.ProjectCache{Type: f.cache}
			}
			if changed("artifacts") || changed("artifacts-name") {
				a := api.ProjectArtifacts{Type: f.artifacts, Name: f.artifactsName}
				if a.Type == "" {
					a.Type = api.ArtifactsBlob
				}
				req.Artifacts = &a
			}
			for _, t := range []struct {
				flag string
				d    time.Duration
				dst  **int
			}{{"timeout", f.timeout, &req.TimeoutMinutes}, {"queued-timeout", f.queuedTimeout, &req.QueuedTimeoutMinutes}} {
				if changed(t.flag) {
					m, err := minutes(t.flag, t.d)
					if err != nil {
						return err
					}
					*t.dst = &m
				}
			}
			// Source and environment are replaced whole: start from the project's.
			if f.noSource || changed("repo") || changed("branch") || changed("source-version") || changed("buildspec") || changed("buildspec-file") ||
				changed("image") || changed("privileged") || changed("label") || changed("env") || changed("secret-env") {
				cur, err := cl.ProjectGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: true})
				if err != nil {
					return err
				}
				src, version, err := f.source(cmd, cur.Source)
				if err != nil {
					return err
				}
				if src != cur.Source {
					req.Source = &src
				}
				if changed("branch") || changed("source-version") || f.noSource {
					req.SourceVersion = &version
				}
				env, err := f.environment(cmd, cur.Environment)
				if err != nil {
					return err
				}
				req.Environment = &env
			}
			pr, err := cl.ProjectUpdate(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			return p.Linef("Updated build project %s", pr.Name)
		},
	}
	f.add(cmd)
	return cmd
}

func (c *cli) newProjectListCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List build projects",
		Example: `  slipway project list
  slipway project list --output json`,
		Args:              exactArgs(),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			list, err := allPages(cmd.Context(), func(next string) ([]api.BuildProject, string, error) {
				l, err := cl.ProjectList(cmd.Context(), &api.QueryOptions{Consistent: consistent, Next: next})
				if err != nil {
					return nil, "", err
				}
				return l.Projects, l.Next, nil
			})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(list)
			}
			rows := make([][]string, 0, len(list))
			for _, pr := range list {
				rows = append(rows, []string{pr.Name, projectSource(pr), cell(pr.Environment.Image), formatTime(pr.ModifyTime), cell(pr.Description)})
			}
			return p.Table([]string{"NAME", "SOURCE", "IMAGE", "MODIFIED", "DESCRIPTION"}, rows)
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

// projectSource is a project's source in a table: REPO@VERSION, or NO_SOURCE.
func projectSource(pr api.BuildProject) string {
	if pr.Source.Type == api.SourceNone {
		return api.SourceNone
	}
	if pr.SourceVersion == "" {
		return pr.Source.Repository
	}
	return pr.Source.Repository + "@" + pr.SourceVersion
}

func (c *cli) newProjectGetCommand() *cobra.Command {
	var consistent bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a build project",
		Example: `  slipway project get web
  slipway project get web --output json`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			pr, err := cl.ProjectGet(cmd.Context(), args[0], &api.QueryOptions{Consistent: consistent})
			if err != nil {
				return err
			}
			if p.json() {
				return p.JSON(pr)
			}
			spec := pr.Source.Buildspec
			switch {
			case pr.Source.BuildspecInline != "":
				spec = fmt.Sprintf("(inline, %d bytes)", len(pr.Source.BuildspecInline))
			case spec == "" && pr.Source.Type != api.SourceNone:
				spec = "buildspec.yml"
			}
			limit := "none"
			if pr.ConcurrentBuildLimit > 0 {
				limit = strconv.Itoa(pr.ConcurrentBuildLimit)
			}
			return p.Fields([]field{
				{"Name", pr.Name}, {"Description", cell(pr.Description)}, {"Source", projectSource(*pr)}, {"Buildspec", spec},
				{"Image", cell(pr.Environment.Image)}, {"Labels", cell(joinMap(pr.Environment.Labels))}, {"Privileged", yesNo(pr.Environment.Privileged)},
				{"Variables", cell(variablesText(pr.Environment.Variables))},
				{"Timeout", (time.Duration(pr.TimeoutMinutes) * time.Minute).String()},
				{"Queued timeout", (time.Duration(pr.QueuedTimeoutMinutes) * time.Minute).String()},
				{"Concurrent builds", limit}, {"Artifacts", strings.TrimSpace(pr.Artifacts.Type + " " + pr.Artifacts.Name)},
				{"Cache", pr.Cache.Type}, {"Service role", cell(pr.ServiceRole)},
				{"Created", formatTime(pr.CreateTime) + " by " + cell(pr.CreatedBy)}, {"Modified", formatTime(pr.ModifyTime)},
			})
		},
	}
	addConsistentFlag(cmd, &consistent)
	return cmd
}

func joinMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

// variablesText lists variables as NAME=VALUE, a secret one as NAME=secret:SECRET.
func variablesText(vs []api.EnvironmentVariable) string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if v.Type == api.VariableSecretsManager {
			out = append(out, v.Name+"=secret:"+v.Value)
		} else {
			out = append(out, v.Name+"="+v.Value)
		}
	}
	return strings.Join(out, " ")
}

func (c *cli) newProjectDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a build project and its builds' records",
		Long: `Deletes the project and the records of its builds. A project with builds queued or in progress
is not deleted: stop them first ('slipway build stop ID').`,
		Example:           `  slipway project delete web`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			if err := cl.ProjectDelete(cmd.Context(), args[0]); err != nil {
				return err
			}
			return p.Linef("Deleted build project %s", args[0])
		},
	}
}
