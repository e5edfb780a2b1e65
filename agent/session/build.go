package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/builder"
	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/builder/executor/docker"
	"github.com/slipwayhq/slipway/buildspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Phases the build worker reports besides the builder's (CodeBuild's names).
const (
	PhaseDownloadSource = "DOWNLOAD_SOURCE"
	PhaseFinalizing     = "FINALIZING"
)

// Phase and build results (agentproto: Event.Result of a build), as CodeBuild's.
const (
	ResultBuildSucceeded = "SUCCEEDED"
	ResultBuildFailed    = "FAILED"
	ResultBuildFault     = "FAULT"
	ResultBuildStopped   = "STOPPED"
	ResultBuildTimedOut  = "TIMED_OUT"
	ResultClientError    = "CLIENT_ERROR"
)

// MessageAgentRestarted is the message of a build a killed agent left running (Recover).
const MessageAgentRestarted = "the agent restarted during the build"

// BuildsConfig configures the build worker.
type BuildsConfig struct {
	// Dir is the agent's data dir: workspaces in Dir/builds/<box key>/ (deleted after each
	// build), LOCAL caches in Dir/build-cache/<project>/, and the worker's records in
	// Dir/build-state/ (running/ markers, done/ ends).
	Dir string
	// Fetcher downloads sources, fetches secrets and uploads artifacts (any server, the host
	// secret).
	Fetcher *Fetcher
	// Reporter reports the builds (NewKindReporter(outbox, agentproto.KindBuild)).
	Reporter *Reporter
	// Docker says the Docker engine answered when the agent started: builds with an image run
	// in it; without it such a build fails CLIENT_ERROR.
	Docker bool
	// Executor makes the executor of a build ("" image: the process executor); nil is
	// Containers.Executor. The returned func releases it.
	Executor func(run agentproto.BuildRun, root string) (executor.Executor, func(), error)
	// Containers configures the Docker executor's containers (network mode, limits).
	Containers Containers
	// Source bounds the source tar.
	Source SourceLimits
	Logger *slog.Logger
}

// Containers is how an agent runs build containers: the Docker network mode ("" the engine's
// default) and resource limits (0: none), from the agent's configuration (build_network,
// build_memory, build_cpus).
type Containers struct {
	Network string
	Memory  int64
	CPUs    float64
}

// Executor is the process executor, or the Docker executor for a build with an image (the image
// pulled when missing; privileged when the run says so; the network mode and limits of c),
// workspaces under root.
func (c Containers) Executor(run agentproto.BuildRun, root string) (executor.Executor, func(), error) {
	if run.Image == "" {
		return &executor.Process{Root: root}, func() {}, nil
	}
	d, err := docker.New(docker.Config{Image: run.Image, Pull: true, Privileged: run.Privileged, Root: root,
		Network: c.Network, Memory: c.Memory, CPUs: c.CPUs,
		Labels: map[string]string{"slipway.agent": "build"}})
	if err != nil {
		return nil, nil, err
	}
	return d, func() { _ = d.Close() }, nil
}

// Builds is the Worker of agentproto.KindBuild: it runs each pushed build (agentproto.BuildRun)
// once, one at a time, with the builder, reporting phases, output and the outcome through the
// outbox.
type Builds struct {
	cfg BuildsConfig
	log *slog.Logger
	// minute is how long a minute of BuildRun.TimeoutMinutes is (tests shorten it).
	minute time.Duration

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
	waiting []agentproto.BuildRun // pushed while one runs, in order
	stopped bool                  // Stop was called
	wg      sync.WaitGroup
}

// NewBuilds returns the build worker.
func NewBuilds(cfg BuildsConfig) *Builds {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Executor == nil {
		cfg.Executor = cfg.Containers.Executor
	}
	if abs, err := filepath.Abs(cfg.Dir); err == nil {
		cfg.Dir = abs // workspaces are bind-mounted and are CODEBUILD_SRC_DIR: absolute paths
	}
	return &Builds{cfg: cfg, log: cfg.Logger, minute: time.Minute, running: map[string]context.CancelCauseFunc{}}
}

// Kind is agentproto.KindBuild.
func (b *Builds) Kind() string { return agentproto.KindBuild }

// Capabilities are what this worker adds to the kinds an agent advertises: CapabilityDocker
// when the engine answered.
func (b *Builds) Capabilities() []string {
	if b.cfg.Docker {
		return []string{agentproto.CapabilityDocker}
	}
	return nil
}

func (b *Builds) stateDir(which string) string { return filepath.Join(b.cfg.Dir, "build-state", which) }

// buildKey is a build's name on disk (its box key: "build~PROJECT~UUID").
func buildKey(id string) string { return boxKey(agentproto.KindBuild, id) }

// marker is what a running build keeps on disk, for Recover.
type marker struct {
	ID    string `json:"id"`
	Phase string `json:"phase,omitempty"`
}

// doneRecord is a build's end, kept so that a Run pushed again is not run again.
type doneRecord struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	End    time.Time `json:"end"`
}

// doneKeep is how long a build's end is remembered: far longer than a server keeps pushing
// a build whose end it has not committed.
const doneKeep = 7 * 24 * time.Hour

// Done reports whether build id ran to its end on this agent (or was ended by Recover).
func (b *Builds) Done(id string) (string, bool) {
	raw, err := os.ReadFile(filepath.Join(b.stateDir("done"), buildKey(id)+".json"))
	if err != nil {
		return "", false
	}
	var d doneRecord
	if json.Unmarshal(raw, &d) != nil {
		return "", false
	}
	return d.Status, true
}

func (b *Builds) writeState(which, id string, v any) error {
	dir := b.stateDir(which)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	raw, _ := json.Marshal(v)
	tmp := filepath.Join(dir, buildKey(id)+".tmp")
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, buildKey(id)+".json"))
}

// Recover ends the builds a killed agent left running (their markers): each is reported
// ended FAILED with MessageAgentRestarted (its open phase failed first), recorded done, and its
// workspace removed. Ends older than doneKeep are forgotten.
func (b *Builds) Recover() []string {
	b.pruneDone()
	entries, err := os.ReadDir(b.stateDir("running"))
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range entries {
		p := filepath.Join(b.stateDir("running"), e.Name())
		if !strings.HasSuffix(e.Name(), ".json") {
			_ = os.Remove(p)
			continue
		}
		raw, err := os.ReadFile(p)
		var m marker
		if err != nil || json.Unmarshal(raw, &m) != nil || m.ID == "" {
			b.log.Warn("unreadable build marker removed", "file", p)
			_ = os.Remove(p)
			continue
		}
		now := time.Now()
		if m.Phase != "" {
			b.cfg.Reporter.Event(agentproto.Event{DeploymentID: m.ID, Event: m.Phase, Status: agentproto.StatusFailed,
				Result: ResultBuildFailed, Message: MessageAgentRestarted, Time: now})
		}
		b.cfg.Reporter.Event(agentproto.Event{DeploymentID: m.ID, Event: agentproto.BuildEnd, Status: agentproto.StatusFailed,
			Result: ResultBuildFailed, Message: MessageAgentRestarted, Time: now,
			Build: &agentproto.BuildOutcome{Status: ResultBuildFailed}})
		if err := b.writeState("done", m.ID, doneRecord{ID: m.ID, Status: ResultBuildFailed, End: now}); err != nil {
			b.log.Error("record a recovered build's end", "build", m.ID, "error", err)
		}
		b.endLeftovers(m.ID)
		_ = os.RemoveAll(filepath.Join(b.cfg.Dir, "builds", buildKey(m.ID)))
		_ = os.Remove(p)
		ids = append(ids, m.ID)
	}
	if len(ids) > 0 {
		b.log.Warn("builds interrupted by an agent restart were reported failed", "builds", ids)
	}
	return ids
}

// endLeftovers ends what a killed agent's build left running: its processes (Linux: found by
// their CODEBUILD_BUILD_ID) and its containers (when the engine answers).
func (b *Builds) endLeftovers(id string) {
	if n := killBuildProcesses(id); n > 0 {
		b.log.Info("killed the processes a build left running", "build", id, "processes", n)
	}
	if !b.cfg.Docker {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := docker.RemoveBuild(ctx, id)
	if err != nil {
		b.log.Warn("remove the containers a build left", "build", id, "error", err)
	} else if n > 0 {
		b.log.Info("removed the containers a build left running", "build", id, "containers", n)
	}
}

func (b *Builds) pruneDone() {
	entries, err := os.ReadDir(b.stateDir("done"))
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > doneKeep {
			_ = os.Remove(filepath.Join(b.stateDir("done"), e.Name()))
		}
	}
}

// maxWaitingBuilds bounds the builds pushed while one runs that wait for it to end.
const maxWaitingBuilds = 8

// Start runs a pushed build unless this agent ran it or is running it. An agent runs one build
// at a time: a build pushed while another runs (the scheduler assigned the next one as soon as
// the server committed the end of the last, which this agent reports a moment before it is done
// with it) waits, and starts when the running one is over; at most maxWaitingBuilds wait.
func (b *Builds) Start(body json.RawMessage) error {
	var run agentproto.BuildRun
	if err := json.Unmarshal(body, &run); err != nil {
		return err
	}
	if run.DeploymentID == "" || strings.ContainsAny(run.DeploymentID, "/\\~") || strings.Contains(run.DeploymentID, "..") {
		return fmt.Errorf("build ID %q is not a build ID (PROJECT:UUID)", run.DeploymentID)
	}
	if _, done := b.Done(run.DeploymentID); done {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return errors.New("the agent is stopping: no build starts")
	}
	if _, ok := b.running[run.DeploymentID]; ok || slices.ContainsFunc(b.waiting, func(w agentproto.BuildRun) bool { return w.DeploymentID == run.DeploymentID }) {
		return nil
	}
	if len(b.running) > 0 {
		if len(b.waiting) >= maxWaitingBuilds {
			return fmt.Errorf("build %s pushed while this agent runs %v and %d builds wait; it runs one build at a time", run.DeploymentID, b.runningLocked(), len(b.waiting))
		}
		b.log.Info("build waits for the running one", "build", run.DeploymentID, "running", b.runningLocked())
		b.waiting = append(b.waiting, run)
		return nil
	}
	return b.startLocked(run)
}

// startLocked starts run (b.mu held): its marker first, then its goroutine, which starts the
// next waiting build when it is over.
func (b *Builds) startLocked(run agentproto.BuildRun) error {
	if err := b.writeState("running", run.DeploymentID, marker{ID: run.DeploymentID}); err != nil {
		return fmt.Errorf("record the build's start: %w", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	b.running[run.DeploymentID] = cancel
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer cancel(nil)
		b.log.Info("build started", "build", run.DeploymentID, "number", run.Number, "image", run.Image)
		status := b.run(ctx, run)
		b.log.Info("build finished", "build", run.DeploymentID, "status", status)
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.running, run.DeploymentID)
		for len(b.waiting) > 0 && len(b.running) == 0 && !b.stopped {
			next := b.waiting[0]
			b.waiting = b.waiting[1:]
			if _, done := b.Done(next.DeploymentID); done {
				continue
			}
			if err := b.startLocked(next); err != nil {
				b.log.Error("start a waiting build", "build", next.DeploymentID, "error", err)
			}
		}
	}()
	return nil
}

// Cancel stops a running build (a stop): its processes are killed and it ends STOPPED. A
// waiting build is dropped (it never started here; the server has ended it).
func (b *Builds) Cancel(id, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting = slices.DeleteFunc(b.waiting, func(w agentproto.BuildRun) bool { return w.DeploymentID == id })
	cancel, ok := b.running[id]
	if !ok {
		return
	}
	b.log.Warn("build cancelled by the server", "build", id, "reason", reason)
	cancel(fmt.Errorf("by the server: %s", reason))
}

// Stop cancels every running build, drops the waiting ones, and returns once each running
// build has reported its end; no build starts afterwards.
func (b *Builds) Stop(reason string) {
	b.mu.Lock()
	b.stopped = true
	b.waiting = nil
	for id, cancel := range b.running {
		b.log.Warn("build cancelled", "build", id, "reason", reason)
		cancel(errors.New(reason))
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// Running lists the builds running now.
func (b *Builds) Running() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runningLocked()
}

func (b *Builds) runningLocked() []string {
	out := make([]string, 0, len(b.running))
	for id := range b.running {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// buildRun is one build as it runs.
type buildRun struct {
	b     *Builds
	run   agentproto.BuildRun
	ctx   context.Context
	log   *buildLog
	phase string // the phase open now ("" none)
	// deadline is when the build's own timeout ends it.
	deadline time.Time
}

// event reports a phase change or the end.
func (r *buildRun) event(ev agentproto.Event) {
	ev.DeploymentID = r.run.DeploymentID
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	r.b.cfg.Reporter.Event(ev)
}

func (r *buildRun) startPhase(name string) {
	r.phase = name
	r.log.SetPhase(name)
	if err := r.b.writeState("running", r.run.DeploymentID, marker{ID: r.run.DeploymentID, Phase: name}); err != nil {
		r.b.log.Warn("record the build's phase", "build", r.run.DeploymentID, "error", err)
	}
	r.event(agentproto.Event{Event: name, Status: agentproto.StatusStarted})
}

// endPhase reports the open phase ended with result (a Result* of builds) and message.
func (r *buildRun) endPhase(result, message string) {
	if r.phase == "" {
		return
	}
	st := agentproto.StatusSucceeded
	if result != ResultBuildSucceeded {
		st = agentproto.StatusFailed
	}
	r.event(agentproto.Event{Event: r.phase, Status: st, Result: result, Message: message})
	r.phase = ""
}

// interrupted is the result of a phase cut by the end of ctx: STOPPED (a cancel) or TIMED_OUT
// (the build's timeout); "" when ctx is live.
func (r *buildRun) interrupted() string {
	switch {
	case r.ctx.Err() != nil:
		return ResultBuildStopped
	case !time.Now().Before(r.deadline):
		return ResultBuildTimedOut
	}
	return ""
}

// run runs one build to its end and reports it; it returns the build's status.
func (b *Builds) run(ctx context.Context, run agentproto.BuildRun) (status string) {
	timeout := time.Duration(run.TimeoutMinutes) * b.minute
	if timeout <= 0 {
		timeout = builder.DefaultTimeout
	}
	r := &buildRun{b: b, run: run, ctx: ctx, log: newBuildLog(b.cfg.Reporter, run.DeploymentID), deadline: time.Now().Add(timeout)}
	out := &agentproto.BuildOutcome{Status: ResultBuildFailed}
	message := ""
	key := buildKey(run.DeploymentID)
	ws := filepath.Join(b.cfg.Dir, "builds", key)
	defer func() {
		_ = os.RemoveAll(ws)
		r.log.Close()
		if out.Status == "" {
			out.Status = ResultBuildFailed
		}
		if out.Status == ResultBuildStopped {
			if cause := context.Cause(ctx); cause != nil && cause != context.Canceled { //nolint:errorlint // the cause as given
				message = "the build was stopped " + cause.Error()
			}
		}
		st := agentproto.StatusFailed
		if out.Status == ResultBuildSucceeded {
			st = agentproto.StatusSucceeded
		}
		r.event(agentproto.Event{Event: agentproto.BuildEnd, Status: st, Result: out.Status, Message: message, Build: out})
		if err := b.writeState("done", run.DeploymentID, doneRecord{ID: run.DeploymentID, Status: out.Status, End: time.Now()}); err != nil {
			b.log.Error("record the build's end", "build", run.DeploymentID, "error", err)
		}
		_ = os.Remove(filepath.Join(b.stateDir("running"), key+".json"))
		status = out.Status
	}()
	fail := func(result, status, msg string) {
		r.log.Printf("Phase complete: %s State: %s", r.phase, result)
		r.log.Printf("Phase context status code: %s Message: %s", result, msg)
		r.endPhase(result, msg)
		out.Status, message = status, msg
	}
	dctx, dcancel := context.WithDeadline(ctx, r.deadline)
	defer dcancel()

	// DOWNLOAD_SOURCE: the source, the buildspec, the secrets.
	r.startPhase(PhaseDownloadSource)
	r.log.Printf("Entering phase %s", PhaseDownloadSource)
	src := filepath.Join(ws, "src")
	_ = os.RemoveAll(ws)
	if err := os.MkdirAll(src, 0o700); err != nil {
		fail(ResultBuildFault, ResultBuildFault, fmt.Sprintf("make the workspace: %v", err))
		return
	}
	if run.Source.Path != "" {
		r.log.Printf("Downloading the source (%s at %s)", run.Source.Repository, run.ResolvedSourceVersion)
		if err := b.cfg.Fetcher.DownloadSource(dctx, run.Source.Path, src, b.cfg.Source); err != nil {
			if res := r.interrupted(); res != "" {
				fail(res, res, err.Error())
				return
			}
			var se *SourceError
			var re *refusedError
			if errors.As(err, &se) || errors.As(err, &re) {
				fail(ResultClientError, ResultBuildFailed, err.Error())
			} else {
				fail(ResultBuildFault, ResultBuildFault, err.Error())
			}
			return
		}
	}
	spec, err := r.buildspec(src)
	if err != nil {
		fail(ResultClientError, ResultBuildFailed, err.Error())
		return
	}
	env, secrets, masks, err := r.secrets(dctx, spec)
	if err != nil {
		if res := r.interrupted(); res != "" {
			fail(res, res, err.Error())
			return
		}
		fail(ResultClientError, ResultBuildFailed, err.Error())
		return
	}
	r.log.Mask(masks)
	gitEnv, gitMasks, err := r.gitCredential(dctx, spec)
	if err != nil {
		if res := r.interrupted(); res != "" {
			fail(res, res, err.Error())
			return
		}
		fail(ResultClientError, ResultBuildFailed, err.Error())
		return
	}
	if len(gitMasks) > 0 {
		r.log.Mask(append(masks, gitMasks...))
	}
	if run.Image != "" && !b.cfg.Docker {
		fail(ResultClientError, ResultBuildFailed, fmt.Sprintf("the build runs in the image %s and this agent has no Docker engine (none answered when it started)", run.Image))
		return
	}
	r.log.Printf("Phase complete: %s State: %s", PhaseDownloadSource, ResultBuildSucceeded)
	r.endPhase(ResultBuildSucceeded, "")

	// INSTALL ... UPLOAD_ARTIFACTS: the builder.
	execRoot := filepath.Join(ws, "exec")
	if err := os.MkdirAll(execRoot, 0o700); err != nil {
		r.log.Printf("Cannot make the workspace: %v", err)
		out.Status, message = ResultBuildFault, err.Error()
		return
	}
	ex, release, err := b.cfg.Executor(run, execRoot)
	if err != nil {
		r.log.Printf("Cannot make the executor: %v", err)
		out.Status, message = ResultBuildFault, err.Error()
		return
	}
	defer release()
	arts := filepath.Join(ws, "artifacts")
	secondary := map[string]string{}
	opts := builder.Options{
		Executor: ex, SourceDir: src, BuildID: run.DeploymentID, BuildNumber: int(run.Number), Initiator: run.Initiator,
		SourceVersion: run.SourceVersion, ResolvedSourceVersion: run.ResolvedSourceVersion, SourceRepoURL: run.Source.Repository,
		Env: env, Secrets: secrets, Log: r.log, Timeout: time.Until(r.deadline),
		ExtraEnv: gitEnv, Masks: gitMasks, GitCredentialHelper: spec.Env.GitCredentialHelper,
		ArtifactsDir: filepath.Join(arts, "primary"),
		SecondaryDir: func(id string) string {
			d := filepath.Join(arts, fmt.Sprintf("secondary-%d", len(secondary)))
			secondary[id] = d
			return d
		},
		StartTime: time.UnixMilli(run.StartTime), BatchIdentifier: run.BatchIdentifier,
		OnPhase: func(name string, ended *builder.PhaseResult) {
			if ended == nil {
				r.startPhase(name)
				return
			}
			if name == builder.PhaseUploadArtifacts && ended.Status == builder.StatusSucceeded {
				return // ended after the uploads
			}
			res := ResultBuildSucceeded
			if ended.Status != builder.StatusSucceeded {
				res = ResultBuildFailed
				if i := r.interrupted(); i != "" {
					res = i
				}
			}
			r.endPhase(res, ended.Message)
		},
	}
	if run.Image == "" {
		opts.BaseEnv = builder.HostBaseEnv()
	}
	if run.Cache == "LOCAL" {
		opts.CacheDir = filepath.Join(b.cfg.Dir, "build-cache", run.Project)
	}
	res, err := builder.Run(ctx, spec, opts)
	if err != nil {
		r.log.Printf("The build could not start: %v", err)
		r.endPhase(ResultClientError, err.Error())
		out.Status, message = ResultBuildFailed, err.Error()
		return
	}
	out.Status = res.Status
	out.ExportedVariables = res.ExportedVariables
	out.Reports = buildReports(res.Reports)
	if r.phase == builder.PhaseUploadArtifacts {
		arts, err := r.upload(spec, res, filepath.Join(arts, "primary"), secondary, ws)
		out.Artifacts = arts
		if err != nil {
			result := ResultBuildFailed
			if i := r.interrupted(); i != "" {
				result = i
			}
			r.log.Printf("Phase complete: %s State: %s", builder.PhaseUploadArtifacts, result)
			r.endPhase(result, err.Error())
			out.Status, message = result, err.Error()
		} else {
			r.endPhase(ResultBuildSucceeded, "")
		}
	}
	if r.phase != "" { // a phase the builder did not end (it always does; kept for safety)
		result := ResultBuildFailed
		if i := r.interrupted(); i != "" {
			result = i
		}
		r.endPhase(result, "")
	}
	if out.Status != ResultBuildSucceeded && message == "" {
		message = "the build ended " + out.Status
	}
	r.startPhase(PhaseFinalizing)
	r.log.Printf("Phase complete: %s State: %s", PhaseFinalizing, ResultBuildSucceeded)
	r.endPhase(ResultBuildSucceeded, "")
	return
}

// buildspec reads the run's buildspec: inline, or the file in the source (at most
// buildspec.MaxFileSize, inside the source). A missing or invalid one is an error whose message
// holds the diagnostics (CodeBuild's YAML_FILE_ERROR); they are logged too.
func (r *buildRun) buildspec(src string) (*buildspec.Spec, error) {
	name, data := "buildspec", []byte(r.run.Source.BuildspecInline)
	if r.run.Source.BuildspecInline == "" {
		name = r.run.Source.Buildspec
		if name == "" {
			name = "buildspec.yml"
		}
		if r.run.Source.Path == "" {
			return nil, errors.New("YAML_FILE_ERROR: the build has no source and no inline buildspec")
		}
		rel, err := entryName(name)
		if err != nil {
			return nil, fmt.Errorf("YAML_FILE_ERROR: the buildspec path %q must be inside the source", name)
		}
		root, err := os.OpenRoot(src)
		if err != nil {
			return nil, err
		}
		defer func() { _ = root.Close() }()
		f, err := root.Open(rel)
		if err != nil {
			r.log.Printf("YAML_FILE_ERROR: the buildspec %s is not in the source: %v", name, err)
			return nil, fmt.Errorf("YAML_FILE_ERROR: the buildspec %s is not in the source at %s", name, r.run.ResolvedSourceVersion)
		}
		data, err = io.ReadAll(io.LimitReader(f, buildspec.MaxFileSize+1))
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("YAML_FILE_ERROR: read the buildspec %s: %w", name, err)
		}
	}
	spec, diags := buildspec.Load(name, data)
	for _, d := range diags {
		r.log.Printf("%s", d.String())
	}
	if errs := diags.Errors(); len(errs) > 0 {
		return nil, fmt.Errorf("YAML_FILE_ERROR: the buildspec is invalid: %s", strings.TrimSpace(errs.String()))
	}
	return spec, nil
}

// secrets fetches the values of the run's SECRETS_MANAGER and PARAMETER_STORE variables and of
// the buildspec's secrets-manager and parameter-store ones. It returns the run's variables (the
// secret ones with their values), the buildspec's secrets by variable, and every value to mask.
func (r *buildRun) secrets(ctx context.Context, spec *buildspec.Spec) (env []buildspec.Var, secrets map[string]string, masks []string, err error) {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, v := range r.run.Variables {
		if v.Type == "SECRETS_MANAGER" || v.Type == "PARAMETER_STORE" {
			add(v.Value)
		}
	}
	ref := func(s buildspec.SecretRef) string {
		if s.JSONKey != "" {
			return s.SecretID + ":" + s.JSONKey
		}
		return s.SecretID
	}
	for _, v := range spec.Env.ParameterStore {
		add(v.Value)
	}
	for _, s := range spec.Env.SecretsManager {
		add(ref(s))
	}
	values := map[string]string{}
	if len(names) > 0 {
		r.log.Printf("Fetching %d secret values", len(names))
		if values, err = r.b.cfg.Fetcher.BuildSecrets(ctx, r.run.SecretsPath, names); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, v := range r.run.Variables {
		switch v.Type {
		case "SECRETS_MANAGER", "PARAMETER_STORE":
			env = append(env, buildspec.Var{Name: v.Name, Value: values[v.Value]})
		default:
			env = append(env, buildspec.Var{Name: v.Name, Value: v.Value})
		}
	}
	secrets = map[string]string{}
	for _, v := range spec.Env.ParameterStore {
		secrets[v.Name] = values[v.Value]
	}
	for _, s := range spec.Env.SecretsManager {
		secrets[s.Name] = values[ref(s)]
	}
	for _, v := range values {
		masks = append(masks, v)
	}
	return env, secrets, masks, nil
}

// upload zips and uploads the primary artifact (when the buildspec has one) and each secondary
// one, in that order; it returns what was uploaded.
func (r *buildRun) upload(spec *buildspec.Spec, res *builder.Result, primary string, secondary map[string]string, ws string) ([]agentproto.BuildArtifact, error) {
	if spec.Artifacts == nil {
		return nil, nil
	}
	if r.run.ArtifactsPath == "" {
		r.log.Printf("Artifacts not kept: the project keeps none (NO_ARTIFACTS); 'slipway project update %s --artifacts BLOB' keeps them", r.run.Project)
		return nil, nil
	}
	type item struct{ id, name, dir string }
	name := r.run.ArtifactName
	if name == "" {
		name = res.ArtifactName
	}
	var items []item
	if len(spec.Artifacts.Files) > 0 { // a buildspec may declare secondary artifacts only
		items = append(items, item{"", name, primary})
	}
	for _, sec := range spec.Artifacts.Secondary {
		if d, ok := secondary[sec.Identifier]; ok {
			items = append(items, item{sec.Identifier, sec.Name, d})
		}
	}
	var out []agentproto.BuildArtifact
	for i, it := range items {
		if err := os.MkdirAll(it.dir, 0o700); err != nil {
			return out, err
		}
		zipPath := filepath.Join(ws, fmt.Sprintf("artifact-%d.zip", i))
		files, sum, size, err := ZipDir(it.dir, zipPath)
		if err != nil {
			return out, fmt.Errorf("zip the artifact: %w", err)
		}
		label := it.id
		if label == "" {
			label = "primary"
		}
		r.log.Printf("Uploading artifact %s: %d files, %d bytes, sha256 %s", label, files, size, sum)
		up, err := r.b.cfg.Fetcher.UploadArtifact(r.ctx, r.run.ArtifactsPath, label, zipPath, sum)
		_ = os.Remove(zipPath)
		if err != nil {
			return out, err
		}
		out = append(out, agentproto.BuildArtifact{Identifier: it.id, Name: it.name, SHA256: up.SHA256, Size: up.Size, Files: files})
	}
	return out, nil
}
