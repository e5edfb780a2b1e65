package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// engine is one command's run of the execution engine (contract: "Engine semantics"). It reads
// pipelines and executions through its cache, decides what each does next from them and the
// command's time alone, and writes what changed once, in flush: a command that fails before
// flush changes nothing. Every order that reaches the state (lanes, stages, actions, flush) is
// the records' own or sorted, never a map's, so every server writes the same bytes.
//
// The engine's steps call each other as the semantics chain: an action's end may end its run
// order, its stage, free the stage's lane (admitting the next waiting execution, whose actions
// may end at once too), enter the next stage and end the execution. The recursion is bounded:
// each step ends an action, a stage or an execution, and none starts again within one command
// except the one automatic retry of a stage.
type engine struct {
	tx    *state.Tx
	index uint64
	now   time.Time

	recs  map[string]*Record
	execs map[string]*Execution
	specs map[string]*pipelinespec.Pipeline // by string(versionKey)

	dirtyRecs  map[string]bool
	dirtyExecs map[string]bool
	gone       map[string]bool // executions deleted (retention): flush deletes them
	ops        []func(*state.Tx) error
}

func newEngine(tx *state.Tx, index uint64, now time.Time) *engine {
	return &engine{
		tx: tx, index: index, now: now,
		recs: map[string]*Record{}, execs: map[string]*Execution{}, specs: map[string]*pipelinespec.Pipeline{},
		dirtyRecs: map[string]bool{}, dirtyExecs: map[string]bool{}, gone: map[string]bool{},
	}
}

// record answers pipeline name from the cache (fault.NotFound when there is none).
func (g *engine) record(name string) (*Record, error) {
	if r, ok := g.recs[name]; ok {
		return r, nil
	}
	r, err := mustRecord(g.tx, name)
	if err != nil {
		return nil, err
	}
	g.recs[name] = &r
	return &r, nil
}

// touchRecord marks r to be written by flush.
func (g *engine) touchRecord(r *Record) { g.dirtyRecs[r.Name] = true }

// exec answers execution id from the cache; ok is false when there is none (or it was deleted
// in this command).
func (g *engine) exec(id string) (*Execution, bool, error) {
	if g.gone[id] {
		return nil, false, nil
	}
	if x, ok := g.execs[id]; ok {
		return x, true, nil
	}
	x, ok, err := loadExecution(g.tx, id)
	if err != nil || !ok {
		return nil, false, err
	}
	g.execs[id] = &x
	return &x, true, nil
}

// touch marks x to be written by flush, updated at the command's time.
func (g *engine) touch(x *Execution) {
	g.execs[x.ID] = x
	g.dirtyExecs[x.ID] = true
	x.UpdateTime = g.now
}

// spec answers the definition of version v of pipeline name: an internal error when it is not
// kept (versions an execution in progress runs are never pruned).
func (g *engine) spec(name string, v int) (*pipelinespec.Pipeline, error) {
	k := string(versionKey(name, v))
	if s, ok := g.specs[k]; ok {
		return s, nil
	}
	s, ok, err := versionSpec(g.tx, name, v)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.New(fault.Conflict, "version %d of pipeline %s is no longer kept", v, state.Shorten(name))
	}
	g.specs[k] = &s
	return &s, nil
}

// stageSpec answers the definition of x's stage si (from the version x runs).
func (g *engine) stageSpec(x *Execution, si int) (*pipelinespec.Stage, error) {
	s, err := g.spec(x.Pipeline, x.Version)
	if err != nil {
		return nil, err
	}
	name := x.Stages[si].Name
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i], nil
		}
	}
	return nil, fault.New(fault.Internal, "version %d of pipeline %s has no stage %s", x.Version, x.Pipeline, name)
}

// actionSpec answers the definition of action name of stage st.
func actionSpec(st *pipelinespec.Stage, name string) (*pipelinespec.Action, error) {
	for i := range st.Actions {
		if st.Actions[i].Name == name {
			return &st.Actions[i], nil
		}
	}
	return nil, fault.New(fault.Internal, "stage %s has no action %s", st.Name, name)
}

// op queues a write for flush (after the records and executions).
func (g *engine) op(f func(*state.Tx) error) { g.ops = append(g.ops, f) }

// flush writes what the command changed: the pipelines (their empty lanes dropped), the
// executions (pipeline/active in step), the deletions, then the queued writes.
func (g *engine) flush() error {
	for _, name := range slices.Sorted(maps.Keys(g.dirtyRecs)) {
		r := g.recs[name]
		for _, stage := range slices.Sorted(maps.Keys(r.Lanes)) {
			if l := r.Lanes[stage]; l == nil || (l.Running == "" && len(l.Waiting) == 0) {
				delete(r.Lanes, stage)
			}
		}
		if len(r.Lanes) == 0 {
			r.Lanes = nil
		}
		if err := putRecord(g.tx, *r); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(g.dirtyExecs)) {
		if g.gone[id] {
			continue
		}
		if err := putExecution(g.tx, *g.execs[id]); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(g.gone)) {
		if err := deleteExecution(g.tx, id); err != nil {
			return err
		}
	}
	for _, f := range g.ops {
		if err := f(g.tx); err != nil {
			return err
		}
	}
	return nil
}

// result answers x as the command leaves it (a copy, for the command's result).
func (g *engine) result(x *Execution) Execution { return *x }

// stageIndex answers the index of stage name in x (-1 when x has none).
func stageIndex(x *Execution, name string) int {
	return slices.IndexFunc(x.Stages, func(s pub.StageExecution) bool { return s.Name == name })
}

// actionIndex answers the index of action name in stage st (-1 when none).
func actionIndex(st *pub.StageExecution, name string) int {
	return slices.IndexFunc(st.Actions, func(a pub.ActionExecution) bool { return a.Name == name })
}

// lane answers r's lane of stage, creating it.
func lane(r *Record, stage string) *Lane {
	if r.Lanes == nil {
		r.Lanes = map[string]*Lane{}
	}
	l := r.Lanes[stage]
	if l == nil {
		l = &Lane{}
		r.Lanes[stage] = l
	}
	return l
}

// prepare readies x's stage si for an entry: its attempt + 1 and its actions reset for the
// run, every one (pub.RetryAllActions: a first entry, an ALL_ACTIONS retry) or those that did
// not succeed (pub.RetryFailedActions: a succeeded action keeps its result and attempt).
func (g *engine) prepare(x *Execution, si int, mode string) {
	st := &x.Stages[si]
	st.Attempt++
	st.Status, st.StartTime, st.EndTime = "", nil, nil
	for i := range st.Actions {
		a := &st.Actions[i]
		if mode == pub.RetryAllActions || a.Status != pub.PipelineSucceeded {
			*a = pub.ActionExecution{Name: a.Name, Category: a.Category, Provider: a.Provider, RunOrder: a.RunOrder}
		}
	}
	g.touch(x)
}

// enter takes x into its stage si (prepared): refused while the stage's inbound transition is
// disabled, or (SUPERSEDED and QUEUED) while another execution runs in the stage; then x
// waits in the stage's lane. In SUPERSEDED mode the older of x and an execution already
// waiting there ends Superseded; in QUEUED and PARALLEL modes they wait in order.
func (g *engine) enter(x *Execution, si int) error {
	r, err := g.record(x.Pipeline)
	if err != nil {
		return err
	}
	name := x.Stages[si].Name
	l := lane(r, name)
	g.touchRecord(r)
	g.touch(x)
	reason := ""
	if t, off := r.Transitions[name]; off {
		reason = fmt.Sprintf("the inbound transition of stage %s is disabled: %s", name, t.Reason)
	} else if x.ExecutionMode != pub.ModeParallel && l.Running != "" && l.Running != x.ID {
		reason = fmt.Sprintf("stage %s is running execution %s", name, l.Running)
	}
	if reason == "" {
		if x.ExecutionMode != pub.ModeParallel {
			l.Running = x.ID
		}
		x.WaitingFor, x.WaitReason = "", ""
		return g.startStage(x, si)
	}
	x.WaitingFor, x.WaitReason = name, reason
	if x.ExecutionMode == pub.ModeSuperseded {
		for _, id := range slices.Clone(l.Waiting) {
			w, ok, err := g.exec(id)
			if err != nil {
				return err
			}
			if !ok || w.ID == x.ID {
				continue
			}
			if w.StartIndex > x.StartIndex { // a newer one waits already: x is superseded
				return g.end(x, pub.PipelineSuperseded, fmt.Sprintf("superseded by the newer execution %s waiting for stage %s", w.ID, name))
			}
			if err := g.end(w, pub.PipelineSuperseded, fmt.Sprintf("superseded by the newer execution %s waiting for stage %s", x.ID, name)); err != nil {
				return err
			}
		}
	}
	if !slices.Contains(l.Waiting, x.ID) {
		l.Waiting = append(l.Waiting, x.ID)
	}
	return nil
}

// admit lets the executions waiting for stage of pipeline name in, oldest first, while its
// inbound transition is enabled and (SUPERSEDED, QUEUED) the stage is free.
func (g *engine) admit(name, stage string) error {
	r, err := g.record(name)
	if err != nil {
		return err
	}
	l := r.Lanes[stage]
	for l != nil && len(l.Waiting) > 0 {
		if _, off := r.Transitions[stage]; off {
			return nil
		}
		x, ok, err := g.exec(l.Waiting[0])
		if err != nil {
			return err
		}
		si := -1
		if ok && running(x.Status) && x.WaitingFor == stage {
			si = stageIndex(x, stage)
		}
		if si < 0 { // ended, or no longer waiting here: a stale entry
			l.Waiting = l.Waiting[1:]
			g.touchRecord(r)
			continue
		}
		if x.ExecutionMode != pub.ModeParallel && l.Running != "" {
			return nil
		}
		l.Waiting = l.Waiting[1:]
		if err := g.enter(x, si); err != nil {
			return err
		}
	}
	return nil
}

// startStage starts x's stage si (entered): InProgress, then its first run order.
func (g *engine) startStage(x *Execution, si int) error {
	st := &x.Stages[si]
	now := g.now
	st.Status, st.StartTime, st.EndTime = pub.PipelineInProgress, &now, nil
	g.touch(x)
	return g.progress(x, si)
}

// progress decides what x's stage si does next once none of its actions runs: a stopping
// execution ends Stopped; an action that failed fails the stage; otherwise the actions of the
// lowest run order that did not succeed start together, and when none is left the stage
// succeeded. While an action runs, it waits.
func (g *engine) progress(x *Execution, si int) error {
	for {
		st := &x.Stages[si]
		if slices.ContainsFunc(st.Actions, func(a pub.ActionExecution) bool { return a.Status == pub.PipelineInProgress }) {
			return nil
		}
		if x.Status == pub.PipelineStopping {
			return g.end(x, pub.PipelineStopped, x.StatusSummary)
		}
		if i := slices.IndexFunc(st.Actions, func(a pub.ActionExecution) bool { return a.Status == pub.PipelineFailed }); i >= 0 {
			return g.stageFailed(x, si, i)
		}
		next := 0
		for _, a := range st.Actions {
			if a.Status != pub.PipelineSucceeded && (next == 0 || a.RunOrder < next) {
				next = a.RunOrder
			}
		}
		if next == 0 {
			return g.stageSucceeded(x, si)
		}
		for ai := range st.Actions {
			if a := st.Actions[ai]; a.RunOrder == next && a.Status != pub.PipelineSucceeded {
				if err := g.startAction(x, si, ai); err != nil {
					return err
				}
			}
		}
	}
}

// stageSucceeded ends x's stage si Succeeded, frees its lane and takes x into the next stage,
// or ends it Succeeded after the last; then the stage admits the next waiting execution.
func (g *engine) stageSucceeded(x *Execution, si int) error {
	st := &x.Stages[si]
	now := g.now
	st.Status, st.EndTime = pub.PipelineSucceeded, &now
	g.touch(x)
	if err := g.free(x, st.Name); err != nil {
		return err
	}
	if si+1 < len(x.Stages) {
		g.prepare(x, si+1, pub.RetryAllActions)
		if err := g.enter(x, si+1); err != nil {
			return err
		}
	} else if err := g.end(x, pub.PipelineSucceeded, ""); err != nil {
		return err
	}
	return g.admit(x.Pipeline, st.Name)
}

// free takes x out of stage's lane (when it runs there).
func (g *engine) free(x *Execution, stage string) error {
	r, err := g.record(x.Pipeline)
	if err != nil {
		return err
	}
	if l := r.Lanes[stage]; l != nil && l.Running == x.ID {
		l.Running = ""
		g.touchRecord(r)
	}
	return nil
}

// stageFailed ends x's stage si Failed (action ai failed it) and applies the stage's
// onFailure: RETRY (once per stage per execution) runs it again at once, ROLLBACK ends x
// Failed and starts a rollback of the stage (never for a rollback execution: a rollback that
// fails ends there), FAIL (the default) ends x Failed.
func (g *engine) stageFailed(x *Execution, si, ai int) error {
	st := &x.Stages[si]
	now := g.now
	st.Status, st.EndTime = pub.PipelineFailed, &now
	g.touch(x)
	a := st.Actions[ai]
	summary := fmt.Sprintf("stage %s failed: action %s: %s", st.Name, a.Name, a.Error)
	ss, err := g.stageSpec(x, si)
	if err != nil {
		return err
	}
	cond := pipelinespec.ResultFail
	if ss.OnFailure != nil && ss.OnFailure.Result != "" {
		cond = ss.OnFailure.Result
	}
	switch {
	case cond == pipelinespec.ResultRetry && x.Retried[st.Name] < 1:
		if x.Retried == nil {
			x.Retried = map[string]int{}
		}
		x.Retried[st.Name]++
		mode := pub.RetryFailedActions
		if rc := ss.OnFailure.RetryConfiguration; rc != nil && rc.RetryMode == pub.RetryAllActions {
			mode = pub.RetryAllActions
		}
		g.prepare(x, si, mode)
		return g.startStage(x, si)
	case cond == pipelinespec.ResultRollback && x.Trigger.Type != pub.TriggerRollback:
		if err := g.end(x, pub.PipelineFailed, summary); err != nil {
			return err
		}
		return g.autoRollback(x, si)
	}
	return g.end(x, pub.PipelineFailed, summary)
}

// end ends x with status (Succeeded, Failed, Stopped, Superseded): its stage in progress takes
// the status, its deadlines go, it leaves every lane it runs in or waits in, and those lanes
// admit their next waiting execution.
func (g *engine) end(x *Execution, status, summary string) error {
	now := g.now
	x.Status, x.StatusSummary, x.EndTime = status, summary, &now
	x.WaitingFor, x.WaitReason, x.Deadlines = "", "", nil
	for i := range x.Stages {
		if st := &x.Stages[i]; st.Status == pub.PipelineInProgress {
			st.Status, st.EndTime = status, &now
		}
	}
	g.touch(x)
	r, err := g.record(x.Pipeline)
	if err != nil {
		return err
	}
	var freed []string
	for _, stage := range slices.Sorted(maps.Keys(r.Lanes)) {
		l := r.Lanes[stage]
		if l.Running == x.ID {
			l.Running = ""
			freed = append(freed, stage)
			g.touchRecord(r)
		}
		if i := slices.Index(l.Waiting, x.ID); i >= 0 {
			l.Waiting = slices.Delete(l.Waiting, i, i+1)
			g.touchRecord(r)
		}
	}
	for _, stage := range freed {
		if err := g.admit(x.Pipeline, stage); err != nil {
			return err
		}
	}
	return nil
}
