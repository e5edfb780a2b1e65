package pipeline

import (
	"crypto/sha256"
	"maps"
	"regexp"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// MaxEndedExecutions is how many ended executions a pipeline keeps: a start deletes the
// oldest ended ones over it. Executions in progress are never deleted.
const MaxEndedExecutions = 100

// executionIDRe is an execution ID: the proposer's UUID, or a rollback's derived one.
var executionIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// metaStarts is the bucketMeta key prefix of a pipeline's start counter: each execution takes
// the next number as its StartIndex (its key in pipeline/history and its age: a larger one is
// newer), so executions started by one command still sort and never collide.
const metaStarts = "starts/"

// stagesOf answers the stages of spec as an execution starts them: not reached, every action
// pending.
func stagesOf(stages []pipelinespec.Stage) []pub.StageExecution {
	out := make([]pub.StageExecution, 0, len(stages))
	for _, s := range stages {
		st := pub.StageExecution{Name: s.Name, Actions: make([]pub.ActionExecution, 0, len(s.Actions))}
		for _, a := range s.Actions {
			ro := a.RunOrder
			if ro <= 0 {
				ro = 1
			}
			st.Actions = append(st.Actions, pub.ActionExecution{Name: a.Name, Category: a.ActionTypeID.Category, Provider: a.ActionTypeID.Provider, RunOrder: ro})
		}
		out = append(out, st)
	}
	return out
}

// modeOf answers a definition's execution mode (SUPERSEDED when unset).
func modeOf(s *pipelinespec.Pipeline) string {
	if s.ExecutionMode == "" {
		return pub.ModeSuperseded
	}
	return s.ExecutionMode
}

// checkStart checks a start against the pipeline as it is: the version the proposer read, a
// new execution ID, its trigger type (push or pull_request in pipeline.trigger, manual or
// webhook in pipeline.start), declared variables (the missing ones take their
// defaults) and one commit for each SlipwayRepo source action. It answers the variables.
func (g *engine) checkStart(r *Record, s Start, fromEvent bool) (map[string]string, error) {
	if !executionIDRe.MatchString(s.ExecutionID) {
		return nil, fault.New(fault.Invalid, "execution ID %q is not 1-100 of A-Za-z0-9._- starting with a letter or digit", state.Shorten(s.ExecutionID))
	}
	if s.Version != r.Version {
		return nil, fault.New(fault.Conflict, "pipeline %s changed (version %d, not %d) while the execution started: start it again", r.Name, r.Version, s.Version)
	}
	if _, ok, err := g.exec(s.ExecutionID); err != nil || ok {
		if err == nil {
			err = fault.New(fault.Conflict, "pipeline execution %s already exists", s.ExecutionID)
		}
		return nil, err
	}
	if err := checkTriggerType(s.Trigger.Type, fromEvent); err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, v := range r.Spec.Variables {
		vars[v.Name] = v.DefaultValue
	}
	for _, k := range slices.Sorted(maps.Keys(s.Variables)) {
		if _, ok := vars[k]; !ok {
			return nil, fault.New(fault.Invalid, "pipeline %s has no variable %s", r.Name, state.Shorten(k))
		}
		vars[k] = s.Variables[k]
	}
	sources := map[string]bool{}
	for _, st := range r.Spec.Stages {
		for _, a := range st.Actions {
			if a.ActionTypeID.Category == pipelinespec.CategorySource {
				sources[a.Name] = a.ActionTypeID.Provider == pipelinespec.ProviderRepo
			}
		}
	}
	seen := map[string]bool{}
	for _, sr := range s.SourceRevisions {
		if _, ok := sources[sr.Action]; !ok || seen[sr.Action] {
			return nil, fault.New(fault.Invalid, "source revision for %q: not a source action of pipeline %s, or named twice", state.Shorten(sr.Action), r.Name)
		}
		if sr.Commit == "" {
			return nil, fault.New(fault.Invalid, "source revision for %s has no commit", sr.Action)
		}
		seen[sr.Action] = true
	}
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		if sources[name] && !seen[name] {
			return nil, fault.New(fault.Invalid, "the start has no commit for source action %s", name)
		}
	}
	return vars, nil
}

// checkTriggerType checks a start's trigger type: push or pull_request for a start from a
// repository event, manual or webhook otherwise.
func checkTriggerType(t string, fromEvent bool) error {
	want := []string{pub.TriggerManual, pub.TriggerWebhook}
	if fromEvent {
		want = []string{pub.TriggerPush, pub.TriggerPullRequest}
	}
	if !slices.Contains(want, t) {
		return fault.New(fault.Invalid, "trigger type %q is not %s or %s", state.Shorten(t), want[0], want[1])
	}
	return nil
}

// begin records x (built by the caller) as a new execution of its pipeline: its start number,
// its history entry, the references to its artifacts' blobs, the retention of ended
// executions, then its entry into its first stage.
func (g *engine) begin(x *Execution) error {
	key := metaStarts + x.Pipeline
	n := metaUint(g.tx, key) + 1
	if err := putMetaUint(g.tx, key, n); err != nil { // read again by a second start of this command
		return err
	}
	x.StartIndex = n
	x.Status = pub.PipelineInProgress
	x.StartTime, x.UpdateTime = g.now, g.now
	g.touch(x)
	g.op(func(tx *state.Tx) error { return putHistory(tx, *x) })
	for _, name := range slices.Sorted(maps.Keys(x.Artifacts)) {
		g.refBlob(x.ID, x.Artifacts[name].SHA256)
	}
	if err := g.retain(x.Pipeline); err != nil {
		return err
	}
	g.prepare(x, 0, pub.RetryAllActions)
	return g.enter(x, 0)
}

// retain deletes pipeline name's oldest ended executions while it keeps more than
// MaxEndedExecutions of them.
func (g *engine) retain(name string) error {
	var ended []string
	for _, h := range historyIDs(g.tx, name) {
		x, ok, err := g.exec(h.ID)
		if err != nil {
			return err
		}
		if ok && !running(x.Status) {
			ended = append(ended, h.ID)
		}
	}
	for _, id := range ended[:max(0, len(ended)-MaxEndedExecutions)] {
		g.gone[id] = true
	}
	return nil
}

// deleteExecution deletes execution id's record, its history and pipeline/active entries and
// its references to blobs.
func deleteExecution(tx *state.Tx, id string) error {
	x, ok, err := loadExecution(tx, id)
	if err != nil || !ok {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(x.Artifacts)) {
		if sha := x.Artifacts[name].SHA256; sha != "" {
			if err := tx.Blobs().RemoveRef(sha, blobOwner(id)); err != nil {
				return err
			}
		}
	}
	if err := tx.Bucket(bucketHistory).Delete(historyKey(x.Pipeline, x.StartIndex)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketActive).Delete([]byte(id)); err != nil {
		return err
	}
	return state.Delete(tx, bucketExecutions, id)
}

// newRollback builds the rollback execution id of stage of pipeline r, running the stage of
// target's version with target's artifacts, namespaces, variables and source revisions.
func (g *engine) newRollback(r *Record, id, stage string, target *Execution, actor string) (*Execution, error) {
	si := stageIndex(target, stage)
	if si < 0 || target.Stages[si].Status != pub.PipelineSucceeded {
		return nil, fault.New(fault.Conflict, "stage %s did not succeed in execution %s: roll back to an execution in which it did", state.Shorten(stage), target.ID)
	}
	spec, err := g.spec(r.Name, target.Version)
	if err != nil {
		return nil, err
	}
	var stages []pub.StageExecution
	for _, s := range stagesOf(spec.Stages) {
		if s.Name == stage {
			stages = append(stages, s)
		}
	}
	if len(stages) == 0 {
		return nil, fault.New(fault.Conflict, "version %d of pipeline %s has no stage %s", target.Version, r.Name, state.Shorten(stage))
	}
	ns := map[string]map[string]string{}
	for k, v := range target.Namespaces {
		ns[k] = maps.Clone(v)
	}
	if len(ns) == 0 {
		ns = nil
	}
	return &Execution{
		PipelineExecution: pub.PipelineExecution{
			ID: id, Pipeline: r.Name, Version: target.Version, ExecutionMode: modeOf(&r.Spec),
			Trigger:   pub.PipelineTrigger{Type: pub.TriggerRollback, Actor: actor},
			Variables: maps.Clone(target.Variables), SourceRevisions: append([]pub.SourceRevision(nil), target.SourceRevisions...),
			RollbackOf: target.ID, Stages: stages,
		},
		Artifacts:  maps.Clone(target.Artifacts),
		Namespaces: ns,
	}, nil
}

// rollbackID is the ID of the rollback a stage condition starts when stage's attempt of
// execution failed: a name-based UUID (uuid.NewHash: version 5's layout over SHA-256) of
// "pipeline/rollback/EXECUTION/STAGE/ATTEMPT". Apply cannot draw a random one; the same
// failure always names the same rollback, and another attempt another.
func rollbackID(execution, stage string, attempt int) string {
	return uuid.NewHash(sha256.New(), uuid.Nil, []byte("pipeline/rollback/"+execution+"/"+stage+"/"+strconv.Itoa(attempt)), 5).String()
}

// autoRollback starts the rollback a ROLLBACK condition asks for after x's stage si failed:
// of the stage, to the newest other execution of the pipeline in which it succeeded. With
// none, nothing more happens and x's summary says so.
func (g *engine) autoRollback(x *Execution, si int) error {
	st := x.Stages[si]
	r, err := g.record(x.Pipeline)
	if err != nil {
		return err
	}
	var target *Execution
	ids := historyIDs(g.tx, x.Pipeline)
	for i := len(ids) - 1; i >= 0 && target == nil; i-- {
		t, ok, err := g.exec(ids[i].ID)
		if err != nil {
			return err
		}
		if !ok || t.ID == x.ID {
			continue
		}
		if j := stageIndex(t, st.Name); j >= 0 && t.Stages[j].Status == pub.PipelineSucceeded {
			target = t
		}
	}
	if target == nil {
		x.StatusSummary += "; no earlier execution in which stage " + st.Name + " succeeded: no rollback"
		g.touch(x)
		return nil
	}
	rb, err := g.newRollback(r, rollbackID(x.ID, st.Name, st.Attempt), st.Name, target, "")
	if err != nil {
		x.StatusSummary += "; no rollback: " + err.Error()
		g.touch(x)
		return nil //nolint:nilerr // the failed execution stays failed; the rollback that cannot start is said in its summary
	}
	if _, ok, err := g.exec(rb.ID); err != nil || ok {
		return err
	}
	rb.Trigger.Detail = "stage " + st.Name + " of execution " + x.ID + " failed"
	x.StatusSummary += "; rolled back by execution " + rb.ID + " to execution " + target.ID
	g.touch(x)
	return g.begin(rb)
}
