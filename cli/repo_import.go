package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// Bounds of an import, the server's own: a push carries at most maxPushRefs ref updates and a
// repository holds at most maxImportRefs refs, so an import over them is refused before
// anything is pushed.
const (
	maxPushRefs      = 1000
	maxImportRefs    = 10000
	defaultPushBatch = 500
)

func (c *cli) newRepoImportCommand() *cobra.Command {
	var from, description string
	var batch int
	cmd := &cobra.Command{
		Use:   "import NAME --from URL|PATH|FILE.bundle [--description D] [--batch N]",
		Short: "Import every branch and tag of an existing git repository, or restore a bundle",
		Long: `Mirrors the branches and tags of another git repository into NAME, through the same push
path as every git push: each ref moves only once a quorum of servers has the objects and the
ref update.

--from is what git can fetch from: a URL (https://, ssh://, git://, user@host:path), a local
repository, or a bundle file (such as 'slipway repo bundle' writes: importing it into a new
repository restores the backup). The source is fetched with your own git and its credentials
into a temporary repository, then pushed to the cluster in pushes of at most --batch refs
(the default branch first, then the other branches, then the tags). git's progress is shown on
a terminal.

NAME is created when it does not exist, with the source's default branch. An existing
repository is updated as 'git push' would without --force: a ref already there is left
alone, a branch that moved on in either repository is reported and not imported. So an import
that was interrupted (Ctrl-C, a lost connection) is resumed by running the same command
again. The exit status is non-zero when any ref was not imported.

Only refs/heads/* and refs/tags/* are imported (not pull-request or other refs of the source);
a repository holds at most 10,000 of them, and one push carries at most 1,000 ref updates and
2 GiB of objects by default.`,
		Example: `  slipway repo import web --from https://git.example.com/team/web.git
  slipway repo import web --from ../web.git
  slipway repo import web --from web-2026-12-01.bundle      # restore a backup`,
		Args:              exactArgs("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return usagef("--from is required: the repository or bundle to import")
			}
			if batch < 1 || batch > maxPushRefs {
				return usagef("--batch %d: want 1 to %d refs per push (the server's bound)", batch, maxPushRefs)
			}
			src, err := parseImportSource(from)
			if err != nil {
				return usageErr(err)
			}
			cl, p, err := c.setup()
			if err != nil {
				return err
			}
			res, err := c.importRepo(cmd.Context(), cl, args[0], src, description, batch)
			if err != nil {
				return err
			}
			if p.json() {
				if err := p.JSON(res); err != nil {
					return err
				}
			} else if err := p.Linef("%s", res.summary()); err != nil {
				return err
			}
			if len(res.Rejected) > 0 {
				return fmt.Errorf("%d of %d refs were not imported (%s): they differ from %s's; compare them, or import into a new repository",
					len(res.Rejected), res.Refs, rejectedList(res.Rejected, 3), res.Repository)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the repository (URL or path) or bundle file to import (required)")
	cmd.Flags().StringVar(&description, "description", "", "the description of a repository the import creates")
	cmd.Flags().IntVar(&batch, "batch", defaultPushBatch, "refs per push (1 to 1000)")
	return cmd
}

// importSource is what --from named: a bundle file, or anything else git fetches from (a
// URL or a repository's path), with the form of it shown to the user (a URL's password
// removed).
type importSource struct {
	Location string // what git is given: a bundle's or local repository's absolute path, or the URL
	Bundle   bool
	Shown    string
}

// parseImportSource checks --from before git sees it: never an option (a leading '-'), never
// one of git's transports that run a command (ext::, fd::), never a line break or NUL.
func parseImportSource(from string) (importSource, error) {
	switch {
	case strings.ContainsAny(from, "\x00\r\n"):
		return importSource{}, errors.New("--from: a line break or NUL byte in the source")
	case strings.HasPrefix(from, "-"):
		return importSource{}, fmt.Errorf("--from %q: a source cannot start with '-' (write ./%s for a file)", from, from)
	case strings.HasPrefix(from, "ext::"), strings.HasPrefix(from, "fd::"):
		return importSource{}, fmt.Errorf("--from %q: git's ext:: and fd:: transports run commands; give a URL, a path or a bundle", from)
	}
	if st, err := os.Stat(from); err == nil {
		abs, err := filepath.Abs(from)
		if err != nil {
			return importSource{}, fmt.Errorf("--from %s: %w", from, err)
		}
		return importSource{Location: abs, Bundle: st.Mode().IsRegular(), Shown: from}, nil
	}
	shown := from
	if u, err := url.Parse(from); err == nil && u.Scheme != "" && u.User != nil {
		u.User = url.User(u.User.Username())
		shown = u.String()
	}
	if !strings.Contains(from, "://") && !strings.Contains(from, ":") {
		return importSource{}, fmt.Errorf("--from %s: no such file or directory, and not a URL", from)
	}
	return importSource{Location: from, Shown: shown}, nil
}

// importResult is what an import did, ref by ref.
type importResult struct {
	Repository string        `json:"repository"`
	Source     string        `json:"source"`
	Created    bool          `json:"created"`
	Refs       int           `json:"refs"`
	Imported   int           `json:"imported"`
	UpToDate   int           `json:"up_to_date"`
	Pushes     int           `json:"pushes"`
	Rejected   []importedRef `json:"rejected,omitempty"`
}

type importedRef struct {
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

func (r importResult) summary() string {
	verb := "Imported"
	if r.Created {
		verb = "Created " + r.Repository + " and imported"
	}
	s := fmt.Sprintf("%s %d of %d refs from %s into %s in %d push(es)", verb, r.Imported, r.Refs, r.Source, r.Repository, r.Pushes)
	if r.UpToDate > 0 {
		s += fmt.Sprintf("; %d already up to date", r.UpToDate)
	}
	if len(r.Rejected) > 0 {
		s += fmt.Sprintf("; %d not imported", len(r.Rejected))
	}
	return s
}

func rejectedList(refs []importedRef, n int) string {
	var parts []string
	for i, r := range refs {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(refs)-n))
			break
		}
		parts = append(parts, r.Ref+": "+r.Reason)
	}
	return strings.Join(parts, "; ")
}

// importRepo fetches src into a temporary bare repository, creates the repository when it
// does not exist, and pushes the refs in batches.
func (c *cli) importRepo(ctx context.Context, cl *api.Client, name string, src importSource, description string, batch int) (importResult, error) {
	res := importResult{Repository: name, Source: src.Shown}
	if _, err := exec.LookPath("git"); err != nil {
		return res, errors.New("git is not installed: slipway repo import runs your git to fetch and push")
	}
	tmp, err := os.MkdirTemp("", "slipway-import-*")
	if err != nil {
		return res, fmt.Errorf("make a temporary repository: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	g := &importGit{dir: tmp, stderr: c.stderr, progress: isTerminal(c.stderr)}
	if err := g.run(ctx, nil, "init", "--bare", "-q", tmp); err != nil {
		return res, err
	}

	if src.Bundle {
		if out, err := g.command(ctx, nil, "bundle", "verify", "-q", src.Location).CombinedOutput(); err != nil {
			return res, fmt.Errorf("%s is not a bundle git can use: %s", src.Shown, firstLine(string(out), err))
		}
	}
	c.note("Fetching the branches and tags of %s", src.Shown)
	if err := g.run(ctx, nil, append(g.progressFlag("fetch", "--no-write-fetch-head", "-q"), "--end-of-options", src.Location,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")...); err != nil {
		return res, fmt.Errorf("fetch %s: %w", src.Shown, err)
	}
	refs, err := g.refs(ctx)
	if err != nil {
		return res, err
	}
	res.Refs = len(refs)
	switch {
	case len(refs) == 0:
		return res, fmt.Errorf("%s has no branches or tags: nothing to import", src.Shown)
	case len(refs) > maxImportRefs:
		return res, fmt.Errorf("%s has %d branches and tags: a repository holds at most %d", src.Shown, len(refs), maxImportRefs)
	}
	head := g.defaultBranch(ctx, src, refs)

	repo, err := cl.RepoGet(ctx, name, nil)
	if api.IsNotFound(err) {
		repo, err = cl.RepoCreate(ctx, api.RepositoryCreateRequest{Name: name, Description: description, DefaultBranch: head})
		res.Created = err == nil
	}
	if err != nil {
		return res, err
	}
	env, err := c.gitPushEnv(repo.CloneURLHTTP, cl.Address())
	if err != nil {
		return res, err
	}

	order := importOrder(refs, head)
	total := (len(order) + batch - 1) / batch
	for i := 0; i < len(order); i += batch {
		part := order[i:min(i+batch, len(order))]
		res.Pushes++
		c.note("Pushing %d refs to %s (push %d of %d)", len(part), name, res.Pushes, total)
		specs := make([]string, len(part))
		for j, r := range part {
			specs[j] = r + ":" + r
		}
		out, runErr := g.output(ctx, env, append(g.progressFlag("push", "--porcelain"), append([]string{"--end-of-options", repo.CloneURLHTTP}, specs...)...)...)
		lines := parsePorcelain(out)
		if len(lines) == 0 {
			if runErr == nil {
				runErr = errors.New("git reported no ref")
			}
			return res, fmt.Errorf("push %d of %d to %s: %w (refs of earlier pushes are imported: run the same command again to resume)", res.Pushes, total, name, runErr)
		}
		for _, l := range lines {
			switch l.flag {
			case '=':
				res.UpToDate++
			case '!':
				res.Rejected = append(res.Rejected, importedRef{Ref: l.ref, Reason: l.reason})
			default:
				res.Imported++
			}
		}
	}
	return res, nil
}

// note writes a progress line to standard error.
func (c *cli) note(format string, a ...any) { _, _ = fmt.Fprintf(c.stderr, format+"\n", a...) }

// importOrder is the order refs are pushed in: the default branch first (its history is most
// of the objects, so the later pushes are small), the other branches, then the tags.
func importOrder(refs map[string]string, head string) []string {
	out := slices.Sorted(func(yield func(string) bool) {
		for r := range refs {
			if !yield(r) {
				return
			}
		}
	})
	rank := func(r string) int {
		switch {
		case r == "refs/heads/"+head:
			return 0
		case strings.HasPrefix(r, "refs/heads/"):
			return 1
		default:
			return 2
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return rank(a) - rank(b) })
	return out
}

// gitPushEnv is the environment of the git that pushes to the cluster: the token as a basic
// authorization header for the cluster's address only, and the CLI's TLS settings, each as
// configuration in the environment (GIT_CONFIG_COUNT), never on the command line where other
// users could read it.
func (c *cli) gitPushEnv(cloneURL, apiAddr string) ([]string, error) {
	u, err := url.Parse(cloneURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the server answered an unusable clone URL %q", cloneURL)
	}
	scope := "http." + u.Scheme + "://" + u.Host + "/"
	token, ok, err := c.gitToken(credentialRequest{Protocol: u.Scheme, Host: u.Host})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no token for %s (the clone URL the server answered; the CLI is configured for %s): give --addr the address git should push to", u.Host, apiAddr)
	}
	cfg := [][2]string{{scope + ".extraHeader", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(gitCredentialUser+":"+token))}}
	if v, _ := c.setting("ca-file", EnvCACert, ""); v != "" {
		cfg = append(cfg, [2]string{scope + ".sslCAInfo", v})
	}
	if v, _ := c.setting("client-cert", EnvClientCert, ""); v != "" {
		cfg = append(cfg, [2]string{scope + ".sslCert", v})
	}
	if v, _ := c.setting("client-key", EnvClientKey, ""); v != "" {
		cfg = append(cfg, [2]string{scope + ".sslKey", v})
	}
	if v, _ := c.setting("tls-skip-verify", EnvTLSSkipVerify, "false"); v == "true" || v == "1" {
		cfg = append(cfg, [2]string{scope + ".sslVerify", "false"})
	}
	base := 0
	if n, err := strconv.Atoi(os.Getenv("GIT_CONFIG_COUNT")); err == nil && n > 0 {
		base = n
	}
	env := []string{"GIT_CONFIG_COUNT=" + strconv.Itoa(base+len(cfg)), "GIT_TERMINAL_PROMPT=0"}
	for i, kv := range cfg {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", base+i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", base+i, kv[1]))
	}
	return env, nil
}

// importGit runs the user's git in the temporary repository, its messages (and progress, on a
// terminal) on the CLI's standard error.
type importGit struct {
	dir      string
	stderr   io.Writer
	progress bool
}

func (g *importGit) progressFlag(args ...string) []string {
	if g.progress {
		return append(args, "--progress")
	}
	return args
}

func (g *importGit) command(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never"}, args...)...)
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// run runs git with its output on the CLI's standard error.
func (g *importGit) run(ctx context.Context, env []string, args ...string) error {
	cmd := g.command(ctx, env, args...)
	cmd.Stdout, cmd.Stderr = g.stderr, g.stderr
	if err := cmd.Run(); err != nil {
		return g.failed(ctx, args, err)
	}
	return nil
}

// output runs git and returns its standard output; its standard error goes to the CLI's.
func (g *importGit) output(ctx context.Context, env []string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := g.command(ctx, env, args...)
	cmd.Stdout, cmd.Stderr = &out, g.stderr
	err := cmd.Run()
	if err != nil {
		err = g.failed(ctx, args, err)
	}
	return out.String(), err
}

func (g *importGit) failed(ctx context.Context, args []string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("git %s: %w (git's message is above)", args[0], err)
}

// refs lists the temporary repository's branches and tags.
func (g *importGit) refs(ctx context.Context) (map[string]string, error) {
	out, err := g.output(ctx, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags")
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if id, ref, ok := strings.Cut(sc.Text(), " "); ok {
			refs[ref] = id
		}
	}
	return refs, nil
}

// defaultBranch is the branch the source's HEAD names (ls-remote --symref), or, from a bundle
// that records only HEAD's commit, a branch at that commit (main, then master, then the first
// by name); "main" or the first branch when nothing says.
func (g *importGit) defaultBranch(ctx context.Context, src importSource, refs map[string]string) string {
	out, _ := g.output(ctx, nil, "ls-remote", "--symref", "--end-of-options", src.Location, "HEAD")
	var headID string
	for _, line := range strings.Split(out, "\n") {
		if target, ok := strings.CutPrefix(line, "ref: refs/heads/"); ok {
			if b, _, ok := strings.Cut(target, "\tHEAD"); ok && refs["refs/heads/"+b] != "" {
				return b
			}
		}
		if id, name, ok := strings.Cut(line, "\t"); ok && name == "HEAD" {
			headID = id
		}
	}
	var branches []string
	for r := range refs {
		if b, ok := strings.CutPrefix(r, "refs/heads/"); ok {
			branches = append(branches, b)
		}
	}
	slices.Sort(branches)
	prefer := func(match func(string) bool) string {
		for _, want := range []string{"main", "master"} {
			if slices.Contains(branches, want) && match(want) {
				return want
			}
		}
		for _, b := range branches {
			if match(b) {
				return b
			}
		}
		return ""
	}
	if headID != "" {
		if b := prefer(func(b string) bool { return refs["refs/heads/"+b] == headID }); b != "" {
			return b
		}
	}
	if b := prefer(func(string) bool { return true }); b != "" {
		return b
	}
	return "main"
}

// porcelainLine is one ref of `git push --porcelain`: "<flag>\t<from>:<to>\t<summary>".
type porcelainLine struct {
	flag   byte
	ref    string
	reason string
}

func parsePorcelain(out string) []porcelainLine {
	var lines []porcelainLine
	for _, line := range strings.Split(out, "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) < 3 || len(parts[0]) != 1 {
			continue
		}
		_, to, ok := strings.Cut(parts[1], ":")
		if !ok {
			continue
		}
		reason := parts[2]
		if i := strings.Index(reason, " ("); i >= 0 && strings.HasSuffix(reason, ")") {
			reason = reason[i+2 : len(reason)-1]
		}
		lines = append(lines, porcelainLine{flag: parts[0][0], ref: to, reason: reason})
	}
	return lines
}

func firstLine(out string, err error) string {
	if s := strings.TrimSpace(out); s != "" {
		line, _, _ := strings.Cut(s, "\n")
		return line
	}
	return err.Error()
}
