package build

import (
	"regexp"
	"strings"

	"github.com/slipwayhq/slipway/buildspec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// batchIdentifierRe is a task's identifier: CodeBuild's letters, digits and underscores.
var batchIdentifierRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,127}$`)

// applyBatchStart records a batch IN_PROGRESS and its children: each a build as build.start
// records one (numbered in the tasks' order, each with its own state index so the history and
// the queue keep their one key per build), QUEUED in build/queue when it depends on nothing,
// else Waiting. The queue bounds count every child: a batch that would pass them is a conflict.
func applyBatchStart(tx *state.Tx, index uint64, c *command.Command, p BatchStartPayload) (any, error) {
	base := StartPayload{ID: p.ID, Project: p.Project, ProjectCreateIndex: p.ProjectCreateIndex, Initiator: p.Initiator,
		SourceVersion: p.SourceVersion, ResolvedSourceVersion: p.ResolvedSourceVersion, Source: p.Source, Environment: p.Environment,
		TimeoutMinutes: p.TimeoutMinutes, QueuedTimeoutMinutes: p.QueuedTimeoutMinutes, ServiceRole: p.ServiceRole}
	if err := checkBatchStart(p); err != nil {
		return nil, err
	}
	starts := make([]StartPayload, len(p.Tasks))
	for i, t := range p.Tasks {
		s := base
		s.ID = t.BuildID
		if t.Buildspec != "" {
			s.Source.Buildspec, s.Source.BuildspecInline = t.Buildspec, ""
		}
		s.Environment.Variables = mergeVariables(s.Environment.Variables, t.Variables)
		if t.Image != "" {
			s.Environment.Image = t.Image
		}
		s.Environment.Privileged = s.Environment.Privileged || t.Privileged
		if err := checkStart(s); err != nil {
			return nil, fault.New(fault.CodeOf(err), "build %s of the batch: %v", t.Identifier, err)
		}
		starts[i] = s
	}
	project, _, err := SplitID(p.ID)
	if err != nil {
		return nil, err
	}
	if project != p.Project {
		return nil, fault.New(fault.Invalid, "batch ID %s is not of project %s", state.Shorten(p.ID), state.Shorten(p.Project))
	}
	pr, err := mustProject(tx, p.Project)
	if err != nil {
		return nil, err
	}
	if pr.CreateIndex != p.ProjectCreateIndex {
		return nil, fault.New(fault.Conflict, "build project %s was deleted and created again while the batch started: start it again", p.Project)
	}
	if _, ok, err := getBatch(tx, p.ID); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "build batch %s already exists", p.ID)
		}
		return nil, err
	}
	for _, s := range starts {
		if _, ok, err := getBuild(tx, s.ID); err != nil || ok {
			if err == nil {
				err = fault.New(fault.Conflict, "build %s already exists", s.ID)
			}
			return nil, err
		}
	}
	cnt, err := getCounters(tx, p.Project)
	if err != nil {
		return nil, err
	}
	n := len(p.Tasks)
	if cnt.Queued+n > MaxQueuedPerProject {
		return nil, fault.New(fault.Conflict, "build project %s has %d builds queued and the batch would add %d, over its maximum of %d: wait for builds to start, or stop some", p.Project, cnt.Queued, n, MaxQueuedPerProject)
	}
	if q := int(meta(tx, metaQueued)); q+n > MaxQueued {
		return nil, fault.New(fault.Conflict, "the cluster has %d builds queued and the batch would add %d, over its maximum of %d: wait for builds to start, or stop some", q, n, MaxQueued)
	}
	bt := Batch{ID: p.ID, Project: p.Project, Status: pub.BuildInProgress, Initiator: p.Initiator, SourceVersion: p.SourceVersion,
		ResolvedSourceVersion: p.ResolvedSourceVersion, Kind: p.Kind, FastFail: p.FastFail, Start: c.Time, Index: index, ModifyIndex: index}
	at := c.Time
	for i, t := range p.Tasks {
		s := starts[i]
		bi, err := tx.NextIndex(index)
		if err != nil {
			return nil, err
		}
		b := Build{
			ID: s.ID, Project: s.Project, Number: cnt.LastNumber + 1, Status: pub.BuildQueued, Initiator: s.Initiator,
			SourceVersion: s.SourceVersion, ResolvedSourceVersion: s.ResolvedSourceVersion, Source: s.Source,
			Environment: s.Environment, TimeoutMinutes: s.TimeoutMinutes, QueuedTimeoutMinutes: s.QueuedTimeoutMinutes,
			ServiceRole: s.ServiceRole, Start: at, Index: bi, ModifyIndex: bi,
			BatchID: p.ID, BatchIdentifier: t.Identifier, Waiting: len(t.DependOn) > 0,
		}
		b.Phases = []Phase{{Name: PhaseSubmitted, Status: pub.BuildSucceeded, Start: at, End: &at}, {Name: PhaseQueued, Start: at}}
		if b.Waiting {
			b.Phases[1].Message = waitingMessage(t.DependOn)
		}
		if err := insertBuild(tx, b); err != nil {
			return nil, err
		}
		cnt.LastNumber, cnt.Builds, cnt.Queued = b.Number, cnt.Builds+1, cnt.Queued+1
		bt.Tasks = append(bt.Tasks, BatchTask{Identifier: t.Identifier, BuildID: t.BuildID, DependOn: t.DependOn, IgnoreFailure: t.IgnoreFailure})
	}
	if err := putCounters(tx, p.Project, cnt); err != nil {
		return nil, err
	}
	if err := addMeta(tx, metaQueued, n); err != nil {
		return nil, err
	}
	if err := insertBatch(tx, bt); err != nil {
		return nil, err
	}
	if err := retain(tx, p.Project); err != nil {
		return nil, err
	}
	return bt, retainBatches(tx, p.Project)
}

// checkBatchStart checks a batch's tasks: 1 to buildspec.MaxBatchBuilds, identifiers unique and
// of CodeBuild's form, build IDs of the project and distinct, dependencies on tasks of the
// batch and without a cycle (a cycle would wait for ever).
func checkBatchStart(p BatchStartPayload) error {
	if len(p.Tasks) == 0 || len(p.Tasks) > buildspec.MaxBatchBuilds {
		return fault.New(fault.Invalid, "a batch has 1 to %d builds, not %d", buildspec.MaxBatchBuilds, len(p.Tasks))
	}
	ids, builds := map[string]bool{}, map[string]bool{}
	for _, t := range p.Tasks {
		if !batchIdentifierRe.MatchString(t.Identifier) || ids[t.Identifier] {
			return fault.New(fault.Invalid, "batch build identifier %q is malformed or used twice", state.Shorten(t.Identifier))
		}
		ids[t.Identifier] = true
		if project, _, err := SplitID(t.BuildID); err != nil || project != p.Project || builds[t.BuildID] || t.BuildID == p.ID {
			return fault.New(fault.Invalid, "batch build ID %q is malformed, not of project %s, or used twice", state.Shorten(t.BuildID), state.Shorten(p.Project))
		}
		builds[t.BuildID] = true
		if len(t.Buildspec) > MaxPath || len(t.Image) > MaxImage {
			return fault.New(fault.Invalid, "batch build %s: buildspec path or image too long", t.Identifier)
		}
	}
	for _, t := range p.Tasks {
		if len(t.DependOn) > len(p.Tasks) {
			return fault.New(fault.Invalid, "batch build %s depends on more builds than the batch has", t.Identifier)
		}
		for _, d := range t.DependOn {
			if !ids[d] {
				return fault.New(fault.Invalid, "batch build %s depends on %q, which is no build of the batch", t.Identifier, state.Shorten(d))
			}
		}
	}
	// Kahn's order: every task must be reachable from the tasks without dependencies.
	done := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, t := range p.Tasks {
			if done[t.Identifier] {
				continue
			}
			ready := true
			for _, d := range t.DependOn {
				ready = ready && done[d]
			}
			if ready {
				done[t.Identifier], progress = true, true
			}
		}
	}
	if len(done) != len(p.Tasks) {
		var left []string
		for _, t := range p.Tasks {
			if !done[t.Identifier] {
				left = append(left, t.Identifier)
			}
		}
		return fault.New(fault.Invalid, "batch builds %s depend on each other in a cycle", strings.Join(left, ", "))
	}
	return nil
}

// applyBatchStop stops a batch: every child not ended stops (queued ones STOPPED now, running
// ones stop_requested); the batch ends STOPPED once they all ended. A batch that ended is
// answered as it is.
func applyBatchStop(tx *state.Tx, index uint64, c *command.Command, p BatchStopPayload) (any, error) {
	bt, err := mustBatch(tx, p.ID)
	if err != nil || bt.Status != pub.BuildInProgress || bt.StopRequested {
		return bt, err
	}
	bt.StopRequested = true
	msg := "stopped with its batch"
	if p.Actor != "" {
		msg = "stopped with its batch by " + p.Actor
	}
	if err := stopChildren(tx, &bt, index, c.Time, msg); err != nil {
		return nil, err
	}
	if err := releaseChildren(tx, &bt, index, c.Time); err != nil {
		return nil, err
	}
	return bt, putBatch(tx, &bt, index, c.Time)
}
