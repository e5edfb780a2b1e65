package pipeline

import (
	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// startExecution starts s: checked against the pipeline (checkStart), recorded (begin) and
// taken into the first stage.
func (g *engine) startExecution(s Start, fromEvent bool) (*Execution, error) {
	r, err := g.record(s.Pipeline)
	if err != nil {
		return nil, err
	}
	vars, err := g.checkStart(r, s, fromEvent)
	if err != nil {
		return nil, err
	}
	trig := s.Trigger
	trig.Detail = cut(trig.Detail)
	x := &Execution{PipelineExecution: pub.PipelineExecution{
		ID: s.ExecutionID, Pipeline: r.Name, Version: r.Version, ExecutionMode: modeOf(&r.Spec),
		Trigger: trig, Variables: vars, SourceRevisions: s.SourceRevisions, Stages: stagesOf(r.Spec.Stages),
	}}
	if len(x.Variables) == 0 {
		x.Variables = nil
	}
	return x, g.begin(x)
}

// applyStart starts one execution (by hand or from a webhook). It answers the Execution as
// the engine left it (in its first stage, or waiting to enter it).
func applyStart(tx *state.Tx, index uint64, c *command.Command, p StartPayload) (any, error) {
	g := newEngine(tx, index, c.Time)
	x, err := g.startExecution(p.Start, false)
	if err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}

// applyTrigger starts the executions repository event Seq matched and moves the event cursor
// to Seq. A Seq at or before the cursor changes nothing. A start is skipped (the others go on)
// when its pipeline is gone, was created at or after the event (Record.EventSeq), changed
// version since the proposer read it, was already started by this event, or the start is
// refused (checkStart). It answers the executions started ([]Execution).
func applyTrigger(tx *state.Tx, index uint64, c *command.Command, p TriggerPayload) (any, error) {
	if p.Seq <= cursor(tx) {
		return []Execution{}, nil
	}
	g := newEngine(tx, index, c.Time)
	var started []*Execution
	seen := map[string]bool{}
	for _, s := range p.Starts {
		r, err := g.record(s.Pipeline)
		if err != nil || seen[s.Pipeline] || p.Seq <= r.EventSeq {
			continue
		}
		if _, err := g.checkStart(r, s, true); err != nil {
			continue
		}
		seen[s.Pipeline] = true
		x, err := g.startExecution(s, true)
		if err != nil {
			return nil, err
		}
		started = append(started, x)
	}
	if err := putCursor(tx, p.Seq); err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	out := make([]Execution, 0, len(started))
	for _, x := range started {
		out = append(out, g.result(x))
	}
	return out, nil
}

// applyStop stops an execution in progress: one waiting to enter a stage ends Stopped at
// once; otherwise it is Stopping until its running actions end (nothing further starts), or
// with Abandon its running actions end Abandoned at once (the provider-run ones listed in
// pipeline/abandoned for the driver to stop) and it ends Stopped. An ended execution is a
// conflict. It answers the Execution.
func applyStop(tx *state.Tx, index uint64, c *command.Command, p StopPayload) (any, error) {
	if len(p.Reason) > MaxReasonBytes {
		return nil, fault.New(fault.Invalid, "a stop's reason is at most %d bytes", MaxReasonBytes)
	}
	g := newEngine(tx, index, c.Time)
	x, err := g.mustExec(p.ExecutionID)
	if err != nil {
		return nil, err
	}
	if !running(x.Status) {
		return nil, fault.New(fault.Conflict, "pipeline execution %s already ended %s", x.ID, x.Status)
	}
	summary := "stopped"
	if p.Actor != "" {
		summary += " by " + p.Actor
	}
	if p.Reason != "" {
		summary += ": " + p.Reason
	}
	if err := g.stop(x, p.Abandon, summary); err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}

// stop is applyStop's engine part.
func (g *engine) stop(x *Execution, abandon bool, summary string) error {
	if x.WaitingFor != "" {
		return g.end(x, pub.PipelineStopped, summary)
	}
	if x.Status == pub.PipelineInProgress {
		x.Status, x.StatusSummary = pub.PipelineStopping, summary
	}
	x.Abandon = x.Abandon || abandon
	g.touch(x)
	now := g.now
	current := -1
	for si := range x.Stages {
		st := &x.Stages[si]
		if st.Status == pub.PipelineInProgress {
			current = si
		}
		for ai := range st.Actions {
			a := &st.Actions[ai]
			if !abandon || a.Status != pub.PipelineInProgress {
				continue
			}
			a.Status, a.EndTime = pub.PipelineAbandoned, &now
			delete(x.Deadlines, deadlineKey(st.Name, a.Name))
			if a.Provider != pipelinespec.ProviderManual {
				ab := Abandoned{ExecutionID: x.ID, Stage: st.Name, Action: a.Name, Attempt: a.Attempt}
				g.op(func(tx *state.Tx) error { return putAbandoned(tx, ab) })
			}
		}
	}
	if current < 0 {
		return g.end(x, pub.PipelineStopped, x.StatusSummary)
	}
	return g.progress(x, current)
}

// mustExec answers execution id (fault.NotFound when there is none).
func (g *engine) mustExec(id string) (*Execution, error) {
	x, ok, err := g.exec(id)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "pipeline execution %s does not exist", state.Shorten(id))
	}
	return x, err
}

// applyRetry retries failed stage Stage of failed execution ExecutionID: the execution is
// InProgress again, the stage's attempt + 1, its actions reset (Mode FAILED_ACTIONS, the
// default: those that did not succeed; ALL_ACTIONS: every one), and it enters the stage
// through the lane as any entry does. It answers the Execution.
func applyRetry(tx *state.Tx, index uint64, c *command.Command, p RetryPayload) (any, error) {
	mode := p.Mode
	if mode == "" {
		mode = pub.RetryFailedActions
	}
	if mode != pub.RetryFailedActions && mode != pub.RetryAllActions {
		return nil, fault.New(fault.Invalid, "retry mode %q is not FAILED_ACTIONS or ALL_ACTIONS", state.Shorten(p.Mode))
	}
	g := newEngine(tx, index, c.Time)
	x, err := g.mustExec(p.ExecutionID)
	if err != nil {
		return nil, err
	}
	if x.Status != pub.PipelineFailed {
		return nil, fault.New(fault.Conflict, "pipeline execution %s is %s: only a failed execution's failed stage can be retried", x.ID, x.Status)
	}
	si := stageIndex(x, p.Stage)
	if si < 0 {
		return nil, fault.New(fault.NotFound, "pipeline execution %s has no stage %s", x.ID, state.Shorten(p.Stage))
	}
	if x.Stages[si].Status != pub.PipelineFailed {
		return nil, fault.New(fault.Conflict, "stage %s of execution %s did not fail (it is %q): retry the stage that failed", p.Stage, x.ID, x.Stages[si].Status)
	}
	if _, err := g.spec(x.Pipeline, x.Version); err != nil {
		return nil, err
	}
	x.Status, x.StatusSummary, x.EndTime = pub.PipelineInProgress, "", nil
	g.prepare(x, si, mode)
	if err := g.enter(x, si); err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}

// applyRollback starts rollback execution ExecutionID of stage Stage of pipeline Pipeline, to
// the artifacts of Target (an execution of the pipeline in which the stage succeeded). It
// answers the new Execution.
func applyRollback(tx *state.Tx, index uint64, c *command.Command, p RollbackPayload) (any, error) {
	if !executionIDRe.MatchString(p.ExecutionID) {
		return nil, fault.New(fault.Invalid, "execution ID %q is not 1-100 of A-Za-z0-9._- starting with a letter or digit", state.Shorten(p.ExecutionID))
	}
	g := newEngine(tx, index, c.Time)
	r, err := g.record(p.Pipeline)
	if err != nil {
		return nil, err
	}
	target, ok, err := g.exec(p.Target)
	if err != nil {
		return nil, err
	}
	if !ok || target.Pipeline != r.Name {
		return nil, fault.New(fault.NotFound, "pipeline %s has no execution %s", r.Name, state.Shorten(p.Target))
	}
	if _, ok, err := g.exec(p.ExecutionID); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "pipeline execution %s already exists", p.ExecutionID)
		}
		return nil, err
	}
	x, err := g.newRollback(r, p.ExecutionID, p.Stage, target, p.Actor)
	if err != nil {
		return nil, err
	}
	if err := g.begin(x); err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}
