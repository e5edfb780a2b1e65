package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/agent/executor"
	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/bundle"
)

// Fetcher downloads a revision's bundle to dst, verified against rev.SHA256, resuming after a
// cut. It is implemented by the agent's session.
type Fetcher interface {
	Fetch(ctx context.Context, rev agentproto.Revision, dst string) error
}

// Reporter receives a deployment's reports as they happen. Events come with everything filled
// but Seq; the reporter numbers, persists and sends them. The calls for one deployment never
// overlap and come in order, but Log is called from the goroutines that read script output,
// not the one that called Run; deployments of different groups may report at the same time.
type Reporter interface {
	Event(ev agentproto.Event)
	Log(deploymentID string, line agentproto.LogLine)
}

// Config configures a Runner.
type Config struct {
	// Root is the agent's deployment folder (see the layout in layout.go). Scripts run from
	// below it, so a runas user must be able to traverse it.
	Root string
	// MaxRevisions is how many deployment folders are kept per group (default 5, at least 1).
	// The last successful one is never deleted.
	MaxRevisions int
	// HostName is this host's name in Slipway, given to scripts as SLIPWAY_HOST_NAME.
	HostName string
	// HookGrace is the time between SIGTERM and SIGKILL for a script that runs out of time or is
	// cancelled (default executor.DefaultGrace).
	HookGrace time.Duration
	// InstallRoot, when set (an absolute path), puts every files destination and permissions
	// object under it (appspec.Spec.Rooted), and scripts get it as SLIPWAY_INSTALL_ROOT. It is
	// for several simulated hosts on one machine (slipway dev's embedded agents); a real host
	// leaves it empty.
	InstallRoot string
	// KeepGroups makes EndLeftovers able to end what hooks left running (executor.KeepGroups):
	// for agents embedded in another process, whose simulated hosts power off with it.
	KeepGroups bool
	// Destination is the host file system as the install planner sees it (default
	// appspec.OSDestination).
	Destination appspec.Destination
	// Logger is the runner's logger (default slog.Default()).
	Logger *slog.Logger
	// BundleLimits bound what a bundle may unpack to (see bundle.Limits; the agent sets
	// MaxExpansion and MaxBytes from its configuration; zero fields take bundle's defaults, under
	// which there is no expansion limit). ArchiveSize is ignored: it is the downloaded size.
	BundleLimits bundle.Limits
}

// DefaultMaxRevisions is Config.MaxRevisions when unset.
const DefaultMaxRevisions = 5

// Runner runs deployments on this host. Deployments of different groups may run at once;
// those of one group run one after another.
type Runner struct {
	cfg  Config
	exec *executor.Executor
	log  *slog.Logger

	mu      sync.Mutex
	running map[string]bool        // deployment IDs being run
	groups  map[string]*sync.Mutex // one lock per group ID
}

// New checks cfg, fills its defaults and creates the folders of the layout.
func New(cfg Config) (*Runner, error) {
	if cfg.Root == "" {
		return nil, errors.New("lifecycle: Root is required")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: root: %w", err)
	}
	cfg.Root = root
	switch {
	case cfg.MaxRevisions == 0:
		cfg.MaxRevisions = DefaultMaxRevisions
	case cfg.MaxRevisions < 0:
		return nil, fmt.Errorf("lifecycle: max_revisions is %d; it must be at least 1", cfg.MaxRevisions)
	}
	if cfg.HookGrace <= 0 {
		cfg.HookGrace = executor.DefaultGrace
	}
	if cfg.Destination == nil {
		cfg.Destination = appspec.OSDestination{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "lifecycle")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("lifecycle: create root: %w", err)
	}
	for _, d := range []string{instructionsDir, resultsDir} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("lifecycle: create %s: %w", d, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, ongoingDir), 0o700); err != nil {
		return nil, fmt.Errorf("lifecycle: create %s: %w", ongoingDir, err)
	}
	return &Runner{
		cfg:     cfg,
		exec:    &executor.Executor{Grace: cfg.HookGrace, Logger: cfg.Logger.With("component", "executor"), KeepGroups: cfg.KeepGroups},
		log:     log,
		running: map[string]bool{},
		groups:  map[string]*sync.Mutex{},
	}, nil
}

// Run runs the in-place lifecycle of run to its end and returns the deployment's status
// (succeeded or failed). Every event is reported started and then succeeded, failed or
// skipped, every script's result is reported, every output line is logged, and the last
// report is Event{Event: agentproto.DeploymentEnd}. The first failing event fails the
// deployment and no later event runs.
//
// Cancelling ctx is agentproto's Cancel: the running script's process group is terminated
// (SIGTERM, SIGKILL after Config.HookGrace), the running event is reported failed with
// agentproto.ResultCancelled, no further event runs and the deployment fails.
//
// A deployment ID runs once: Run of an ID that already finished reports its end again and
// returns its status; Run of an ID that is running right now returns StatusStarted at once.
func (r *Runner) Run(ctx context.Context, run agentproto.Run, f Fetcher, rep Reporter) agentproto.Status {
	if err := errors.Join(checkID("deployment ID", run.DeploymentID, false), checkID("group ID", run.GroupID, true)); err != nil {
		rep.Event(agentproto.Event{DeploymentID: run.DeploymentID, Event: agentproto.DeploymentEnd, Status: agentproto.StatusFailed,
			Result: agentproto.ResultUnknownError, Message: "refused: " + err.Error(), Time: time.Now()})
		return agentproto.StatusFailed
	}
	if !r.claim(run.DeploymentID) {
		return agentproto.StatusStarted
	}
	defer r.release(run.DeploymentID)
	if res, ok := r.readResult(run.DeploymentID); ok {
		rep.Event(agentproto.Event{DeploymentID: run.DeploymentID, Event: agentproto.DeploymentEnd, Status: res.Status,
			Result: res.Result, Message: res.Message, Time: time.Now()})
		return res.Status
	}
	unlock := r.lockGroup(run.GroupID)
	defer unlock()

	d, err := r.start(run, f, rep)
	if err != nil {
		r.log.Error("start deployment", "deployment", run.DeploymentID, "err", err)
		return r.finish(nil, run, rep, outcome{status: agentproto.StatusFailed, result: agentproto.ResultUnknownError,
			message: "prepare deployment folder: " + err.Error()}, "")
	}
	defer d.logs.close()
	out, event := d.walk(ctx)
	return r.finish(d, run, rep, out, event)
}

// EndLeftovers ends the processes that hooks this runner ran left running in their process
// groups (executor.Executor.EndLeftovers) and returns how many groups had one. For agents
// embedded in another process (`slipway dev`), whose simulated hosts power off with it.
func (r *Runner) EndLeftovers() int { return r.exec.EndLeftovers() }

func (r *Runner) claim(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[id] {
		return false
	}
	r.running[id] = true
	return true
}

func (r *Runner) release(id string) {
	r.mu.Lock()
	delete(r.running, id)
	r.mu.Unlock()
}

func (r *Runner) lockGroup(groupID string) func() {
	r.mu.Lock()
	m := r.groups[groupID]
	if m == nil {
		m = &sync.Mutex{}
		r.groups[groupID] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// info is a deployment folder's deployment.json.
type info struct {
	DeploymentID string              `json:"deployment_id"`
	GroupID      string              `json:"group_id"`
	App          string              `json:"app"`
	Group        string              `json:"group"`
	Revision     agentproto.Revision `json:"revision"`
	Started      time.Time           `json:"started"`
}

// start creates the deployment folder, its scripts.log and its in-flight marker.
func (r *Runner) start(run agentproto.Run, f Fetcher, rep Reporter) (*deployment, error) {
	dir := r.deploymentDir(run.GroupID, run.DeploymentID)
	if err := os.MkdirAll(r.groupDir(run.GroupID), 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	now := time.Now()
	b, err := json.MarshalIndent(info{DeploymentID: run.DeploymentID, GroupID: run.GroupID, App: run.App, Group: run.Group,
		Revision: run.Revision, Started: now}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(dir, infoName), b, 0o644); err != nil {
		return nil, err
	}
	if err := r.writeMarker(marker{DeploymentID: run.DeploymentID, GroupID: run.GroupID, Since: now}); err != nil {
		return nil, err
	}
	logs, err := openScriptsLog(dir)
	if err != nil {
		return nil, err
	}
	last, err := r.lastSuccessful(run.GroupID)
	if err != nil {
		logs.close()
		return nil, err
	}
	return &deployment{r: r, run: run, fetcher: f, rep: rep, dir: dir, logs: logs, lastSuccessful: last}, nil
}

// finish records and reports the deployment's end, removes its in-flight marker and applies
// retention. d is nil when the deployment folder could not be prepared.
func (r *Runner) finish(d *deployment, run agentproto.Run, rep Reporter, out outcome, event string) agentproto.Status {
	now := time.Now()
	msg := out.message
	if out.status == agentproto.StatusFailed && event != "" {
		msg = event + " failed: " + msg
	}
	res := result{DeploymentID: run.DeploymentID, GroupID: run.GroupID, Status: out.status, Event: event,
		Result: out.result, Message: msg, Time: now}
	if out.status != agentproto.StatusFailed {
		res.Event, res.Result = "", ""
	}
	if err := r.writeResult(res); err != nil {
		r.log.Error("record deployment result", "deployment", run.DeploymentID, "err", err)
	}
	if d != nil {
		d.logs.note(now, agentproto.DeploymentEnd, "agent", fmt.Sprintf("deployment %s: %s", out.status, msg))
	}
	rep.Event(agentproto.Event{DeploymentID: run.DeploymentID, Event: agentproto.DeploymentEnd, Status: res.Status,
		Result: res.Result, Message: res.Message, Time: now})
	if err := removeSync(r.markerFile(run.DeploymentID)); err != nil {
		r.log.Error("remove in-flight marker", "deployment", run.DeploymentID, "err", err)
	}
	if err := r.prune(run.GroupID, run.DeploymentID); err != nil {
		r.log.Error("apply max_revisions", "group", run.GroupID, "err", err)
	}
	r.log.Info("deployment finished", "deployment", run.DeploymentID, "group", run.GroupID, "status", res.Status, "message", res.Message)
	return res.Status
}
