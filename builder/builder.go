// Package builder runs a buildspec: the phases in CodeBuild's order with
// its rules for what runs after a failure, in one shell session (0.2) or a
// shell per command (0.1), with CodeBuild's environment variables, and
// collects the artifacts and the exported variables at the end.
// docs/BUILDSPEC.md is the spec; package executor is where the commands
// run.
//
// The lifecycle of Run:
//
//	check (secrets resolved, run-as allowed) → Prepare the workspace →
//	cache restored → INSTALL → PRE_BUILD → BUILD → POST_BUILD (each:
//	commands, then finally; retried by on-failure: RETRY) → exported
//	variables and the artifact name read from the session →
//	UPLOAD_ARTIFACTS (collected by the artifacts rules into a directory) →
//	cache saved → reports collected → workspace closed, every process
//	killed.
package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/builder/report"
	"github.com/slipwayhq/slipway/buildspec"
)

// Build statuses, as CodeBuild names them.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusStopped   = "STOPPED"
	StatusTimedOut  = "TIMED_OUT"
)

// Build phases the runner reports, in order.
const (
	PhaseInstall         = "INSTALL"
	PhasePreBuild        = "PRE_BUILD"
	PhaseBuild           = "BUILD"
	PhasePostBuild       = "POST_BUILD"
	PhaseUploadArtifacts = "UPLOAD_ARTIFACTS"
)

var phaseKeys = map[string]string{
	PhaseInstall:   buildspec.PhaseInstall,
	PhasePreBuild:  buildspec.PhasePreBuild,
	PhaseBuild:     buildspec.PhaseBuild,
	PhasePostBuild: buildspec.PhasePostBuild,
}

// DefaultTimeout is a build's timeout when Options.Timeout is 0, as
// CodeBuild's default.
const DefaultTimeout = 60 * time.Minute

// maxRetryOutput bounds the output of a failed attempt kept to match an
// on-failure: RETRY-regex pattern.
const maxRetryOutput = 256 << 10

// Options describe one build.
type Options struct {
	// Executor runs the commands; required.
	Executor executor.Executor
	// SourceDir is the host directory whose copy the build runs in.
	SourceDir string
	// BuildID is CODEBUILD_BUILD_ID ("project:uuid"); BuildNumber,
	// Initiator, SourceVersion, ResolvedSourceVersion and SourceRepoURL
	// fill the variables of the same names.
	BuildID               string
	BuildNumber           int
	Initiator             string
	SourceVersion         string
	ResolvedSourceVersion string
	SourceRepoURL         string
	// BaseEnv is the environment every command starts from, as KEY=VALUE
	// (for the process executor: PATH, HOME and the like of the host).
	BaseEnv []string
	// Env are the variables given when the build starts; they win over the
	// buildspec's.
	Env []buildspec.Var
	// Secrets holds the values of the buildspec's parameter-store and
	// secrets-manager variables, by variable name; Run refuses to start
	// when one is missing. They are masked in the log.
	Secrets map[string]string
	// ExtraEnv are variables the caller adds to every shell, over all but
	// the CODEBUILD_* ones (the agent's git credential: GIT_CONFIG_* and the
	// token's variable); they are never exported. Masks are more values to
	// mask in the log (the token).
	ExtraEnv []buildspec.Var
	Masks    []string
	// GitCredentialHelper says the caller honoured the buildspec's
	// env git-credential-helper: yes (an agent, through ExtraEnv); without
	// it such a buildspec is run with a log line saying git gets no
	// credentials from the build (a local build has no server to issue
	// them).
	GitCredentialHelper bool
	// Log receives the build's log: the runner's lines and the commands'
	// output. nil discards it.
	Log io.Writer
	// ArtifactsDir receives the primary artifact's files; "" collects
	// nothing (the artifacts are still matched, and none matching still
	// fails the build). SecondaryDir names the directory of a secondary
	// artifact; nil collects none.
	ArtifactsDir string
	SecondaryDir func(identifier string) string
	// Timeout ends the build TIMED_OUT; 0 is DefaultTimeout.
	Timeout time.Duration
	// CacheDir holds the buildspec's cache between builds (docs/BUILDSPEC.md,
	// cache): restored into the workspace before INSTALL, saved after
	// UPLOAD_ARTIFACTS. "" uses no cache. CacheMaxBytes bounds what one
	// cache saves; 0 is DefaultCacheMaxBytes.
	CacheDir      string
	CacheMaxBytes int64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// StartTime is when the build was started, CODEBUILD_START_TIME; zero
	// is when Run starts (a local build). An agent's build was started
	// earlier, by a user, and queued.
	StartTime time.Time
	// BatchIdentifier is the build's identifier in its batch build
	// (CODEBUILD_BATCH_BUILD_IDENTIFIER); "" for a build of its own.
	BatchIdentifier string
	// OnPhase, when set, is called as each phase the runner runs starts
	// (ended nil) and as it ends (ended its result): INSTALL, PRE_BUILD,
	// BUILD, POST_BUILD, UPLOAD_ARTIFACTS, in order, from Run's goroutine,
	// the start before the phase's first log line and the end after its
	// last. A phase that does not run (after a failure that ends the
	// build, or a stop) is not reported. The agent's build worker reports
	// phases to the server with it.
	OnPhase func(name string, ended *PhaseResult)
}

// Result is what became of a build.
type Result struct {
	BuildID string        `json:"build_id"`
	Status  string        `json:"status"`
	Phases  []PhaseResult `json:"phases"`
	// Artifacts are the primary artifact's files, relative to its root, in
	// path order.
	Artifacts    []string `json:"artifacts"`
	ArtifactName string   `json:"artifact_name,omitempty"`
	// SecondaryArtifacts maps an identifier to its files.
	SecondaryArtifacts map[string][]string `json:"secondary_artifacts,omitempty"`
	ExportedVariables  map[string]string   `json:"exported_variables"`
	Start              time.Time           `json:"start_time"`
	End                time.Time           `json:"end_time"`
	// Reports are the buildspec's report groups, in file order
	// (CollectReports).
	Reports []report.Report `json:"reports"`
}

// PhaseResult is one phase that ran.
type PhaseResult struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Start    time.Time     `json:"start_time"`
	End      time.Time     `json:"end_time"`
	Duration time.Duration `json:"-"`
	// DurationText is Duration as Go writes it ("1.25s"); DurationMS in
	// milliseconds.
	DurationText string `json:"duration"`
	DurationMS   int64  `json:"duration_ms"`
	// Message says why the phase failed, as CodeBuild's phase context.
	Message string `json:"message,omitempty"`
}

// ErrInvalid is returned by Run for a spec that has errors: no command ran.
var ErrInvalid = errors.New("the buildspec is invalid")

// Run runs spec. The error is for a build that could not start (an
// invalid spec, a missing secret, a workspace that could not be made): no
// command ran then. A build that ran returns its Result with a nil error,
// whatever its status. Cancelling ctx stops the build (STOPPED): every
// process is killed.
func Run(ctx context.Context, spec *buildspec.Spec, opts Options) (*Result, error) {
	if spec == nil || spec.Validate().HasErrors() {
		return nil, ErrInvalid
	}
	if opts.Executor == nil {
		return nil, errors.New("builder: no executor")
	}
	r := &runner{spec: spec, opts: opts, now: opts.Now, log: opts.Log}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = io.Discard
	}
	for _, v := range spec.Env.ParameterStore {
		if err := r.secret(v.Name, "parameter-store", v.Value); err != nil {
			return nil, err
		}
	}
	for _, v := range spec.Env.SecretsManager {
		if err := r.secret(v.Name, "secrets-manager", v.Reference); err != nil {
			return nil, err
		}
	}
	if err := r.checkUsers(); err != nil {
		return nil, err
	}
	for _, v := range opts.Masks {
		if len(v) >= 3 {
			r.masks = append(r.masks, v)
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return r.run(ctx, runCtx)
}

func (r *runner) secret(name, kind, ref string) error {
	v, ok := r.opts.Secrets[name]
	if !ok {
		return fmt.Errorf("%s variable %s (%s) has no value: pass it with --env %s=VALUE", kind, name, ref, name)
	}
	if len(v) >= 3 {
		r.masks = append(r.masks, v)
	}
	return nil
}

type runner struct {
	spec  *buildspec.Spec
	opts  Options
	now   func() time.Time
	log   io.Writer
	masks []string

	ws         executor.Workspace
	start      time.Time
	env        []string // the environment sessions start with
	succeeding bool     // CODEBUILD_BUILD_SUCCEEDING as the commands see it
	failed     bool     // a phase has failed
	shell      []string

	sess     *session // the 0.2 session
	sessUser string   // the run-as user of sess
	lastEnv  string   // export -p after the last command that completed
}

// userChecker is an executor that can tell, before the build starts,
// whether a session can run as a run-as user (the process executor). An
// executor without it (Docker: the users are the image's) fails the
// session that cannot start instead.
type userChecker interface {
	CheckUser(name string) error
}

// checkUsers refuses a build whose run-as users (top level and phases) the
// executor cannot run as, before any command ran.
func (r *runner) checkUsers() error {
	c, ok := r.opts.Executor.(userChecker)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	users := []string{r.spec.RunAs}
	for _, key := range []string{buildspec.PhaseInstall, buildspec.PhasePreBuild, buildspec.PhaseBuild, buildspec.PhasePostBuild} {
		if ph := r.spec.Phase(key); ph != nil {
			users = append(users, ph.RunAs)
		}
	}
	for _, u := range users {
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		if err := c.CheckUser(u); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) logf(format string, args ...any) {
	ts := r.now().UTC().Format("2006/01/02 15:04:05.000000")
	_, _ = fmt.Fprintf(r.log, "[Container] %s %s\n", ts, r.mask(fmt.Sprintf(format, args...)))
}

func (r *runner) output(line string) { _, _ = fmt.Fprintln(r.log, r.mask(line)) }

func (r *runner) mask(s string) string {
	for _, m := range r.masks {
		s = strings.ReplaceAll(s, m, "***")
	}
	return s
}

func (r *runner) run(parent, ctx context.Context) (*Result, error) {
	r.start = r.now()
	res := &Result{BuildID: r.opts.BuildID, Start: r.start, ExportedVariables: map[string]string{}, Artifacts: []string{}, Reports: []report.Report{}}
	r.succeeding = true
	r.shell = r.shellArgv()
	ws, err := r.opts.Executor.Prepare(ctx, executor.PrepareRequest{BuildID: r.opts.BuildID, SourceDir: r.opts.SourceDir})
	if err != nil {
		return nil, err
	}
	r.ws = ws
	defer func() { _ = ws.Close() }()
	r.env = r.environment()
	r.notes()
	cache := r.planCache(ctx)
	if cache != nil && cache.restore {
		r.restoreCache(ctx, cache)
	}

	stopped := func() bool { return ctx.Err() != nil }
	ended := false // no further phase runs
	for _, name := range []string{PhaseInstall, PhasePreBuild, PhaseBuild, PhasePostBuild} {
		if ended || stopped() {
			break
		}
		ph := r.spec.Phase(phaseKeys[name])
		pr := r.phase(ctx, name, ph)
		res.Phases = append(res.Phases, pr)
		if pr.Status == StatusSucceeded || stopped() {
			continue
		}
		r.failed = true
		switch action := onFailure(ph); {
		case action == buildspec.Continue:
		case action == buildspec.Abort:
			ended = true
		case name == PhaseInstall || name == PhasePreBuild:
			ended = true
		}
	}
	if !stopped() {
		r.exported(ctx, res)
	}
	if !ended && !stopped() {
		pr := r.upload(ctx, res)
		res.Phases = append(res.Phases, pr)
		if cache != nil && cache.save && !stopped() {
			r.saveCache(ctx, cache)
		}
	}
	if len(r.spec.Reports) > 0 && !stopped() {
		r.reports(ctx, res)
	}
	if r.sess != nil {
		r.sess.close(r.output)
	}
	res.Status = StatusSucceeded
	for _, p := range res.Phases {
		if p.Status != StatusSucceeded {
			res.Status = StatusFailed
		}
	}
	switch {
	case parent.Err() != nil:
		res.Status = StatusStopped
		r.logf("Build stopped: every process of the build was killed")
	case ctx.Err() != nil:
		res.Status = StatusTimedOut
		r.logf("Build timed out: every process of the build was killed")
	}
	res.End = r.now()
	r.logf("Build complete: %s", res.Status)
	return res, nil
}

// notes logs what this runner does not do of the buildspec.
func (r *runner) notes() {
	s := r.spec
	if s.Batch != nil {
		r.logf("The batch (%s) is not run here: running the buildspec itself", s.Batch.Kind)
	}
	if ph := s.Phase(buildspec.PhaseInstall); ph != nil && len(ph.RuntimeVersions) > 0 && r.opts.Executor.Name() == "process" {
		r.logf("runtime-versions are not installed by the process executor: the host's tools are used")
	}
	if s.Env.GitCredentialHelper && !r.opts.GitCredentialHelper {
		r.logf("git-credential-helper: yes has no effect here: no server issues this build git credentials (a local build); git uses the credentials of the user who runs it")
	}
}

func onFailure(ph *buildspec.Phase) string {
	if ph == nil {
		return ""
	}
	return ph.OnFailure.Action
}

// defaultShell starts bash when the workspace has it on the build's PATH
// and /bin/sh otherwise. The choice is made where the commands run, not on
// this host: a Docker image without bash (busybox, alpine) gets its sh.
// The exec keeps one process, so the shell's pid, process group and
// standard input are the session's.
var defaultShell = []string{"/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash --noprofile --norc; exec /bin/sh"}

// shellArgv picks the shell of env.shell, bash by default when it is
// installed.
func (r *runner) shellArgv() []string {
	switch r.spec.Env.Shell {
	case buildspec.ShellSh:
		return []string{"/bin/sh"}
	case buildspec.ShellBash:
		return []string{"bash", "--noprofile", "--norc"}
	}
	return defaultShell
}

// runAs is the user of a phase: its run-as, else the top-level one.
func (r *runner) runAs(ph *buildspec.Phase) string {
	if ph != nil && ph.RunAs != "" {
		return ph.RunAs
	}
	return r.spec.RunAs
}

// phase runs one phase with its retries.
func (r *runner) phase(ctx context.Context, name string, ph *buildspec.Phase) PhaseResult {
	pr := PhaseResult{Name: name, Start: r.now()}
	r.onPhase(name, nil)
	r.logf("Entering phase %s", name)
	attempts := 1
	var pattern *regexp.Regexp
	if ph != nil && ph.OnFailure.Action == buildspec.Retry {
		attempts += ph.OnFailure.Retries
		pattern, _ = regexp.Compile(ph.OnFailure.Pattern) // Validate checked it
	}
	for attempt := 1; ; attempt++ {
		out := &boundedBuffer{max: maxRetryOutput}
		pr.Status, pr.Message = r.attempt(ctx, ph, out)
		if pr.Status == StatusSucceeded || ctx.Err() != nil || attempt >= attempts {
			break
		}
		if pattern != nil && !pattern.MatchString(out.String()) {
			r.logf("The output does not match %q: the phase is not retried", ph.OnFailure.Pattern)
			break
		}
		r.logf("Retrying phase %s (attempt %d of %d)", name, attempt+1, attempts)
	}
	pr.finish(r.now())
	r.logf("Phase complete: %s State: %s", name, pr.Status)
	if pr.Message != "" {
		r.logf("Phase context status code: COMMAND_EXECUTION_ERROR Message: %s", pr.Message)
	}
	r.onPhase(name, &pr)
	return pr
}

// onPhase calls Options.OnPhase when it is set.
func (r *runner) onPhase(name string, ended *PhaseResult) {
	if r.opts.OnPhase != nil {
		r.opts.OnPhase(name, ended)
	}
}

// attempt runs a phase's commands then its finally once.
func (r *runner) attempt(ctx context.Context, ph *buildspec.Phase, out *boundedBuffer) (status, message string) {
	if ph == nil {
		return StatusSucceeded, ""
	}
	status = StatusSucceeded
	r.setSucceeding(!r.failed) // a retry starts as the phase did
	user := r.runAs(ph)
	for _, block := range [][]string{ph.Commands, ph.Finally} {
		for _, cmd := range block {
			r.logf("Running command %s", cmd)
			code, err := r.command(ctx, cmd, user, out)
			if err != nil {
				if ctx.Err() != nil {
					return StatusFailed, "the build was stopped while running: " + oneLine(cmd)
				}
				return StatusFailed, err.Error()
			}
			if code != 0 {
				r.logf("Command did not exit successfully %s exit status %d", oneLine(cmd), code)
				if status == StatusSucceeded {
					message = fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", oneLine(cmd), code)
				}
				status = StatusFailed
				r.setSucceeding(false)
				break // the rest of this block does not run; finally does
			}
		}
	}
	return status, message
}

func oneLine(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if i := strings.IndexByte(cmd, '\n'); i >= 0 {
		return cmd[:i] + " ..."
	}
	return cmd
}

// command runs one command in the session of the build's version.
func (r *runner) command(ctx context.Context, cmd, user string, out *boundedBuffer) (int, error) {
	emit := func(line string) {
		r.output(line)
		out.WriteLine(line)
	}
	if r.spec.Version == buildspec.Version01 {
		s, err := startSession(ctx, r.ws, r.startRequest(user))
		if err != nil {
			return 0, err
		}
		defer s.close(emit)
		res, err := s.run(ctx, cmd, emit)
		return res.code, err
	}
	if r.sess == nil || r.sess.dead || r.sessUser != user {
		if r.sess != nil && !r.sess.dead {
			r.logf("Running as %s: a new shell with the environment and directory after the last command", userName(user))
		}
		if err := r.restart(ctx, user); err != nil {
			return 0, err
		}
	}
	res, err := r.sess.run(ctx, cmd, emit)
	if err != nil {
		return 0, err
	}
	if res.ended {
		r.logf("The shell ended with exit status %d; the next command runs in a new shell with the environment and directory after the last command that completed", res.code)
	} else {
		r.lastEnv = res.env
	}
	return res.code, nil
}

// userName is how the log names a run-as user.
func userName(user string) string {
	if user == "" {
		return "the executor's user"
	}
	return user
}

// identity are the variables a shell gets from the user it runs as: when
// the session changes users, the new shell keeps its own rather than the
// previous user's from the restored environment.
var identity = []string{"HOME", "USER", "LOGNAME"}

// restart starts the 0.2 session, restored to the last known state: as
// user, which may not be the previous session's (a phase's run-as).
func (r *runner) restart(ctx context.Context, user string) error {
	switched := r.sess != nil && r.sessUser != user
	if r.sess != nil {
		r.sess.close(r.output)
	}
	s, err := startSession(ctx, r.ws, r.startRequest(user))
	if err != nil {
		return err
	}
	r.sess, r.sessUser = s, user
	restore := ""
	if r.lastEnv != "" {
		env := r.lastEnv
		if switched {
			env = keepIdentity(env)
		}
		restore = env + "\ncd \"$PWD\" 2>/dev/null\n"
	}
	restore += fmt.Sprintf("{ export CODEBUILD_BUILD_SUCCEEDING=%s; } 2>/dev/null\n", r.succeedingValue())
	if err := s.send(restore); err != nil {
		return fmt.Errorf("start the shell: %w", err)
	}
	return nil
}

// setSucceeding changes CODEBUILD_BUILD_SUCCEEDING for the commands that
// follow: in the running 0.2 session at once, in the environment of the
// shells started later.
func (r *runner) setSucceeding(v bool) {
	if v == r.succeeding {
		return
	}
	r.succeeding = v
	if r.sess != nil && !r.sess.dead {
		_ = r.sess.send(fmt.Sprintf("{ export CODEBUILD_BUILD_SUCCEEDING=%s; } 2>/dev/null\n", r.succeedingValue()))
	}
}

// keepIdentity wraps a restored environment so that the shell's own
// HOME, USER and LOGNAME (set or not) survive it.
func keepIdentity(env string) string {
	var save, back strings.Builder
	for _, k := range identity {
		fmt.Fprintf(&save, "if [ -n \"${%[1]s+x}\" ]; then __slipway_id_%[1]s=$%[1]s; else unset __slipway_id_%[1]s; fi\n", k)
		fmt.Fprintf(&back, "if [ -n \"${__slipway_id_%[1]s+x}\" ]; then export %[1]s=\"$__slipway_id_%[1]s\"; else unset %[1]s; fi; unset __slipway_id_%[1]s\n", k)
	}
	return "{\n" + save.String() + "} 2>/dev/null\n" + env + "\n{\n" + back.String() + "} 2>/dev/null"
}

func (r *runner) succeedingValue() string {
	if r.succeeding {
		return "1"
	}
	return "0"
}

func (r *runner) startRequest(user string) executor.StartRequest {
	env := make([]string, 0, len(r.env)+1)
	for _, kv := range r.env {
		if !strings.HasPrefix(kv, "CODEBUILD_BUILD_SUCCEEDING=") {
			env = append(env, kv)
		}
	}
	env = append(env, "CODEBUILD_BUILD_SUCCEEDING="+r.succeedingValue())
	return executor.StartRequest{Shell: r.shell, Env: env, Dir: r.ws.SrcDir(), User: user}
}

// exported reads the exported variables and the artifact name from the
// session as it is at the end of the build (for 0.1, a new shell).
func (r *runner) exported(ctx context.Context, res *Result) {
	names := r.spec.Env.ExportedVariables
	name := ""
	if a := r.spec.Artifacts; a != nil {
		name = a.Name
	}
	if len(names) == 0 && name == "" {
		return
	}
	if r.sess == nil || r.sess.dead || r.spec.Version == buildspec.Version01 {
		if err := r.restart(ctx, r.spec.RunAs); err != nil {
			r.logf("Cannot read the exported variables: %v", err)
			return
		}
	}
	secret := map[string]bool{}
	for _, v := range r.spec.Env.ParameterStore {
		secret[v.Name] = true
	}
	for _, v := range r.spec.Env.SecretsManager {
		secret[v.Name] = true
	}
	for _, v := range r.opts.ExtraEnv {
		secret[v.Name] = true
	}
	for i, n := range names {
		if strings.HasPrefix(n, "AWS_") || secret[n] || !shellIdent.MatchString(n) {
			continue
		}
		v, ok := r.sess.value(ctx, fmt.Sprintf("v%d", i), variableValue(n))
		if !ok {
			r.logf("Cannot read the exported variables: the shell ended")
			return
		}
		res.ExportedVariables[n] = v
	}
	if name != "" {
		if v, ok := r.sess.value(ctx, "name", r.sess.expansion(name)); ok {
			res.ArtifactName = strings.TrimSpace(v)
		}
	}
}

var shellIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reports collects the report groups from the workspace as it is at the
// end of the build, whatever became of the phases: a report never changes
// the build's status.
func (r *runner) reports(ctx context.Context, res *Result) {
	dir, err := r.ws.Export(ctx)
	if err != nil {
		r.logf("Cannot read the workspace for the reports: %v", err)
		for _, g := range r.spec.Reports {
			rep := report.New(g.Group, strings.ToUpper(g.FileFormat))
			rep.Incomplete(fmt.Sprintf("cannot read the workspace: %v", err))
			res.Reports = append(res.Reports, *rep)
		}
		return
	}
	res.Reports = CollectReports(dir, r.spec.Reports, r.logf)
}

// upload is UPLOAD_ARTIFACTS: the artifacts collected by their rules.
func (r *runner) upload(ctx context.Context, res *Result) PhaseResult {
	pr := PhaseResult{Name: PhaseUploadArtifacts, Start: r.now(), Status: StatusSucceeded}
	r.onPhase(PhaseUploadArtifacts, nil)
	r.logf("Entering phase %s", PhaseUploadArtifacts)
	fail := func(format string, args ...any) {
		pr.Status = StatusFailed
		if pr.Message == "" {
			pr.Message = fmt.Sprintf(format, args...)
		}
		r.logf(format, args...)
	}
	if a := r.spec.Artifacts; a != nil {
		dir, err := r.ws.Export(ctx)
		if err != nil {
			fail("Cannot read the workspace: %v", err)
		} else {
			files, err := Collect(dir, a.Artifact, r.opts.ArtifactsDir, r.logf)
			switch {
			case err != nil:
				fail("%v", err)
			default:
				res.Artifacts = files
				r.logf("Artifact: %d files", len(files))
			}
			for _, sec := range a.Secondary {
				out := ""
				if r.opts.SecondaryDir != nil {
					out = r.opts.SecondaryDir(sec.Identifier)
				}
				files, err := Collect(dir, sec, out, r.logf)
				if err != nil {
					fail("secondary artifact %s: %v", sec.Identifier, err)
					continue
				}
				if res.SecondaryArtifacts == nil {
					res.SecondaryArtifacts = map[string][]string{}
				}
				res.SecondaryArtifacts[sec.Identifier] = files
				r.logf("Secondary artifact %s: %d files", sec.Identifier, len(files))
			}
		}
	}
	pr.finish(r.now())
	r.logf("Phase complete: %s State: %s", PhaseUploadArtifacts, pr.Status)
	r.onPhase(PhaseUploadArtifacts, &pr)
	return pr
}

func (pr *PhaseResult) finish(end time.Time) {
	pr.End = end
	pr.Duration = end.Sub(pr.Start)
	pr.DurationText = pr.Duration.Round(time.Millisecond).String()
	pr.DurationMS = pr.Duration.Milliseconds()
}

// boundedBuffer keeps the last max bytes of a phase's output.
type boundedBuffer struct {
	max int
	b   []byte
}

// WriteLine adds a line. The buffer grows to twice its bound before it drops what is past the
// bound, so each byte is moved at most once: trimming on every line moved the whole bound per
// line and made a build printing fast spend its time in memmove.
func (b *boundedBuffer) WriteLine(s string) {
	b.b = append(b.b, s...)
	b.b = append(b.b, '\n')
	if over := len(b.b) - b.max; over > b.max {
		b.b = append(b.b[:0], b.b[over:]...)
	}
}

// String returns the last max bytes written.
func (b *boundedBuffer) String() string {
	if over := len(b.b) - b.max; over > 0 {
		return string(b.b[over:])
	}
	return string(b.b)
}

// HostBaseEnv is the environment the process executor's commands start
// from: a few variables of this host, nothing else of the caller's.
func HostBaseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "TERM", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
