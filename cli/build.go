package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/builder"
	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/builder/report"
	"github.com/slipwayhq/slipway/buildspec"
)

func (c *cli) newBuildCommand() *cobra.Command {
	cmd := nounCommand("build", "Run builds (buildspec.yml)",
		`  slipway build local
  slipway build local ./web --artifacts out/ --output json
  slipway build start web
  slipway build list --project web
  slipway build get web:0b7c5a52-5b7e-4a4e-9d3c-1f2e3d4c5b6a --output json`)
	cmd.AddCommand(c.newBuildLocalCommand())
	cmd.AddCommand(c.newBuildStartCommand(), c.newBuildListCommand(), c.newBuildGetCommand(), c.newBuildStopCommand())
	cmd.AddCommand(c.newBuildLogsCommand(), c.newBuildArtifactsCommand(), c.newBuildReportsCommand())
	cmd.AddCommand(c.newBuildBatchCommand())
	return cmd
}

// buildLocalReport is the JSON output of `slipway build local`.
type buildLocalReport struct {
	BuildID            string                `json:"build_id,omitempty"`
	Status             string                `json:"status"`
	Phases             []builder.PhaseResult `json:"phases"`
	Artifacts          []string              `json:"artifacts"`
	ArtifactName       string                `json:"artifact_name,omitempty"`
	SecondaryArtifacts map[string][]string   `json:"secondary_artifacts,omitempty"`
	ExportedVariables  map[string]string     `json:"exported_variables"`
	Diagnostics        buildspec.Diagnostics `json:"diagnostics"`
	// Reports are the report groups' test reports (at most 500 cases each).
	Reports []report.Report `json:"reports"`
}

// buildFailed makes `build local` exit 1 after its report was printed.
type buildFailed struct{ status string }

func (e *buildFailed) Error() string { return "the build ended " + e.status }
func (e *buildFailed) ExitCode() int { return ExitFailure }

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseEnvFlags turns --env K=V flags into variables, refusing names a
// shell cannot use.
func parseEnvFlags(flags []string) ([]buildspec.Var, error) {
	var out []buildspec.Var
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !envNameRe.MatchString(k) {
			return nil, usagef("--env %q: write NAME=VALUE, NAME made of letters, digits and underscores", f)
		}
		out = append(out, buildspec.Var{Name: k, Value: v})
	}
	return out, nil
}

// emptyOrAbsent checks that dir can receive an artifact.
func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return usagef("--artifacts %s: %v", dir, err)
	case len(entries) > 0:
		return usagef("--artifacts %s is not empty; give a new or empty directory", dir)
	}
	return nil
}

func newBuildID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("local:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// gitHead returns the HEAD commit and the branch of dir when it is a git
// work tree, else "".
func gitHead(ctx context.Context, dir string) (commit, ref string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", ""
	}
	commit = strings.TrimSpace(string(out))
	if out, err := exec.CommandContext(ctx, "git", "-C", dir, "symbolic-ref", "-q", "--short", "HEAD").Output(); err == nil {
		ref = strings.TrimSpace(string(out))
	}
	return commit, ref
}

func (c *cli) newBuildLocalCommand() *cobra.Command {
	var (
		specPath  string
		envFlags  []string
		artifacts string
		image     string
		dockerCfg dockerFlags
		timeout   time.Duration
		cacheDir  string
		noCache   bool
	)
	cmd := &cobra.Command{
		Use:   "local [DIR]",
		Short: "Run a buildspec on this machine, without a server",
		Long: `Run the buildspec of DIR (default ".") on this machine as a build would run it, with the
process executor: DIR is copied into a fresh workspace (DIR itself is not changed), the commands
run as you in one shell session (buildspec 0.2) in their own process group, with CodeBuild's
phases, failure rules and CODEBUILD_* variables (docs/BUILDSPEC.md).

With --image, the Docker executor runs the build in a container of IMAGE instead: the copy of DIR
is mounted at /codebuild/output/src1/src, the commands run in the image's bash (its /bin/sh when it
has none) as its user (or run-as), and the container is removed at the end. The image must be on
this host (docker build, docker import or docker load) unless --pull is given; --network,
--memory, --cpus, --pids-limit and --privileged shape the container.

The buildspec is validated first: with errors, they are printed and no command runs. Values of
parameter-store and secrets-manager variables are given with --env NAME=VALUE and masked in the
log. --artifacts OUT receives the primary artifact's files, laid out as in the artifact; secondary
artifacts go to OUT-IDENTIFIER. Ctrl-C stops the build and kills every process it started.

The buildspec's reports (JUnit XML, Cucumber JSON) are read at the end and summarised; a report
never changes the exit code. Its cache (paths inside DIR) is restored before INSTALL and saved
after the build in --cache-dir (default: one per DIR under your cache directory); --no-cache
uses none.

The log goes to stdout, or to stderr with --output json, which prints {"status", "phases",
"artifacts", "exported_variables", "reports", ...} on stdout. Exit code 0 means the build
succeeded, 1 it failed or the buildspec is invalid, 2 a wrong command line, 130 it was
interrupted.`,
		Example: `  slipway build local
  slipway build local ./web --buildspec ./web/ci/buildspec-release.yml --artifacts out/
  slipway build local . --env STAGE=test --env DB_PASSWORD="$DB_PASSWORD" --output json
  slipway build local . --cache-dir /var/cache/slipway/web
  slipway build local . --image golang:1.26 --memory 2g --cpus 2 --network none`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := c.printer()
			if err != nil {
				return err
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return usagef("%s is not a directory; give the source directory of the build", dir)
			}
			if err := dockerCfg.validate(cmd, image); err != nil {
				return err
			}
			if specPath == "" {
				specPath = filepath.Join(dir, "buildspec.yml")
			}
			vars, err := parseEnvFlags(envFlags)
			if err != nil {
				return err
			}
			if timeout < 0 {
				return usagef("--timeout must be positive, e.g. --timeout 30m")
			}
			spec, diags, err := readBuildSpec(specPath)
			if err != nil {
				return err
			}
			report := buildLocalReport{Status: builder.StatusFailed, Phases: []builder.PhaseResult{}, Artifacts: []string{},
				ExportedVariables: map[string]string{}, Diagnostics: diags, Reports: []report.Report{}}
			if report.Diagnostics == nil {
				report.Diagnostics = buildspec.Diagnostics{}
			}
			log := c.stdout
			if p.json() {
				log = c.stderr
			}
			if len(diags) > 0 {
				if _, err := fmt.Fprint(log, diags.String()); err != nil {
					return err
				}
			}
			if errs := len(diags.Errors()); errs > 0 {
				if p.json() {
					if err := p.JSON(report); err != nil {
						return err
					}
				}
				return &invalidBuildSpec{errors: errs}
			}
			opts, err := c.localBuildOptions(cmd.Context(), spec, dir, vars, artifacts, log)
			if err != nil {
				return err
			}
			opts.Timeout = timeout
			if opts.CacheDir, err = localCacheDir(dir, cacheDir, noCache); err != nil {
				return err
			}
			if image != "" {
				d, err := dockerCfg.executor(cmd.Context(), image)
				if err != nil {
					return err
				}
				defer d.Close()
				// The image's environment (PATH, HOME) is the base, not this host's.
				opts.Executor, opts.BaseEnv = d, nil
			}
			res, err := builder.Run(cmd.Context(), spec, opts)
			if err != nil {
				return err
			}
			report.BuildID, report.Status, report.Phases = res.BuildID, res.Status, res.Phases
			report.Artifacts, report.ArtifactName, report.SecondaryArtifacts = res.Artifacts, res.ArtifactName, res.SecondaryArtifacts
			report.ExportedVariables = res.ExportedVariables
			report.Reports = res.Reports
			if p.json() {
				if err := p.JSON(report); err != nil {
					return err
				}
			} else if err := printBuildSummary(p, report, artifacts); err != nil {
				return err
			}
			if res.Status != builder.StatusSucceeded {
				return &buildFailed{status: res.Status}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&specPath, "buildspec", "", `the buildspec file (default DIR/buildspec.yml)`)
	f.StringArrayVar(&envFlags, "env", nil, "NAME=VALUE given to the build, over the buildspec's variables; also the values of its parameter-store and secrets-manager variables (repeatable)")
	f.StringVar(&artifacts, "artifacts", "", "an empty or new directory that receives the primary artifact's files")
	f.StringVar(&image, "image", "", "run the build in a container of this Docker image (the Docker executor) instead of as processes of this host")
	dockerCfg.register(f)
	f.DurationVar(&timeout, "timeout", builder.DefaultTimeout, "stop the build TIMED_OUT after this long")
	f.StringVar(&cacheDir, "cache-dir", "", "where the buildspec's cache is kept between builds (default: the user's cache directory, slipway/build-cache/ and a hash of DIR)")
	f.BoolVar(&noCache, "no-cache", false, "neither restore nor save the buildspec's cache")
	return cmd
}

// localBuildOptions fills the builder's options of a local build.
func (c *cli) localBuildOptions(ctx context.Context, spec *buildspec.Spec, dir string, vars []buildspec.Var, artifacts string, log io.Writer) (builder.Options, error) {
	secret := map[string]bool{}
	for _, v := range spec.Env.ParameterStore {
		secret[v.Name] = true
	}
	for _, v := range spec.Env.SecretsManager {
		secret[v.Name] = true
	}
	opts := builder.Options{
		Executor:  &executor.Process{},
		SourceDir: dir,
		BuildID:   newBuildID(),
		BaseEnv:   builder.HostBaseEnv(),
		Secrets:   map[string]string{},
		Log:       log,
	}
	for _, v := range vars {
		if secret[v.Name] {
			opts.Secrets[v.Name] = v.Value
		} else {
			opts.Env = append(opts.Env, v)
		}
	}
	opts.Initiator = "local"
	if u, err := user.Current(); err == nil {
		opts.Initiator = "local/" + u.Username
	}
	opts.ResolvedSourceVersion, opts.SourceVersion = gitHead(ctx, dir)
	if opts.SourceVersion == "" {
		opts.SourceVersion = opts.ResolvedSourceVersion
	}
	if artifacts != "" {
		if err := emptyOrAbsent(artifacts); err != nil {
			return opts, err
		}
		if a := spec.Artifacts; a != nil {
			for _, sec := range a.Secondary {
				if err := emptyOrAbsent(artifacts + "-" + sec.Identifier); err != nil {
					return opts, err
				}
			}
		}
		opts.ArtifactsDir = artifacts
		opts.SecondaryDir = func(id string) string { return artifacts + "-" + id }
	}
	return opts, nil
}

func printBuildSummary(p *printer, r buildLocalReport, artifacts string) error {
	rows := make([][]string, 0, len(r.Phases))
	for _, ph := range r.Phases {
		rows = append(rows, []string{ph.Name, ph.Status, ph.Duration.Round(time.Millisecond).String()})
	}
	if err := p.Linef(""); err != nil {
		return err
	}
	if err := p.Table([]string{"PHASE", "STATUS", "DURATION"}, rows); err != nil {
		return err
	}
	if len(r.Artifacts) > 0 {
		where := ""
		if artifacts != "" {
			where = " in " + artifacts
		}
		if err := p.Linef("Artifacts: %d files%s", len(r.Artifacts), where); err != nil {
			return err
		}
	}
	if len(r.ExportedVariables) > 0 {
		names := make([]string, 0, len(r.ExportedVariables))
		for k := range r.ExportedVariables {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if err := p.Linef("Exported %s=%s", k, r.ExportedVariables[k]); err != nil {
				return err
			}
		}
	}
	for _, rep := range r.Reports {
		if err := p.Linef("Report %s: %s", rep.Name, rep.Summary()); err != nil {
			return err
		}
		shown := 0
		for _, c := range rep.Cases {
			if c.Status != report.Failed && c.Status != report.Error {
				continue
			}
			if shown++; shown > maxFailuresShown {
				continue
			}
			line := c.Status + " " + caseName(c)
			if msg, _, _ := strings.Cut(c.Message, "\n"); msg != "" {
				line += ": " + msg
			}
			if err := p.Linef("  %s", line); err != nil {
				return err
			}
		}
		if shown > maxFailuresShown {
			if err := p.Linef("  ... and %d more (--output json lists them)", shown-maxFailuresShown); err != nil {
				return err
			}
		}
	}
	return p.Linef("Build %s (%s)", r.Status, r.BuildID)
}

// maxFailuresShown bounds the failed cases the summary lists per report.
const maxFailuresShown = 20

// caseName is a test case as a summary names it: prefix and name.
func caseName(c report.Case) string {
	if c.Prefix == "" || c.Prefix == c.Name {
		return c.Name
	}
	return c.Prefix + " " + c.Name
}

// localCacheDir is the cache directory of a local build of dir: --cache-dir,
// else one per source directory under the user's cache directory; "" with
// --no-cache.
func localCacheDir(dir, flag string, off bool) (string, error) {
	switch {
	case off && flag != "":
		return "", usagef("--cache-dir and --no-cache are exclusive; give one")
	case off:
		return "", nil
	case flag != "":
		return filepath.Abs(flag)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", usagef("no user cache directory (%v); give --cache-dir DIR or --no-cache", err)
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(base, "slipway", "build-cache", filepath.Base(abs)+"-"+hex.EncodeToString(sum[:8])), nil
}
