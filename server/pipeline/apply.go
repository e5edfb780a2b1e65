package pipeline

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

// registerApply declares the commands' handlers (the engine). Owned by the engine's author.
func (m *Module) registerApply(r *module.Registry) {
	module.Handle(r, cmdCreate, applyCreate)
	module.Handle(r, cmdUpdate, applyUpdate)
	module.Handle(r, cmdDelete, applyDelete)
	module.Handle(r, cmdWebhook, applyWebhook)
	module.Handle(r, cmdTransition, applyTransition)
	module.Handle(r, cmdStart, applyStart)
	module.Handle(r, cmdTrigger, applyTrigger)
	module.Handle(r, cmdStop, applyStop)
	module.Handle(r, cmdRetry, applyRetry)
	module.Handle(r, cmdRollback, applyRollback)
	module.Handle(r, cmdActionStarted, applyActionStarted)
	module.Handle(r, cmdActionResult, applyActionResult)
	module.Handle(r, cmdApproval, applyApproval)
	module.Handle(r, cmdTimeout, applyTimeout)
}

// Bounds (contract: "Bounds").
const (
	MaxPipelines       = 1000
	MaxStages          = 50
	MaxActionsPerStage = 50
	MaxVariables       = 50
	MaxTriggers        = 20
	MaxDefinitionBytes = 256 << 10
	MaxVersions        = 100 // versions kept per pipeline, besides those executions in progress run
	MaxReasonBytes     = 300 // a disabled transition's reason
	MaxCommentBytes    = 2048
	MaxWebhookBytes    = 4096 // a sealed webhook secret
)

// nameRe is a pipeline's, a stage's or an action's name.
var nameRe = regexp.MustCompile(`^[A-Za-z0-9.@_-]{1,100}$`)

// checkSpec checks what apply checks of a definition (the proposer parsed and validated it):
// the names (they are parts of keys) and the bounds.
func checkSpec(s *pipelinespec.Pipeline) error {
	if !nameRe.MatchString(s.Name) {
		return fault.New(fault.Invalid, "pipeline name %q is not 1-100 of A-Za-z0-9.@_-", state.Shorten(s.Name))
	}
	switch s.ExecutionMode {
	case "", pub.ModeSuperseded, pub.ModeQueued, pub.ModeParallel:
	default:
		return fault.New(fault.Invalid, "execution mode %q is not SUPERSEDED, QUEUED or PARALLEL", state.Shorten(s.ExecutionMode))
	}
	if len(s.Stages) == 0 || len(s.Stages) > MaxStages {
		return fault.New(fault.Invalid, "pipeline %s has %d stages: 1 to %d", s.Name, len(s.Stages), MaxStages)
	}
	if len(s.Variables) > MaxVariables || len(s.Triggers) > MaxTriggers {
		return fault.New(fault.Invalid, "pipeline %s has %d variables and %d triggers: at most %d and %d", s.Name, len(s.Variables), len(s.Triggers), MaxVariables, MaxTriggers)
	}
	stages := map[string]bool{}
	for _, st := range s.Stages {
		if !nameRe.MatchString(st.Name) || stages[st.Name] {
			return fault.New(fault.Invalid, "stage name %q is not 1-100 of A-Za-z0-9.@_-, or is used twice", state.Shorten(st.Name))
		}
		stages[st.Name] = true
		if len(st.Actions) == 0 || len(st.Actions) > MaxActionsPerStage {
			return fault.New(fault.Invalid, "stage %s has %d actions: 1 to %d", st.Name, len(st.Actions), MaxActionsPerStage)
		}
		actions := map[string]bool{}
		for _, a := range st.Actions {
			if !nameRe.MatchString(a.Name) || actions[a.Name] {
				return fault.New(fault.Invalid, "action name %q of stage %s is not 1-100 of A-Za-z0-9.@_-, or is used twice", state.Shorten(a.Name), st.Name)
			}
			actions[a.Name] = true
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fault.New(fault.Invalid, "pipeline %s: %v", s.Name, err)
	}
	if len(b) > MaxDefinitionBytes {
		return fault.New(fault.TooLarge, "pipeline %s's definition is %d bytes, over %d", s.Name, len(b), MaxDefinitionBytes)
	}
	return nil
}

// checkWarnings bounds the warnings kept with a definition.
func checkWarnings(ws []string) error {
	n := 0
	for _, w := range ws {
		n += len(w)
	}
	if len(ws) > 100 || n > 64<<10 {
		return fault.New(fault.Invalid, "%d warnings of %d bytes: at most 100 of 64 KiB", len(ws), n)
	}
	return nil
}

// applyCreate creates pipeline Spec.Name at version 1, its EventSeq the repository stream's
// last event (hooks.LastSeq): events before the pipeline never start it. A name in use and a
// cluster at MaxPipelines are conflicts. It answers the Record.
func applyCreate(tx *state.Tx, index uint64, c *command.Command, p CreatePayload) (any, error) {
	if err := checkSpec(&p.Spec); err != nil {
		return nil, err
	}
	if err := checkWarnings(p.Warnings); err != nil {
		return nil, err
	}
	if _, ok, err := loadRecord(tx, p.Spec.Name); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "pipeline %s already exists: update it, or choose another name", p.Spec.Name)
		}
		return nil, err
	}
	if n := pipelineCount(tx); n >= MaxPipelines {
		return nil, fault.New(fault.Conflict, "the cluster already has its maximum of %d pipelines: delete pipelines that are no longer needed first", MaxPipelines)
	}
	r := Record{Name: p.Spec.Name, Version: 1, Spec: p.Spec, Warnings: p.Warnings, EventSeq: hooks.LastSeq(tx),
		CreatedBy: p.Actor, CreateIndex: index, ModifyIndex: index, CreateTime: c.Time, ModifyTime: c.Time}
	if err := putVersion(tx, r.Name, 1, r.Spec); err != nil {
		return nil, err
	}
	if err := putMetaUint(tx, metaPipelines, uint64(pipelineCount(tx)+1)); err != nil {
		return nil, err
	}
	return r, putRecord(tx, r)
}

// applyUpdate stores Spec as version Version of pipeline Spec.Name (the current + 1, or a
// conflict: it changed since the proposer read it) and prunes the versions kept (keepVersions).
// Disabled transitions of stages the version no longer has are dropped. Executions go on with
// the version they started with. It answers the Record.
func applyUpdate(tx *state.Tx, index uint64, c *command.Command, p UpdatePayload) (any, error) {
	if err := checkSpec(&p.Spec); err != nil {
		return nil, err
	}
	if err := checkWarnings(p.Warnings); err != nil {
		return nil, err
	}
	r, err := mustRecord(tx, p.Spec.Name)
	if err != nil {
		return nil, err
	}
	if p.Version != r.Version+1 {
		return nil, fault.New(fault.Conflict, "pipeline %s is at version %d: version %d is not its next (it changed since it was read): read it and update it again", r.Name, r.Version, p.Version)
	}
	r.Version, r.Spec, r.Warnings = p.Version, p.Spec, p.Warnings
	r.ModifyIndex, r.ModifyTime = index, c.Time
	for _, stage := range slices.Sorted(maps.Keys(r.Transitions)) {
		if !hasStage(&r.Spec, stage) {
			delete(r.Transitions, stage)
		}
	}
	if len(r.Transitions) == 0 {
		r.Transitions = nil
	}
	if err := putVersion(tx, r.Name, r.Version, r.Spec); err != nil {
		return nil, err
	}
	if err := keepVersions(tx, r.Name); err != nil {
		return nil, err
	}
	return r, putRecord(tx, r)
}

func hasStage(s *pipelinespec.Pipeline, name string) bool {
	for _, st := range s.Stages {
		if st.Name == name {
			return true
		}
	}
	return false
}

// keepVersions deletes pipeline name's oldest versions over the newest MaxVersions, except
// those an execution in progress runs.
func keepVersions(tx *state.Tx, name string) error {
	vs := versionNumbers(tx, name)
	if len(vs) <= MaxVersions {
		return nil
	}
	used := map[int]bool{}
	for _, h := range historyIDs(tx, name) {
		x, ok, err := loadExecution(tx, h.ID)
		if err != nil {
			return err
		}
		if ok && running(x.Status) {
			used[x.Version] = true
		}
	}
	for _, v := range vs[:len(vs)-MaxVersions] {
		if !used[v] {
			if err := tx.Bucket(bucketVersions).Delete(versionKey(name, v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyDelete deletes pipeline Name, its versions and its executions' records; a conflict
// while one is in progress.
func applyDelete(tx *state.Tx, _ uint64, _ *command.Command, p DeletePayload) (any, error) {
	r, err := mustRecord(tx, p.Name)
	if err != nil {
		return nil, err
	}
	hs := historyIDs(tx, r.Name)
	for _, h := range hs {
		x, ok, err := loadExecution(tx, h.ID)
		if err != nil {
			return nil, err
		}
		if ok && running(x.Status) {
			return nil, fault.New(fault.Conflict, "pipeline %s has execution %s %s: stop it ('slipway pipeline stop') and delete the pipeline once it ended", r.Name, x.ID, x.Status)
		}
	}
	for _, h := range hs {
		if err := deleteExecution(tx, h.ID); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bucketHistory).Delete(h.Key); err != nil {
			return nil, err
		}
	}
	for _, v := range versionNumbers(tx, r.Name) {
		if err := tx.Bucket(bucketVersions).Delete(versionKey(r.Name, v)); err != nil {
			return nil, err
		}
	}
	if err := tx.Bucket(bucketMeta).Delete([]byte(metaStarts + r.Name)); err != nil {
		return nil, err
	}
	if err := putMetaUint(tx, metaPipelines, uint64(max(0, pipelineCount(tx)-1))); err != nil {
		return nil, err
	}
	return nil, state.Delete(tx, bucketPipelines, r.Name)
}

// applyWebhook sets (or with nil removes) pipeline Name's sealed webhook secret. It answers
// the Record.
func applyWebhook(tx *state.Tx, index uint64, c *command.Command, p WebhookPayload) (any, error) {
	if len(p.Sealed) > MaxWebhookBytes {
		return nil, fault.New(fault.TooLarge, "the sealed webhook secret is %d bytes, over %d", len(p.Sealed), MaxWebhookBytes)
	}
	r, err := mustRecord(tx, p.Name)
	if err != nil {
		return nil, err
	}
	r.Webhook = p.Sealed
	if len(r.Webhook) == 0 {
		r.Webhook = nil
	}
	r.ModifyIndex, r.ModifyTime = index, c.Time
	return r, putRecord(tx, r)
}

// applyTransition disables (with a reason) or enables stage Stage's inbound transition.
// Disabling holds back executions arriving at the stage (those in it go on); enabling admits
// those waiting, oldest first, as the stage's lane allows. The first stage's transition cannot
// be disabled. It answers the Record.
func applyTransition(tx *state.Tx, index uint64, c *command.Command, p TransitionPayload) (any, error) {
	g := newEngine(tx, index, c.Time)
	r, err := g.record(p.Name)
	if err != nil {
		return nil, err
	}
	i := -1
	for j, st := range r.Spec.Stages {
		if st.Name == p.Stage {
			i = j
		}
	}
	switch {
	case i < 0:
		return nil, fault.New(fault.NotFound, "pipeline %s has no stage %s", r.Name, state.Shorten(p.Stage))
	case p.Enabled:
		if _, off := r.Transitions[p.Stage]; !off {
			return *r, nil
		}
		delete(r.Transitions, p.Stage)
		if len(r.Transitions) == 0 {
			r.Transitions = nil
		}
	case i == 0:
		return nil, fault.New(fault.Invalid, "stage %s is pipeline %s's first: its inbound transition cannot be disabled", p.Stage, r.Name)
	case p.Reason == "" || len(p.Reason) > MaxReasonBytes:
		return nil, fault.New(fault.Invalid, "disabling a transition needs a reason of 1-%d bytes", MaxReasonBytes)
	default:
		if r.Transitions == nil {
			r.Transitions = map[string]pub.TransitionState{}
		}
		r.Transitions[p.Stage] = pub.TransitionState{Reason: p.Reason, By: p.Actor, Time: c.Time}
	}
	r.ModifyIndex, r.ModifyTime = index, c.Time
	g.touchRecord(r)
	if p.Enabled {
		if err := g.admit(r.Name, p.Stage); err != nil {
			return nil, err
		}
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	return *r, nil
}
