package pipeline

import (
	"fmt"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// action finds action name of stage of execution id: fault.NotFound when any is missing.
func (g *engine) action(id, stage, name string) (x *Execution, si, ai int, err error) {
	if x, err = g.mustExec(id); err != nil {
		return nil, 0, 0, err
	}
	if si = stageIndex(x, stage); si >= 0 {
		if ai = actionIndex(&x.Stages[si], name); ai >= 0 {
			return x, si, ai, nil
		}
	}
	return nil, 0, 0, fault.New(fault.NotFound, "pipeline execution %s has no action %s in a stage %s", x.ID, state.Shorten(name), state.Shorten(stage))
}

// runs reports whether a is in progress in attempt (the state a driver's proposal is about).
func runs(a *pub.ActionExecution, attempt int) bool {
	return a.Status == pub.PipelineInProgress && a.Attempt == attempt
}

// applyActionStarted records the work a provider began for an action: its ExternalID and
// summary. Unless the action is in progress in that attempt (and run by a provider), nothing
// changes. It answers the Execution.
func applyActionStarted(tx *state.Tx, index uint64, c *command.Command, p ActionStartedPayload) (any, error) {
	g := newEngine(tx, index, c.Time)
	x, si, ai, err := g.action(p.ExecutionID, p.Stage, p.Action)
	if err != nil {
		return nil, err
	}
	a := &x.Stages[si].Actions[ai]
	if !runs(a, p.Attempt) || a.Provider == pipelinespec.ProviderManual {
		return g.result(x), nil
	}
	a.ExternalID, a.Summary = cut(p.ExternalID), cut(p.Summary)
	g.touch(x)
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}

// applyActionResult ends an action's run with the provider's result (Succeeded or Failed),
// then the engine decides what follows (progress). Unless the action is in progress in that
// attempt (and run by a provider), nothing changes: a result proposed twice applies once.
// Status Abandoned is the driver's end of an abandoned action's work: it deletes the
// pipeline/abandoned entry (and records the ExternalID and summary on the action, still
// Abandoned). It answers the Execution.
func applyActionResult(tx *state.Tx, index uint64, c *command.Command, p ActionResultPayload) (any, error) {
	g := newEngine(tx, index, c.Time)
	if p.Status == pub.PipelineAbandoned {
		return g.abandonedResult(p)
	}
	if p.Status != pub.PipelineSucceeded && p.Status != pub.PipelineFailed {
		return nil, fault.New(fault.Invalid, "action result status %q is not Succeeded, Failed or Abandoned", state.Shorten(p.Status))
	}
	x, si, ai, err := g.action(p.ExecutionID, p.Stage, p.Action)
	if err != nil {
		return nil, err
	}
	a := &x.Stages[si].Actions[ai]
	if !runs(a, p.Attempt) || a.Provider == pipelinespec.ProviderManual {
		return g.result(x), nil
	}
	if p.ExternalID != "" {
		a.ExternalID = cut(p.ExternalID)
	}
	a.Summary = cut(p.Summary)
	if p.Status == pub.PipelineFailed {
		msg := p.Error
		if msg == "" {
			msg = "the action failed"
		}
		g.failAction(x, &x.Stages[si], a, msg)
	} else if err := g.succeedAction(x, si, ai, p.Outputs, p.Variables); err != nil {
		return nil, err
	}
	if err := g.progress(x, si); err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}

// abandonedResult is applyActionResult for status Abandoned.
func (g *engine) abandonedResult(p ActionResultPayload) (any, error) {
	if err := deleteAbandoned(g.tx, p.ExecutionID, p.Stage, p.Action); err != nil {
		return nil, err
	}
	x, ok, err := g.exec(p.ExecutionID)
	if err != nil || !ok {
		return nil, err
	}
	if si := stageIndex(x, p.Stage); si >= 0 {
		if ai := actionIndex(&x.Stages[si], p.Action); ai >= 0 {
			a := &x.Stages[si].Actions[ai]
			if a.Status == pub.PipelineAbandoned && a.Attempt == p.Attempt {
				if p.ExternalID != "" {
					a.ExternalID = cut(p.ExternalID)
				}
				if p.Summary != "" {
					a.Summary = cut(p.Summary)
				}
				g.touch(x)
			}
		}
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}

// applyApproval answers a manual approval action waiting in its current attempt: Approved
// succeeds it, Rejected fails it (the stage's onFailure follows). A token that is not the
// current one is a conflict ("" takes the current one); an action no longer waiting changes
// nothing. It answers the Execution.
func applyApproval(tx *state.Tx, index uint64, c *command.Command, p ApprovalPayload) (any, error) {
	if p.Status != pub.ApprovalApproved && p.Status != pub.ApprovalRejected {
		return nil, fault.New(fault.Invalid, "approval status %q is not Approved or Rejected", state.Shorten(p.Status))
	}
	if len(p.Comment) > MaxCommentBytes {
		return nil, fault.New(fault.Invalid, "an approval's comment is at most %d bytes", MaxCommentBytes)
	}
	if p.By == "" {
		return nil, fault.New(fault.Invalid, "an approval names its approver")
	}
	g := newEngine(tx, index, c.Time)
	x, si, ai, err := g.action(p.ExecutionID, p.Stage, p.Action)
	if err != nil {
		return nil, err
	}
	a := &x.Stages[si].Actions[ai]
	if a.Provider != pipelinespec.ProviderManual {
		return nil, fault.New(fault.Invalid, "action %s of stage %s is not a manual approval", a.Name, p.Stage)
	}
	if a.Status != pub.PipelineInProgress || a.Approval == nil {
		return g.result(x), nil
	}
	if p.Token != "" && p.Token != a.Approval.Token {
		return nil, fault.New(fault.Conflict, "approval token %s is not the one action %s waits for: the action was retried since, answer its current approval", state.Shorten(p.Token), a.Name)
	}
	a.Approval.Result, a.Approval.By, a.Approval.Comment = p.Status, p.By, p.Comment
	if p.Status == pub.ApprovalApproved {
		a.Summary = "approved by " + p.By
		if err := g.succeedAction(x, si, ai, nil, nil); err != nil {
			return nil, err
		}
	} else {
		msg := "rejected by " + p.By
		if p.Comment != "" {
			msg += ": " + p.Comment
		}
		g.failAction(x, &x.Stages[si], a, msg)
	}
	if err := g.progress(x, si); err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}

// applyTimeout fails an action in progress in that attempt whose deadline (Execution.Deadlines)
// is at or before the command's time; otherwise nothing changes. It answers the Execution.
func applyTimeout(tx *state.Tx, index uint64, c *command.Command, p TimeoutPayload) (any, error) {
	g := newEngine(tx, index, c.Time)
	x, si, ai, err := g.action(p.ExecutionID, p.Stage, p.Action)
	if err != nil {
		return nil, err
	}
	st := &x.Stages[si]
	a := &st.Actions[ai]
	dl, ok := x.Deadlines[deadlineKey(st.Name, a.Name)]
	if !runs(a, p.Attempt) || !ok || c.Time.Before(dl) {
		return g.result(x), nil
	}
	msg := fmt.Sprintf("the action did not end by its deadline (%s)", dl.UTC().Format("2006-01-02T15:04:05Z"))
	if a.Provider == pipelinespec.ProviderManual {
		msg = fmt.Sprintf("the approval was not answered by %s: it expired", dl.UTC().Format("2006-01-02T15:04:05Z"))
	}
	g.failAction(x, st, a, msg)
	if err := g.progress(x, si); err != nil {
		return nil, err
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return g.result(x), nil
}
