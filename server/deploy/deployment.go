package deploy

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// maxRevisionLen bounds a revision ID a client names, in bytes (the API's bound on resource
// names).
const maxRevisionLen = 256

// Deployments is the deployments' Go API: what the HTTP handlers, the console and other
// services call. Writes go through the cluster (commands); reads read this server's state.
type Deployments struct{ core *module.Core }

// Create starts a deployment of a revision to the named hosts or to a deployment group. ctx
// carries the write's idempotency key (api.Kit.WriteContext).
func (s Deployments) Create(ctx context.Context, req pub.DeploymentCreateRequest) (pub.Deployment, error) {
	if req.App == "" || req.Revision == "" || (len(req.Hosts) == 0) == (req.Group == "") {
		return pub.Deployment{}, fault.New(fault.Invalid, "a deployment needs an app, a revision, and either a group or at least one host")
	}
	if err := validDeploymentRequest(req); err != nil {
		return pub.Deployment{}, err
	}
	// The revision may be named by a unique prefix or as latest: the command gets its full ID.
	rev, err := (&Revisions{core: s.core}).Resolve(ctx, req.App, req.Revision)
	if err != nil {
		return pub.Deployment{}, err
	}
	req.Revision = rev.ID
	var hostIDs []string
	seen := map[string]bool{}
	err = s.core.State.View(func(tx *state.Tx) error {
		for _, name := range req.Hosts {
			h, err := tx.HostByName(name)
			if err != nil {
				return err
			}
			if !seen[h.ID] {
				seen[h.ID] = true
				hostIDs = append(hostIDs, h.ID)
			}
		}
		return nil
	})
	if err != nil {
		return pub.Deployment{}, err
	}
	res, err := command.Propose(ctx, s.core.Cluster, cmdDeploymentCreate, s.core.Now(), DeploymentCreate{
		ID: "d-" + uuid.NewString()[:18], App: req.App, RevisionID: req.Revision, HostIDs: hostIDs,
		Group: req.Group, Config: rollout.Canonical(req.Config), IgnoreApplicationStopFailures: req.IgnoreApplicationStopFailures,
	})
	if err != nil {
		return pub.Deployment{}, err
	}
	return viewOf(res)
}

// validDeploymentRequest checks the names a deployment request refers to, so that a hostile
// value is refused with a short message instead of being looked up and echoed.
func validDeploymentRequest(req pub.DeploymentCreateRequest) error {
	if err := state.ValidateName("application", req.App); err != nil {
		return err
	}
	if err := state.ValidateText("revision", req.Revision, maxRevisionLen); err != nil {
		return err
	}
	if req.Group != "" {
		if err := state.ValidateName("deployment group", req.Group); err != nil {
			return err
		}
	}
	if req.Config != "" {
		if err := state.ValidateName("deployment config", req.Config); err != nil {
			return err
		}
	}
	for _, h := range req.Hosts {
		if err := state.ValidateName("host", h); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops a deployment (and rolls a group deployment back when rollback is set).
func (s Deployments) Stop(ctx context.Context, id string, rollback bool) (pub.Deployment, error) {
	res, err := command.Propose(ctx, s.core.Cluster, cmdDeploymentStop, s.core.Now(), DeploymentStop{DeploymentID: id, Rollback: rollback})
	if err != nil {
		return pub.Deployment{}, err
	}
	return viewOf(res)
}

func viewOf(res command.Result) (pub.Deployment, error) {
	d, err := command.Data[Deployment](res)
	if err != nil {
		return pub.Deployment{}, err
	}
	return deploymentView(d), nil
}

// Record returns a deployment's record, whole (its targets assembled). One this server does
// not have yet is looked up again after a consistent read (it may have been created through
// another server a moment ago); ctx bounds that wait.
func (s Deployments) Record(ctx context.Context, id string) (Deployment, error) {
	return s.read(ctx, id, getDeployment)
}

// Header returns a deployment's record without its targets (a record stored by an earlier
// release has them), as Record looks it up: what reads of one host's part start from
// (readTarget).
func (s Deployments) Header(ctx context.Context, id string) (Deployment, error) {
	return s.read(ctx, id, readHeader)
}

func (s Deployments) read(ctx context.Context, id string, read func(*state.Tx, string) (Deployment, error)) (Deployment, error) {
	var d Deployment
	get := func() error {
		return s.core.State.View(func(tx *state.Tx) error {
			var err error
			d, err = read(tx, id)
			return err
		})
	}
	err := s.core.ReadYourWrites(ctx, get)
	return d, err
}

// Get returns a deployment (see Record).
func (s Deployments) Get(ctx context.Context, id string) (pub.Deployment, error) {
	d, err := s.Record(ctx, id)
	if err != nil {
		return pub.Deployment{}, err
	}
	return deploymentView(d), nil
}

// Logs returns a host's output lines of a deployment after the sequence number after. host
// names the host; it may be empty for a deployment that runs on one host.
func (s Deployments) Logs(ctx context.Context, id, host string, after uint64) (pub.DeploymentLogs, error) {
	d, err := s.Record(ctx, id)
	if err != nil {
		return pub.DeploymentLogs{}, err
	}
	tg, err := targetByName(d, host)
	if err != nil {
		return pub.DeploymentLogs{}, err
	}
	return s.logsAfter(d, tg, after)
}

// recordWait bounds the consistent read of a deployment this server did not have yet, during a
// watch (the API's write timeout, which bounds that read for a single request).
const recordWait = 30 * time.Second

// WatchEnd says why Watch returned without an error.
type WatchEnd struct {
	// Status is the deployment's final status when it finished and everything was sent.
	Status string
	// Stopped is the reason stop gave to end the watch ("" when it did not).
	Stopped string
}

// WatchFrom is where a watch resumes: what its client already has, so that a client that lost
// its server and reconnects to another one gets nothing twice.
type WatchFrom struct {
	// Index is the ModifyIndex of the last deployment record the client has: only a newer one is
	// sent (0: from the start).
	Index uint64
	// After maps a host name to the log sequence the client has its lines up to (the Next of the
	// last lines message for that host): only later lines are sent.
	After map[string]uint64
}

// Watch sends the deployment whenever it changes and its output lines as they commit, from
// where from says the client is, until it has finished and everything was sent
// (WatchEnd.Status), stop gives a reason to end (it is asked before each round: a stream checks
// its token there), send fails, or ctx ends. It wakes on every entry this server applies, and at
// least every 5 seconds. A read of the deployment that fails ends the watch with the error; a
// failed send returns WatchEnd{} and no error, ctx's end its error. A server that has not yet
// applied what the client has sends nothing older than it: the record only once it is newer,
// lines only past the client's sequence.
func (s Deployments) Watch(ctx context.Context, id string, from WatchFrom, stop func() string, send func(pub.WatchMessage) bool) (WatchEnd, error) {
	lastIndex := from.Index
	after := map[string]uint64{} // by host ID
	var round time.Time
	for {
		// A round reads every host's part and output, so rounds of a big deployment are spaced
		// (watchGap): a watcher's cost stays proportional to the fleet, not to fleet × entries.
		if err := pace(ctx, round, watchGap(s.hostsOf(id))); err != nil {
			return WatchEnd{}, err
		}
		round = time.Now()
		idx := s.core.Cluster.AppliedIndex()
		if why := stop(); why != "" {
			return WatchEnd{Stopped: why}, nil
		}
		rctx, cancel := context.WithTimeout(ctx, recordWait)
		d, err := s.Record(rctx, id)
		cancel()
		if err != nil {
			return WatchEnd{}, err
		}
		lines, err := s.newLines(d, from, after)
		if err != nil {
			return WatchEnd{}, err
		}
		for _, m := range lines {
			if !send(m) {
				return WatchEnd{}, nil
			}
		}
		if d.ModifyIndex > lastIndex {
			v := deploymentView(d)
			if !send(pub.WatchMessage{Deployment: &v}) {
				return WatchEnd{}, nil
			}
			lastIndex = d.ModifyIndex
		}
		if d.EndTime != nil {
			return WatchEnd{Status: d.Status}, nil
		}
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		_ = s.core.Cluster.WaitApplied(wctx, idx+1)
		wcancel()
		if err := ctx.Err(); err != nil {
			return WatchEnd{}, err
		}
	}
}

func targetByName(d Deployment, name string) (*Target, error) {
	for _, tg := range d.Targets {
		if tg.HostName == name || (name == "" && len(d.Targets) == 1) {
			return tg, nil
		}
	}
	if name == "" {
		return nil, fault.New(fault.Invalid, "deployment %s runs on %d hosts: name one with host=", d.ID, len(d.Targets))
	}
	return nil, fault.New(fault.NotFound, "deployment %s does not run on host %s", d.ID, state.Shorten(name))
}

func (s Deployments) logsAfter(d Deployment, tg *Target, after uint64) (pub.DeploymentLogs, error) {
	out := pub.DeploymentLogs{Host: tg.HostName, Lines: []pub.LogLine{}, Next: after, Truncated: tg.Truncated}
	err := s.core.State.View(func(tx *state.Tx) error {
		return logsOf(tx, d.ID, tg.HostID, after, func(seq uint64, raw []byte) error {
			var lines []pub.LogLine
			if err := json.Unmarshal(raw, &lines); err != nil {
				return err
			}
			out.Lines = append(out.Lines, lines...)
			out.Next = seq
			return nil
		})
	})
	return out, err
}

// deploymentView is a deployment as the API shows it: targets by host name, in name order.
func deploymentView(d Deployment) pub.Deployment {
	out := pub.Deployment{ID: d.ID, App: d.App, Revision: d.RevisionID, SHA256: d.SHA256, Status: d.Status, Message: d.Message,
		Group: d.Group, RollbackOf: d.RollbackOf, RolledBack: d.RolledBackBy,
		CreateTime: d.CreateTime, EndTime: d.EndTime, ModifyIndex: d.ModifyIndex, Targets: []pub.DeploymentTarget{}}
	if d.Rollout != nil {
		out.Config, out.MinHealthy = d.Rollout.Config.Name, d.Rollout.MinHealthy
	}
	for _, tg := range d.Targets {
		t := pub.DeploymentTarget{Host: tg.HostName, Status: tg.Status, Message: tg.Message, LogTruncated: tg.Truncated, EventsTruncated: tg.EventsTruncated}
		for _, e := range tg.Events {
			t.Events = append(t.Events, pub.LifecycleEvent{Name: e.Name, Script: e.Script, Status: e.Status, Result: e.Result,
				ExitCode: e.ExitCode, Message: e.Message, Start: e.Start, End: e.End})
		}
		out.Targets = append(out.Targets, t)
	}
	sort.Slice(out.Targets, func(i, j int) bool { return out.Targets[i].Host < out.Targets[j].Host })
	return out
}
