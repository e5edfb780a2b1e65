package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Pipelines is the pipelines' Go API: what the HTTP handlers, the console and the CLI's
// in-process callers use. Writes propose commands; reads read this server's state (callers
// that need a consistent read take a read barrier first, as api.Kit's helpers do). actor is
// the caller's name, recorded where the API says who did what. Authorization is the caller's:
// the HTTP routes and console pages check the action on pipeline/NAME, and NeedsOf names what
// a definition's author must also be allowed. Every write carries ctx's request ID (the
// client's Idempotency-Key, command.WithRequestID).
type Pipelines struct{ m *Module }

// Pipelines returns the Go API.
func (m *Module) Pipelines() *Pipelines { return &Pipelines{m: m} }

// MaxDefinition bounds a definition's text (256 KiB).
const MaxDefinition = 256 << 10

// maxDiagnostics bounds the diagnostics a refusal lists.
const maxDiagnostics = 30

// Parse parses and checks a definition (req.Definition, named req.File in diagnostics)
// against the wired providers, without storing it: invalid with the diagnostics
// ("path:line:col: message" lines) in the message when it has errors; the warnings otherwise.
// Every action's provider must be wired (or be Manual, the engine's own), and a provider that
// is a Checker checks the action's configuration against the cluster.
func (p *Pipelines) Parse(ctx context.Context, req pub.PipelineRequest) (*pipelinespec.Pipeline, []string, error) {
	file := req.File
	if file == "" {
		file = "pipeline.yml"
	}
	if len(req.Definition) > MaxDefinition {
		return nil, nil, fault.New(fault.TooLarge, "the definition is %d bytes; at most %d (256 KiB)", len(req.Definition), MaxDefinition)
	}
	spec, diags := pipelinespec.Parse(file, []byte(req.Definition))
	if diags.HasErrors() || spec == nil {
		lines := diags.Errors().Strings()
		if len(lines) > maxDiagnostics {
			lines = append(lines[:maxDiagnostics], fmt.Sprintf("... and %d more", len(lines)-maxDiagnostics))
		}
		if len(lines) == 0 {
			lines = []string{file + ": not a pipeline definition"}
		}
		return nil, nil, fault.New(fault.Invalid, "the pipeline definition is not valid:\n%s", strings.Join(lines, "\n"))
	}
	if err := p.Check(ctx, spec); err != nil {
		return nil, nil, err
	}
	return spec, diags.Warnings().Strings(), nil
}

// Check checks a parsed definition against the wired providers: each action's provider must
// exist (Manual is the engine's own), and a Checker's Check must pass.
func (p *Pipelines) Check(ctx context.Context, spec *pipelinespec.Pipeline) error {
	for _, st := range spec.Stages {
		for _, a := range st.Actions {
			name := a.ActionTypeID.Provider
			if name == pipelinespec.ProviderManual {
				continue
			}
			prov, ok := p.m.provider(name)
			if !ok {
				return fault.New(fault.Invalid, "stage %s, action %s: no provider %s in this cluster (providers: %s)",
					st.Name, a.Name, name, strings.Join(p.m.providerNames(), ", "))
			}
			if c, ok := prov.(Checker); ok {
				if err := c.Check(ctx, a); err != nil {
					return within(err, "stage "+st.Name+", action "+a.Name)
				}
			}
		}
	}
	return nil
}

// NeedsOf names the permissions the author of spec must hold (the providers' Needs), without
// duplicates, in the definition's order.
func (p *Pipelines) NeedsOf(spec *pipelinespec.Pipeline) []Need {
	var out []Need
	for _, st := range spec.Stages {
		for _, a := range st.Actions {
			prov, ok := p.m.provider(a.ActionTypeID.Provider)
			if !ok {
				continue
			}
			c, ok := prov.(Checker)
			if !ok {
				continue
			}
			for _, n := range c.Needs(a) {
				if !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// Create stores a new pipeline (version 1).
func (p *Pipelines) Create(ctx context.Context, actor string, spec *pipelinespec.Pipeline, warnings []string) (pub.Pipeline, error) {
	if spec == nil {
		return pub.Pipeline{}, fault.New(fault.Invalid, "no pipeline definition")
	}
	if err := ValidateName(spec.Name); err != nil {
		return pub.Pipeline{}, err
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdCreate, p.m.core.Now(), CreatePayload{Spec: *spec, Warnings: warnings, Actor: actor})
	return recordAnswer(res, err)
}

// Update stores spec as the pipeline's next version. A name in spec that is not name is
// refused (a pipeline is renamed by creating another); an empty one takes name.
func (p *Pipelines) Update(ctx context.Context, actor, name string, spec *pipelinespec.Pipeline, warnings []string) (pub.Pipeline, error) {
	if spec == nil {
		return pub.Pipeline{}, fault.New(fault.Invalid, "no pipeline definition")
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if spec.Name != name {
		return pub.Pipeline{}, fault.New(fault.Invalid, "the definition names pipeline %s, not %s: a pipeline keeps its name (create another to rename it)",
			state.Shorten(spec.Name), state.Shorten(name))
	}
	r, err := p.record(ctx, name)
	if err != nil {
		return pub.Pipeline{}, err
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdUpdate, p.m.core.Now(), UpdatePayload{Spec: *spec, Version: r.Version + 1, Warnings: warnings, Actor: actor})
	return recordAnswer(res, err)
}

// Get answers a pipeline (fault.NotFound).
func (p *Pipelines) Get(ctx context.Context, name string) (pub.Pipeline, error) {
	r, err := p.Record(name)
	return recordView(r), err
}

// Record reads a pipeline's record as this server has applied it (fault.NotFound).
func (p *Pipelines) Record(name string) (Record, error) {
	if err := ValidateName(name); err != nil {
		return Record{}, err
	}
	var r Record
	err := p.m.core.State.View(func(tx *state.Tx) error {
		var err error
		r, err = mustRecord(tx, name)
		return err
	})
	return r, err
}

// record is Record after a consistent read when this server does not have the pipeline yet
// (created through another server a moment ago): what writes base themselves on.
func (p *Pipelines) record(ctx context.Context, name string) (Record, error) {
	r, err := p.Record(name)
	if fault.CodeOf(err) == fault.NotFound {
		if rerr := p.m.core.Cluster.ConsistentRead(ctx); rerr != nil {
			return Record{}, fault.New(fault.Unavailable, "this server cannot read pipelines now: %v", rerr)
		}
		r, err = p.Record(name)
	}
	return r, err
}

// Spec answers the definition of a pipeline's version (0: the current one).
func (p *Pipelines) Spec(ctx context.Context, name string, version int) (*pipelinespec.Pipeline, error) {
	r, err := p.Record(name)
	if err != nil {
		return nil, err
	}
	if version == 0 || version == r.Version {
		return &r.Spec, nil
	}
	var spec pipelinespec.Pipeline
	err = p.m.core.State.View(func(tx *state.Tx) error {
		var ok bool
		var err error
		spec, ok, err = versionSpec(tx, name, version)
		if err == nil && !ok {
			err = fault.New(fault.NotFound, "pipeline %s has no version %d (kept: the newest 100, and those executions in progress run)", state.Shorten(name), version)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &spec, nil
}

// List answers a page of pipelines in name order, each with its newest execution.
func (p *Pipelines) List(ctx context.Context, page api.Page) ([]pub.PipelineSummary, string, error) {
	var out []pub.PipelineSummary
	var next string
	err := p.m.core.State.View(func(tx *state.Tx) error {
		list, n, err := listRecords(tx, page.After, page.Limit)
		if err != nil {
			return err
		}
		next = n
		for _, r := range list {
			latest, ok, err := latestExecution(tx, r.Name)
			if err != nil {
				return err
			}
			out = append(out, summaryView(r, latest, ok))
		}
		return nil
	})
	return out, next, err
}

// Delete deletes a pipeline (a conflict while an execution is in progress).
func (p *Pipelines) Delete(ctx context.Context, actor, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	_, err := command.Propose(ctx, p.m.core.Cluster, cmdDelete, p.m.core.Now(), DeletePayload{Name: name})
	return err
}

// Start starts an execution by hand (trigger manual, by actor).
func (p *Pipelines) Start(ctx context.Context, actor, name string, req pub.PipelineStartRequest) (pub.PipelineExecution, error) {
	return p.start(ctx, name, pub.PipelineTrigger{Type: pub.TriggerManual, Actor: actor}, req)
}

// start starts an execution of pipeline name with trigger t (manual or webhook).
func (p *Pipelines) start(ctx context.Context, name string, t pub.PipelineTrigger, req pub.PipelineStartRequest) (pub.PipelineExecution, error) {
	r, err := p.record(ctx, name)
	if err != nil {
		return pub.PipelineExecution{}, err
	}
	s, err := p.m.prepareStart(ctx, r, t, req.Variables, req.SourceRevisions, nil)
	if err != nil {
		return pub.PipelineExecution{}, err
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdStart, p.m.core.Now(), StartPayload{Start: s})
	return executionAnswer(res, err)
}

// prepareStart makes the Start of an execution of r: a new ID, every declared variable (its
// default, or overrides' value: an unknown name is refused), and every source action's
// commit: pinned's (by action name) when given, else fixed's version (a branch, tag or
// commit) resolved through Changes, else its BranchName's head.
func (m *Module) prepareStart(ctx context.Context, r Record, t pub.PipelineTrigger, overrides, versions map[string]string, fixed map[string]pub.SourceRevision) (Start, error) {
	s := Start{ExecutionID: uuid.NewString(), Pipeline: r.Name, Version: r.Version, Trigger: t}
	declared := map[string]bool{}
	for _, v := range r.Spec.Variables {
		declared[v.Name] = true
	}
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if !declared[k] {
			return Start{}, fault.New(fault.Invalid, "pipeline %s has no variable %s: declare it in the definition's variables, or leave it out", state.Shorten(r.Name), state.Shorten(k))
		}
	}
	if len(r.Spec.Variables) > 0 {
		s.Variables = map[string]string{}
		for _, v := range r.Spec.Variables {
			val, ok := overrides[v.Name]
			if !ok {
				val = v.DefaultValue
			}
			s.Variables[v.Name] = val
		}
	}
	sources := sourceActions(r.Spec)
	for _, k := range slices.Sorted(maps.Keys(versions)) {
		if !slices.ContainsFunc(sources, func(a pipelinespec.Action) bool { return a.Name == k }) {
			return Start{}, fault.New(fault.Invalid, "pipeline %s has no source action %s", state.Shorten(r.Name), state.Shorten(k))
		}
	}
	s.SourceRevisions = []pub.SourceRevision{}
	for _, a := range sources {
		if sr, ok := fixed[a.Name]; ok {
			s.SourceRevisions = append(s.SourceRevisions, sr)
			continue
		}
		repo, branch := a.Configuration["RepositoryName"], a.Configuration["BranchName"]
		version := branch
		if v, ok := versions[a.Name]; ok && v != "" {
			version = v
		}
		changes := m.changes()
		if changes == nil {
			return Start{}, fault.New(fault.Unavailable, "this server cannot read repositories for pipelines")
		}
		commit, err := changes.Resolve(ctx, repo, version)
		if err != nil {
			return Start{}, within(err, "source action "+a.Name+": "+state.Shorten(version)+" of repository "+state.Shorten(repo))
		}
		s.SourceRevisions = append(s.SourceRevisions, pub.SourceRevision{Action: a.Name, Repository: repo, Branch: branch, Commit: commit})
	}
	return s, nil
}

// sourceActions answers spec's SlipwayRepo source actions, in the definition's order.
func sourceActions(spec pipelinespec.Pipeline) []pipelinespec.Action {
	var out []pipelinespec.Action
	for _, st := range spec.Stages {
		for _, a := range st.Actions {
			if a.ActionTypeID.Category == pipelinespec.CategorySource && a.ActionTypeID.Provider == pipelinespec.ProviderRepo {
				out = append(out, a)
			}
		}
	}
	return out
}

// Execution answers one execution of pipeline name (fault.NotFound).
func (p *Pipelines) Execution(ctx context.Context, name, id string) (pub.PipelineExecution, error) {
	e, err := p.execution(name, id)
	return view(e), err
}

func (p *Pipelines) execution(name, id string) (Execution, error) {
	if err := ValidateName(name); err != nil {
		return Execution{}, err
	}
	var e Execution
	err := p.m.core.State.View(func(tx *state.Tx) error {
		var err error
		e, err = pipelineExecution(tx, name, id)
		return err
	})
	return e, err
}

// History answers a page of pipeline name's executions, newest first.
func (p *Pipelines) History(ctx context.Context, name string, page api.Page) ([]pub.PipelineExecution, string, error) {
	if err := ValidateName(name); err != nil {
		return nil, "", err
	}
	var out []pub.PipelineExecution
	var next string
	err := p.m.core.State.View(func(tx *state.Tx) error {
		if _, err := mustRecord(tx, name); err != nil {
			return err
		}
		list, n, err := historyPage(tx, name, page.After, page.Limit)
		if err != nil {
			return err
		}
		next = n
		for _, e := range list {
			out = append(out, view(e))
		}
		return nil
	})
	return out, next, err
}

// Stop stops an execution.
func (p *Pipelines) Stop(ctx context.Context, actor, name, id string, req pub.PipelineStopRequest) (pub.PipelineExecution, error) {
	if _, err := p.execution(name, id); err != nil {
		return pub.PipelineExecution{}, err
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdStop, p.m.core.Now(), StopPayload{ExecutionID: id, Abandon: req.Abandon, Reason: req.Reason, Actor: actor})
	return executionAnswer(res, err)
}

// Retry retries a failed stage of a failed execution.
func (p *Pipelines) Retry(ctx context.Context, actor, name string, req pub.PipelineRetryRequest) (pub.PipelineExecution, error) {
	mode := req.RetryMode
	if mode == "" {
		mode = pub.RetryFailedActions
	}
	if mode != pub.RetryFailedActions && mode != pub.RetryAllActions {
		return pub.PipelineExecution{}, fault.New(fault.Invalid, "retry mode %q: FAILED_ACTIONS or ALL_ACTIONS", state.Shorten(mode))
	}
	if req.Stage == "" {
		return pub.PipelineExecution{}, fault.New(fault.Invalid, "name the stage to retry")
	}
	if _, err := p.execution(name, req.Execution); err != nil {
		return pub.PipelineExecution{}, err
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdRetry, p.m.core.Now(), RetryPayload{ExecutionID: req.Execution, Stage: req.Stage, Mode: mode, Actor: actor})
	return executionAnswer(res, err)
}

// Rollback starts a rollback execution of a stage: with the artifacts of the newest execution
// in which the stage succeeded, or of req.TargetExecution.
func (p *Pipelines) Rollback(ctx context.Context, actor, name string, req pub.PipelineRollbackRequest) (pub.PipelineExecution, error) {
	if req.Stage == "" {
		return pub.PipelineExecution{}, fault.New(fault.Invalid, "name the stage to roll back")
	}
	target := req.TargetExecution
	if target == "" {
		e, ok, err := p.lastSucceeded(name, req.Stage)
		if err != nil {
			return pub.PipelineExecution{}, err
		}
		if !ok {
			return pub.PipelineExecution{}, fault.New(fault.Conflict, "stage %s of pipeline %s never succeeded in the executions kept: nothing to roll back to",
				state.Shorten(req.Stage), state.Shorten(name))
		}
		target = e.ID
	} else if _, err := p.execution(name, target); err != nil {
		return pub.PipelineExecution{}, err
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdRollback, p.m.core.Now(),
		RollbackPayload{ExecutionID: uuid.NewString(), Pipeline: name, Stage: req.Stage, Target: target, Actor: actor})
	return executionAnswer(res, err)
}

// lastSucceeded answers pipeline name's newest execution in which stage succeeded.
func (p *Pipelines) lastSucceeded(name, stage string) (Execution, bool, error) {
	if err := ValidateName(name); err != nil {
		return Execution{}, false, err
	}
	var found Execution
	var ok bool
	err := p.m.core.State.View(func(tx *state.Tx) error {
		if _, err := mustRecord(tx, name); err != nil {
			return err
		}
		after := ""
		for {
			list, next, err := historyPage(tx, name, after, 100)
			if err != nil {
				return err
			}
			for _, e := range list {
				for _, st := range e.Stages {
					if st.Name == stage && st.Status == pub.PipelineSucceeded {
						found, ok = e, true
						return nil
					}
				}
			}
			if next == "" {
				return nil
			}
			after = next
		}
	})
	return found, ok, err
}

// Transition enables or disables a stage's inbound transition.
func (p *Pipelines) Transition(ctx context.Context, actor, name string, req pub.TransitionRequest) (pub.Pipeline, error) {
	if err := ValidateName(name); err != nil {
		return pub.Pipeline{}, err
	}
	if !req.Enabled && strings.TrimSpace(req.Reason) == "" {
		return pub.Pipeline{}, fault.New(fault.Invalid, "disabling a transition needs a reason (the people waiting on it read it)")
	}
	if len(req.Reason) > 300 {
		return pub.Pipeline{}, fault.New(fault.Invalid, "a transition's reason is at most 300 characters")
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdTransition, p.m.core.Now(),
		TransitionPayload{Name: name, Stage: req.Stage, Enabled: req.Enabled, Reason: req.Reason, Actor: actor})
	return recordAnswer(res, err)
}

// Approve answers a manual approval; the caller has checked codepipeline:PutApprovalResult.
func (p *Pipelines) Approve(ctx context.Context, actor, name string, req pub.ApprovalResultRequest) (pub.PipelineExecution, error) {
	if req.Status != pub.ApprovalApproved && req.Status != pub.ApprovalRejected {
		return pub.PipelineExecution{}, fault.New(fault.Invalid, "approval status %q: Approved or Rejected", state.Shorten(req.Status))
	}
	if len(req.Comment) > 1000 {
		return pub.PipelineExecution{}, fault.New(fault.Invalid, "an approval's comment is at most 1000 characters")
	}
	if _, err := p.execution(name, req.Execution); err != nil {
		return pub.PipelineExecution{}, err
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdApproval, p.m.core.Now(), ApprovalPayload{ExecutionID: req.Execution,
		Stage: req.Stage, Action: req.Action, Token: req.Token, Status: req.Status, Comment: req.Comment, By: actor})
	return executionAnswer(res, err)
}

// ValidateName checks a pipeline name: 1-100 of [A-Za-z0-9.@_-].
func ValidateName(name string) error {
	if name == "" || len(name) > 100 {
		return fault.New(fault.Invalid, "a pipeline name is 1-100 characters of A-Z a-z 0-9 . @ _ -")
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '@' || c == '_' || c == '-'
		if !ok {
			return fault.New(fault.Invalid, "pipeline name %q: only A-Z a-z 0-9 . @ _ - are allowed", state.Shorten(name))
		}
	}
	return nil
}

func recordAnswer(res command.Result, err error) (pub.Pipeline, error) {
	if err != nil {
		return pub.Pipeline{}, err
	}
	r, err := command.Data[Record](res)
	return recordView(r), err
}

func executionAnswer(res command.Result, err error) (pub.PipelineExecution, error) {
	if err != nil {
		return pub.PipelineExecution{}, err
	}
	e, err := command.Data[Execution](res)
	return view(e), err
}

// within is err with what it was about before its message, keeping its fault code.
func within(err error, about string) error {
	return fault.New(fault.CodeOf(err), "%s: %v", about, err)
}
