package pipeline

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/core/webhook"
)

// The driver (the leader task "driver") runs the actions' work: after each applied entry (at
// most every driveGap) and at least every drivePause, it reads the executions in progress
// (pipeline/active) and the abandoned actions (pipeline/abandoned), and for each action
// InProgress whose provider is not Manual:
//   - no ExternalID: Provider.Start, once per run Key in this leadership (a new leader starts
//     again only runs whose action_started never committed; a provider finds the work it began
//     for the Key), then proposes pipeline.action_started (work going on) or action_result
//     (work over);
//   - an ExternalID: Provider.Poll, at most every pollGap, proposing action_result when done;
//   - a deadline passed (Execution.Deadlines: approvals and timeoutInMinutes): pipeline.timeout,
//     then Provider.Stop of the work.
//
// Abandoned entries: Provider.Stop of the work (when it began), then action_result Abandoned.
// A provider missing for a provider name ends the action Failed. Provider errors are retried
// with backoff (from retryBase, doubling, at most retryMax), logged at Debug and, from the third
// in a row, at Warn. At most driveWorkers calls to providers run at once. It keeps nothing the
// state does not: everything above is decided again by the next leader from the state.
const (
	drivePause   = time.Second
	driveGap     = 20 * time.Millisecond
	pollGap      = 250 * time.Millisecond
	retryBase    = 250 * time.Millisecond
	retryMax     = 30 * time.Second
	driveWorkers = 32
)

// driver is one leadership's driver.
type driver struct {
	m   *Module
	log *slog.Logger
	sem chan struct{}

	mu       sync.Mutex
	busy     map[string]bool      // keys with a provider call in flight
	started  map[string]string    // keys Start answered in this leadership -> its ExternalID
	polled   map[string]time.Time // key -> last poll
	failures map[string]int       // key -> provider errors in a row
	retry    map[string]time.Time // key -> not before
	done     map[string]bool      // keys whose timeout or abandon was proposed in this leadership
	finished map[string]Result    // keys whose Start or Poll answered the work's end
}

// drive is the leader task: ctx ends when leadership is lost.
func (m *Module) drive(ctx context.Context) {
	log := m.core.Log
	if log == nil {
		log = slog.Default()
	}
	d := &driver{m: m, log: log.With("component", "pipeline-driver"), sem: make(chan struct{}, driveWorkers),
		busy: map[string]bool{}, started: map[string]string{}, polled: map[string]time.Time{},
		failures: map[string]int{}, retry: map[string]time.Time{}, done: map[string]bool{}, finished: map[string]Result{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		idx := m.core.Cluster.AppliedIndex()
		d.round(ctx, &wg, time.Now())
		wctx, cancel := context.WithTimeout(ctx, drivePause)
		_ = m.core.Cluster.WaitApplied(wctx, idx+1)
		cancel()
		gap := time.NewTimer(driveGap)
		select {
		case <-ctx.Done():
		case <-gap.C:
		}
		gap.Stop()
	}
}

// work is one thing the driver does for one run.
type work struct {
	kind     string // start, poll, timeout, abandon, missing
	run      ActionRun
	external string
}

// round reads the state and hands out this round's work.
func (d *driver) round(ctx context.Context, wg *sync.WaitGroup, now time.Time) {
	var todo []work
	_ = d.m.core.State.View(func(tx *state.Tx) error {
		execs, err := activeExecutions(tx)
		if err != nil {
			return err
		}
		specs := map[string]*pipelinespec.Pipeline{}
		for _, e := range execs {
			spec := specOf(tx, specs, e)
			for _, st := range e.Stages {
				for _, a := range st.Actions {
					if a.Status != pub.PipelineInProgress {
						continue
					}
					run := runOf(e, st, a, spec)
					if dl, ok := e.Deadlines[st.Name+"/"+a.Name]; ok && now.After(dl) {
						todo = append(todo, work{kind: "timeout", run: run, external: a.ExternalID})
						continue
					}
					if a.Provider == pipelinespec.ProviderManual {
						continue
					}
					if _, ok := d.m.provider(a.Provider); !ok {
						todo = append(todo, work{kind: "missing", run: run})
						continue
					}
					if a.ExternalID == "" {
						todo = append(todo, work{kind: "start", run: run})
					} else {
						todo = append(todo, work{kind: "poll", run: run, external: a.ExternalID})
					}
				}
			}
		}
		ab, err := abandonedEntries(tx)
		if err != nil {
			return err
		}
		for _, x := range ab {
			e, ok, err := loadExecution(tx, x.ExecutionID)
			if err != nil || !ok {
				continue
			}
			spec := specOf(tx, specs, e)
			for _, st := range e.Stages {
				for _, a := range st.Actions {
					if st.Name == x.Stage && a.Name == x.Action {
						run := runOf(e, st, a, spec)
						run.Attempt = x.Attempt
						run.Key = runKey(e, st.Name, a.Name, x.Attempt)
						todo = append(todo, work{kind: "abandon", run: run, external: a.ExternalID})
					}
				}
			}
		}
		return nil
	})
	d.prune(todo)
	for _, w := range todo {
		if !d.take(w, now) {
			continue
		}
		select {
		case d.sem <- struct{}{}:
		default:
			d.release(w.run.Key) // every worker busy: next round
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-d.sem; wg.Done() }()
			d.do(ctx, w)
		}()
	}
}

// prune forgets the runs that are no longer to do (ended, or another leader's doing), so a
// long leadership keeps only what the state still asks for.
func (d *driver) prune(todo []work) {
	live := map[string]bool{}
	for _, w := range todo {
		live[w.run.Key] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range []map[string]time.Time{d.polled, d.retry} {
		for k := range m {
			if !live[k] {
				delete(m, k)
			}
		}
	}
	for k := range d.started {
		if !live[k] {
			delete(d.started, k)
			delete(d.finished, k)
		}
	}
	for k := range d.failures {
		if !live[k] {
			delete(d.failures, k)
		}
	}
	for k := range d.done {
		if _, key, _ := strings.Cut(k, "/"); !live[key] {
			delete(d.done, k)
		}
	}
}

// take decides whether w is due now and marks its key busy.
func (d *driver) take(w work, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := w.run.Key
	if d.busy[k] || now.Before(d.retry[k]) {
		return false
	}
	switch w.kind {
	case "start":
		if _, ok := d.started[k]; ok && now.Sub(d.polled[k]) < pollGap { // Start answered; not applied yet
			return false
		}
	case "poll":
		if now.Sub(d.polled[k]) < pollGap {
			return false
		}
	case "timeout", "abandon", "missing":
		if d.done[w.kind+"/"+k] {
			return false
		}
	}
	d.busy[k] = true
	return true
}

func (d *driver) release(key string) {
	d.mu.Lock()
	delete(d.busy, key)
	d.mu.Unlock()
}

// do runs one work item and records its outcome for the next rounds.
func (d *driver) do(ctx context.Context, w work) {
	defer d.release(w.run.Key)
	run, k := w.run, w.run.Key
	prov, _ := d.m.provider(run.Provider)
	var err error
	switch w.kind {
	case "missing":
		err = d.result(ctx, run, Result{Done: true, Status: pub.PipelineFailed, Error: "no provider " + run.Provider + " in this cluster"})
		d.mark("missing/"+k, err)
	case "timeout":
		_, err = command.Propose(ctx, d.m.core.Cluster, cmdTimeout, d.m.core.Now(),
			TimeoutPayload{ExecutionID: run.Execution, Stage: run.Stage, Action: run.Action, Attempt: run.Attempt})
		if err == nil {
			d.log.Info("pipeline action timed out", "key", k)
			if prov != nil && w.external != "" {
				if serr := prov.Stop(ctx, run, w.external); serr != nil {
					d.log.Warn("could not stop the work of a timed-out action", "key", k, "external_id", w.external, "error", serr)
				}
			}
		}
		d.mark("timeout/"+k, err)
	case "abandon":
		if prov != nil && w.external != "" {
			err = prov.Stop(ctx, run, w.external)
		}
		if err == nil {
			err = d.result(ctx, run, Result{Done: true, Status: pub.PipelineAbandoned, ExternalID: w.external, Summary: "abandoned by a stop"})
		}
		d.mark("abandon/"+k, err)
	case "start":
		d.mu.Lock()
		ext, began := d.started[k]
		res, over := d.finished[k]
		d.mu.Unlock()
		switch {
		case over: // the work ended; its result's proposal was refused: propose it again
		case began:
			res, err = prov.Poll(ctx, run, ext)
		default:
			res, err = prov.Start(ctx, run)
			if err == nil {
				d.mu.Lock()
				d.started[k] = res.ExternalID
				d.mu.Unlock()
				d.log.Info("pipeline action started", "key", k, "provider", run.Provider, "external_id", res.ExternalID)
			}
		}
		d.polled1(k)
		if err == nil && res.Done {
			d.mu.Lock()
			d.finished[k] = res
			d.mu.Unlock()
		}
		if err == nil {
			if res.Done {
				err = d.result(ctx, run, res)
			} else { // again after a refused proposal, until the state has the ExternalID
				if res.ExternalID == "" {
					res.ExternalID = ext
				}
				_, err = command.Propose(ctx, d.m.core.Cluster, cmdActionStarted, d.m.core.Now(), ActionStartedPayload{
					ExecutionID: run.Execution, Stage: run.Stage, Action: run.Action, Attempt: run.Attempt, ExternalID: res.ExternalID, Summary: res.Summary})
			}
		}
	case "poll":
		var res Result
		res, err = prov.Poll(ctx, run, w.external)
		d.polled1(k)
		if err == nil && res.Done {
			if res.ExternalID == "" {
				res.ExternalID = w.external
			}
			err = d.result(ctx, run, res)
		}
	}
	d.outcome(ctx, w, err)
}

// result proposes the end of a run and logs it.
func (d *driver) result(ctx context.Context, run ActionRun, res Result) error {
	_, err := command.Propose(ctx, d.m.core.Cluster, cmdActionResult, d.m.core.Now(), ActionResultPayload{
		ExecutionID: run.Execution, Stage: run.Stage, Action: run.Action, Attempt: run.Attempt, Status: res.Status,
		ExternalID: res.ExternalID, Summary: res.Summary, Error: res.Error, Outputs: res.Outputs, Variables: res.Variables})
	if err == nil {
		d.log.Info("pipeline action ended", "key", run.Key, "status", res.Status, "error", res.Error)
	}
	return err
}

func (d *driver) polled1(key string) {
	d.mu.Lock()
	d.polled[key] = time.Now()
	d.mu.Unlock()
}

// mark remembers that a one-shot proposal (timeout, abandon, missing) went through.
func (d *driver) mark(key string, err error) {
	if err != nil {
		return
	}
	d.mu.Lock()
	d.done[key] = true
	d.mu.Unlock()
}

// outcome keeps the backoff of a key: reset on success, doubled on each error in a row.
func (d *driver) outcome(ctx context.Context, w work, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := w.run.Key
	if err == nil {
		delete(d.failures, k)
		delete(d.retry, k)
		return
	}
	if ctx.Err() != nil {
		return
	}
	d.failures[k]++
	n := d.failures[k]
	wait := webhook.Backoff(retryBase, retryMax, n)
	d.retry[k] = time.Now().Add(wait)
	if n >= 3 {
		d.log.Warn("pipeline action: the provider failed; trying again", "key", k, "work", w.kind, "attempts", n, "retry_in", wait, "error", err)
	} else {
		d.log.Debug("pipeline action: the provider failed; trying again", "key", k, "work", w.kind, "attempts", n, "retry_in", wait, "error", err)
	}
}

// specOf answers the definition of the version e runs (nil when it is not kept), reading each
// version once per round.
func specOf(tx *state.Tx, cache map[string]*pipelinespec.Pipeline, e Execution) *pipelinespec.Pipeline {
	key := e.Pipeline + "\x00" + strconv.Itoa(e.Version)
	if s, ok := cache[key]; ok {
		return s
	}
	var out *pipelinespec.Pipeline
	if s, ok, err := versionSpec(tx, e.Pipeline, e.Version); err == nil && ok {
		out = &s
	}
	cache[key] = out
	return out
}

// runOf is the ActionRun of action a of stage st of e, as the provider sees it: the
// configuration the engine resolved when the action started, and from the definition the
// commands, outputs' names and timeout.
func runOf(e Execution, st pub.StageExecution, a pub.ActionExecution, spec *pipelinespec.Pipeline) ActionRun {
	attempt := a.Attempt
	if attempt == 0 {
		attempt = st.Attempt
	}
	run := ActionRun{Pipeline: e.Pipeline, Execution: e.ID, Stage: st.Name, Action: a.Name, Attempt: attempt,
		Key: runKey(e, st.Name, a.Name, attempt), Category: a.Category, Provider: a.Provider,
		Configuration: a.Configuration, Inputs: a.Inputs}
	if a.StartTime != nil {
		run.StartTime = *a.StartTime
	}
	if def := specAction(spec, st.Name, a.Name); def != nil {
		run.Commands = a.Commands
		if len(run.Commands) == 0 {
			run.Commands = def.Commands // an action started before commands were resolved
		}
		for _, o := range def.OutputArtifacts {
			run.OutputNames = append(run.OutputNames, o.Name)
		}
		if def.TimeoutInMinutes > 0 {
			run.Timeout = time.Duration(def.TimeoutInMinutes) * time.Minute
		}
		if len(run.Inputs) == 0 {
			for _, in := range def.InputArtifacts {
				if art, ok := e.Artifacts[in.Name]; ok {
					run.Inputs = append(run.Inputs, art)
				}
			}
		}
		if run.Configuration == nil {
			run.Configuration = def.Configuration
		}
	}
	for i := range e.SourceRevisions {
		if e.SourceRevisions[i].Action == a.Name && a.Category == pipelinespec.CategorySource {
			sr := e.SourceRevisions[i]
			run.Source = &sr
		}
	}
	return run
}

// runKey is a run's Key: "pipeline/EXECUTION/STAGE/ACTION/ATTEMPT".
func runKey(e Execution, stage, action string, attempt int) string {
	return e.Pipeline + "/" + e.ID + "/" + stage + "/" + action + "/" + strconv.Itoa(attempt)
}

func specAction(spec *pipelinespec.Pipeline, stage, action string) *pipelinespec.Action {
	if spec == nil {
		return nil
	}
	for i := range spec.Stages {
		if spec.Stages[i].Name != stage {
			continue
		}
		for j := range spec.Stages[i].Actions {
			if spec.Stages[i].Actions[j].Name == action {
				return &spec.Stages[i].Actions[j]
			}
		}
	}
	return nil
}
