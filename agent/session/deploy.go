package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/slipwayhq/slipway/agent/lifecycle"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Deployments is the Worker of agentproto.KindDeploy: it runs each pushed deployment with the
// lifecycle runner, once per deployment ID.
type Deployments struct {
	runner   *lifecycle.Runner
	fetcher  lifecycle.Fetcher
	reporter lifecycle.Reporter
	log      *slog.Logger

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
	wg      sync.WaitGroup // the goroutines of the running deployments
}

// NewDeployments returns the deployment worker. The runner downloads bundles with fetcher and
// reports through reporter (the outbox's Reporter).
func NewDeployments(runner *lifecycle.Runner, fetcher lifecycle.Fetcher, reporter lifecycle.Reporter, log *slog.Logger) *Deployments {
	if log == nil {
		log = slog.Default()
	}
	return &Deployments{runner: runner, fetcher: fetcher, reporter: reporter, log: log, running: map[string]context.CancelCauseFunc{}}
}

// Kind is agentproto.KindDeploy.
func (d *Deployments) Kind() string { return agentproto.KindDeploy }

// Recover fails the deployments a killed agent left in flight (lifecycle.Runner.Recover).
func (d *Deployments) Recover() []string {
	ids := d.runner.Recover(d.reporter)
	if len(ids) > 0 {
		d.log.Warn("deployments interrupted by an agent restart were reported failed", "deployments", ids)
	}
	return ids
}

// Start runs a pushed deployment (an agentproto.Run) unless this agent already ran or is
// running it.
func (d *Deployments) Start(body json.RawMessage) error {
	var run agentproto.Run
	if err := json.Unmarshal(body, &run); err != nil {
		return err
	}
	if _, done := d.runner.Done(run.DeploymentID); done {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.running[run.DeploymentID]; ok {
		return nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	d.running[run.DeploymentID] = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel(nil)
		d.log.Info("deployment started", "deployment", run.DeploymentID, "app", run.App, "revision", run.Revision.ID)
		status := d.runner.Run(ctx, run, d.fetcher, d.reporter)
		d.log.Info("deployment finished", "deployment", run.DeploymentID, "status", status)
		d.mu.Lock()
		delete(d.running, run.DeploymentID)
		d.mu.Unlock()
	}()
	return nil
}

// Cancel stops a running deployment (agentproto's Cancel): the running hook's process group is
// terminated at once, no further event runs and the deployment is reported failed (see
// lifecycle.Runner.Run). A deployment not running, or one that has just recorded its end (the
// server cancels every item it sent once the host's part is over, finished ones too), is left
// alone.
func (d *Deployments) Cancel(id, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cancel, ok := d.running[id]
	if !ok {
		return
	}
	if _, done := d.runner.Done(id); done {
		return
	}
	d.log.Warn("deployment cancelled by the server", "deployment", id, "reason", reason)
	cancel(fmt.Errorf("by the server: %s", reason))
}

// Stop cancels every running deployment, as a server's Cancel does (the reason goes into the
// failure's message), returns once each has reported its end, and then ends the processes
// finished hooks left running in their process groups (lifecycle.Runner.EndLeftovers).
func (d *Deployments) Stop(reason string) {
	d.mu.Lock()
	for id, cancel := range d.running {
		d.log.Warn("deployment cancelled", "deployment", id, "reason", reason)
		cancel(errors.New(reason))
	}
	d.mu.Unlock()
	d.wg.Wait()
	if n := d.runner.EndLeftovers(); n > 0 {
		d.log.Info("ended processes the hooks left running", "process_groups", n, "reason", reason)
	}
}

// Running lists the deployments running now.
func (d *Deployments) Running() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.running))
	for id := range d.running {
		out = append(out, id)
	}
	return out
}
