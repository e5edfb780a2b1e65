package gitexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MinVersion is the oldest git Slipway runs: 2.29 brought receive-pack's proc-receive hook,
// which the push path depends on.
var MinVersion = Version{Major: 2, Minor: 29}

// waitDelay bounds how long a run waits for its stdin and stdout copies once git has exited
// or been killed (a client that stops reading must not hold a run forever).
const waitDelay = 5 * time.Second

// MaxOutput bounds what Output collects from git's stdout.
const MaxOutput = 32 << 20

// Version is a git version, from "git --version".
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// Config says which git to run and where it lives.
type Config struct {
	// Path is the git binary; "" looks "git" up in the server's PATH once, at New.
	Path string
	// Home is the HOME of every git run: a directory the server owns and nobody configures
	// (git reads HOME/.gitconfig on versions before 2.32, which lack GIT_CONFIG_GLOBAL).
	// New creates it (0700) if it is missing.
	Home string
}

// Git runs one git binary in a clean environment. It is safe for concurrent use.
type Git struct {
	path    string
	home    string
	version Version
	env     []string
}

// New checks the git binary (it runs and is at least MinVersion) and returns a Git for it.
func New(ctx context.Context, cfg Config) (*Git, error) {
	path := cfg.Path
	if path == "" {
		p, err := exec.LookPath("git")
		if err != nil {
			return nil, fmt.Errorf("git not found in PATH: install git %s or later, or set its path: %w", MinVersion, err)
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("git path %q: %w", path, err)
	}
	if cfg.Home == "" || !filepath.IsAbs(cfg.Home) {
		return nil, fmt.Errorf("git home %q must be an absolute directory path", cfg.Home)
	}
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, fmt.Errorf("creating git home: %w", err)
	}
	g := &Git{path: abs, home: cfg.Home}
	g.env = baseEnv(abs, cfg.Home)
	out, err := g.Output(ctx, "", "--version")
	if err != nil {
		return nil, fmt.Errorf("running %s --version: %w", abs, err)
	}
	v, err := parseVersion(string(out))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, err)
	}
	if v.Less(MinVersion) {
		return nil, fmt.Errorf("%s is git %s; Slipway needs git %s or later (for receive-pack's proc-receive hook): upgrade git", abs, v, MinVersion)
	}
	g.version = v
	return g, nil
}

// Version is the version of the git binary.
func (g *Git) Version() Version { return g.version }

// Path is the absolute path of the git binary.
func (g *Git) Path() string { return g.path }

// parseVersion reads "git version 2.39.5" (and vendor forms such as
// "git version 2.39.5.windows.1" or "git version 2.39.5 (Apple Git-143)").
func parseVersion(out string) (Version, error) {
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "git" || f[1] != "version" {
		return Version{}, fmt.Errorf("unexpected --version output %q", strings.TrimSpace(out))
	}
	parts := strings.SplitN(f[2], ".", 4)
	var nums [3]int
	for i := 0; i < 3 && i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			if i < 2 {
				return Version{}, fmt.Errorf("unexpected git version %q", f[2])
			}
			break // a patch such as "0-rc1": keep major.minor
		}
		nums[i] = n
	}
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("unexpected git version %q", f[2])
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2]}, nil
}

// baseEnv is the whole environment of every run; nothing of the server's own is inherited.
func baseEnv(gitPath, home string) []string {
	path := "/usr/bin:/bin"
	if dir := filepath.Dir(gitPath); dir != "/usr/bin" && dir != "/bin" {
		path = dir + ":" + path
	}
	return []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_NO_REPLACE_OBJECTS=1",
		"HOME=" + home,
		"LC_ALL=C",
		"PATH=" + path,
	}
}

// Command is one run of git.
type Command struct {
	// Args are git's arguments, subcommand first.
	Args []string
	// GitDir is the repository (GIT_DIR, and the working directory); "" runs outside any
	// repository, in the git home.
	GitDir string
	// Stdin and Stdout are streamed; nil means empty input and discarded output.
	Stdin  io.Reader
	Stdout io.Writer
	// Env adds variables to the clean environment: only SLIPWAY_* names (for hooks that
	// call back into the server), the ones of CommitEnv (a commit made by the server in a
	// temporary object directory) and, through the service helpers, GIT_PROTOCOL.
	Env []string
}

// CommitEnv are the git variables a Command may set besides SLIPWAY_*: they let the server
// write objects into a temporary object directory beside a repository (its objects as an
// alternate), build a tree in a temporary index and sign a commit with the caller's name.
var CommitEnv = []string{
	"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_INDEX_FILE",
	"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
	"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
}

// Error is a git run that failed: it did not start, exited non-zero, or was stopped because
// its context ended (then errors.Is(err, context.Canceled) or DeadlineExceeded holds).
type Error struct {
	Args   []string
	Err    error
	Stderr string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("git %s: %v", strings.Join(e.Args, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode is git's exit status, or -1 when it did not exit on its own.
func (e *Error) ExitCode() int {
	var x *exec.ExitError
	if errors.As(e.Err, &x) {
		return x.ExitCode()
	}
	return -1
}

// Run runs git as c describes, killing its process group if ctx ends first.
func (g *Git) Run(ctx context.Context, c Command) error {
	env, err := g.envFor(c)
	if err != nil {
		return err
	}
	return g.run(ctx, c, env)
}

func (g *Git) envFor(c Command) ([]string, error) {
	env := append([]string(nil), g.env...)
	for _, kv := range c.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || (!strings.HasPrefix(k, "SLIPWAY_") && !slices.Contains(CommitEnv, k)) || strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("git environment %q: only SLIPWAY_* variables and those of CommitEnv may be added", k)
		}
		env = append(env, kv)
	}
	if c.GitDir != "" {
		if !filepath.IsAbs(c.GitDir) {
			return nil, fmt.Errorf("git directory %q must be an absolute path", c.GitDir)
		}
		env = append(env, "GIT_DIR="+c.GitDir)
	}
	return env, nil
}

func (g *Git) run(ctx context.Context, c Command, env []string) error {
	cmd := exec.CommandContext(ctx, g.path, c.Args...)
	cmd.Env = env
	cmd.Dir = g.home
	if c.GitDir != "" {
		cmd.Dir = c.GitDir
	}
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	stderr := &boundedBuffer{}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	inGroup(cmd)
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	return &Error{Args: c.Args, Err: err, Stderr: stderr.String()}
}

// Output runs git in repository gitDir ("" for none) and returns its stdout, which must fit
// in MaxOutput: for plumbing with small answers (rev-parse, for-each-ref of a repository's
// refs, cat-file -t). Stream anything larger with Run.
func (g *Git) Output(ctx context.Context, gitDir string, args ...string) ([]byte, error) {
	var out limitedBuffer
	err := g.Run(ctx, Command{Args: args, GitDir: gitDir, Stdout: &out})
	if out.over {
		return nil, &Error{Args: args, Err: fmt.Errorf("output over %d bytes: stream it with Run", MaxOutput)}
	}
	return out.Bytes(), err
}

// limitedBuffer keeps up to MaxOutput bytes and then fails the write, which ends git with
// a broken pipe instead of growing without bound.
type limitedBuffer struct {
	bytes.Buffer
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxOutput {
		b.over = true
		return 0, fmt.Errorf("git output over %d bytes", MaxOutput)
	}
	return b.Buffer.Write(p)
}
