package build

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/buildspec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// MaxBatchBuildspec bounds the buildspec file a batch start reads from the repository.
const MaxBatchBuildspec = 1 << 20

// maxBatchPayload bounds a batch start's command: the tasks' overrides come from the buildspec.
const maxBatchPayload = 2 << 20

// Batches is the Go API of batch builds, under the same rules as Projects.
type Batches struct{ m *Module }

// Batches is the Go API of batch builds.
func (m *Module) Batches() *Batches { return &Batches{m: m} }

// Start starts a batch of req.Project initiated by actor: the project's buildspec (inline, or
// the file at the resolved commit) must have a batch key, which expands into the batch's builds
// (Expand).
func (s *Batches) Start(ctx context.Context, actor string, req pub.BuildBatchStartRequest) (pub.BuildBatch, error) {
	one, err := s.m.Builds().prepare(ctx, actor, pub.BuildStartRequest{Project: req.Project, SourceVersion: req.SourceVersion,
		EnvironmentVariablesOverride: req.EnvironmentVariablesOverride})
	if err != nil {
		return pub.BuildBatch{}, err
	}
	text, name := []byte(one.Source.BuildspecInline), "buildspec (inline)"
	if one.Source.BuildspecInline == "" {
		if one.Source.Type != pub.SourceSlipwayRepo {
			return pub.BuildBatch{}, fault.New(fault.Invalid, "build project %s has no buildspec to read a batch from", one.Project)
		}
		name = one.Source.Buildspec
		if text, err = s.m.Sources.ReadFile(ctx, one.Source.Repository, one.ResolvedSourceVersion, name, MaxBatchBuildspec); err != nil {
			return pub.BuildBatch{}, err
		}
	}
	spec, diags := buildspec.Load(name, text)
	if diags.HasErrors() {
		return pub.BuildBatch{}, buildspecFault(name, diags)
	}
	over := environmentOf(pub.BuildEnvironment{Variables: req.EnvironmentVariablesOverride}).normal().Variables
	tasks, kind, fastFail, err := Expand(name, spec, over)
	if err != nil {
		return pub.BuildBatch{}, err
	}
	if one.Source.Type != pub.SourceSlipwayRepo {
		for _, t := range tasks {
			if t.Buildspec != "" {
				return pub.BuildBatch{}, fault.New(fault.Invalid, "batch build %s names buildspec %s, but build project %s has no source to read it from", t.Identifier, state.Shorten(t.Buildspec), one.Project)
			}
		}
	}
	for i := range tasks {
		tasks[i].BuildID = one.Project + ":" + newUUID()
		if err := checkVariables(mergeVariables(one.Environment.Variables, tasks[i].Variables)); err != nil {
			return pub.BuildBatch{}, fault.New(fault.Invalid, "batch build %s: %v", tasks[i].Identifier, err)
		}
	}
	p := BatchStartPayload{ID: one.Project + ":" + newUUID(), Project: one.Project, ProjectCreateIndex: one.ProjectCreateIndex,
		Initiator: actor, SourceVersion: one.SourceVersion, ResolvedSourceVersion: one.ResolvedSourceVersion, Source: one.Source,
		Environment: one.Environment, TimeoutMinutes: one.TimeoutMinutes, QueuedTimeoutMinutes: one.QueuedTimeoutMinutes,
		ServiceRole: one.ServiceRole, Kind: kind, FastFail: fastFail, Tasks: tasks}
	if raw, err := json.Marshal(p); err != nil || len(raw) > maxBatchPayload {
		return pub.BuildBatch{}, fault.New(fault.TooLarge, "the batch's builds and their variables are over %d bytes together: use fewer builds or variables", maxBatchPayload)
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdBatchStart, s.m.core.Now(), p)
	return batchAnswer(res, err)
}

// buildspecFault is a buildspec's errors as one refusal, each as path:line:col.
func buildspecFault(name string, diags buildspec.Diagnostics) error {
	var lines []string
	for _, d := range diags {
		if d.Severity == buildspec.SeverityError {
			lines = append(lines, d.String())
		}
		if len(lines) == 20 {
			lines = append(lines, "...")
			break
		}
	}
	return fault.New(fault.Invalid, "the buildspec %s is not valid:\n%s", state.Shorten(name), strings.Join(lines, "\n"))
}

// Expand makes a batch's tasks from a buildspec's batch key, with the start's variable
// overrides (over), which win over the tasks' own. build-list and build-graph: one task each,
// identifier the task's (build_N, counting from 1, for a build-list task without one);
// build-list tasks start at once (depend-on is read in a graph only). build-matrix: one task
// per combination of the dynamic buildspecs, images and variables (in that order, the last
// written varying fastest), identified build_1, build_2, ... in that order, each with the
// static settings. Compute types and fleets are not Slipway's: they neither multiply builds
// nor change them. Only the image, privileged mode and variables of a task's env apply.
func Expand(name string, spec *buildspec.Spec, over []Variable) (tasks []BatchTaskPayload, kind string, fastFail bool, err error) {
	b := spec.Batch
	if b == nil || b.Kind == "" || b.Kind == buildspec.BuildFanout {
		return nil, "", false, fault.New(fault.Invalid, "the buildspec %s has no batch key with a build-list, build-graph or build-matrix: add one (docs/BUILDSPEC.md \"batch\"), or start a single build with 'slipway build start'", state.Shorten(name))
	}
	keep := func(vs []buildspec.Var) []Variable {
		var out []Variable
		for _, v := range vs {
			overridden := false
			for _, o := range over {
				overridden = overridden || o.Name == v.Name
			}
			if !overridden {
				out = append(out, Variable{Name: v.Name, Value: v.Value, Type: pub.VariablePlaintext})
			}
		}
		return out
	}
	switch b.Kind {
	case buildspec.BuildList, buildspec.BuildGraph:
		for i, t := range b.Tasks {
			id := t.Identifier
			if id == "" {
				id = "build_" + strconv.Itoa(i+1)
			}
			tp := BatchTaskPayload{Identifier: id, Buildspec: t.Buildspec, Image: t.Env.Image, Privileged: t.Env.PrivilegedMode,
				Variables: keep(t.Env.Variables), IgnoreFailure: t.IgnoreFailure}
			if b.Kind == buildspec.BuildGraph {
				tp.DependOn = append([]string(nil), t.DependOn...)
			}
			tasks = append(tasks, tp)
		}
	case buildspec.BuildMatrix:
		m := b.Matrix
		if m == nil {
			m = &buildspec.Matrix{}
		}
		combos := []BatchTaskPayload{{Buildspec: "", Image: m.Static.Image, Privileged: m.Static.PrivilegedMode, Variables: keep(m.Static.Variables), IgnoreFailure: m.IgnoreFailure}}
		cross := func(n int, set func(t *BatchTaskPayload, i int)) {
			if n == 0 {
				return
			}
			var next []BatchTaskPayload
			for _, c := range combos {
				for i := 0; i < n && len(next) < buildspec.MaxBatchBuilds; i++ {
					t := c
					t.Variables = append([]Variable(nil), c.Variables...)
					set(&t, i)
					next = append(next, t)
				}
			}
			combos = next
		}
		cross(len(m.Buildspecs), func(t *BatchTaskPayload, i int) { t.Buildspec = m.Buildspecs[i] })
		cross(len(m.Images), func(t *BatchTaskPayload, i int) { t.Image = m.Images[i] })
		for _, mv := range m.Variables {
			cross(len(mv.Values), func(t *BatchTaskPayload, i int) {
				t.Variables = mergeVariables(t.Variables, keep([]buildspec.Var{{Name: mv.Name, Value: mv.Values[i]}}))
			})
		}
		for i := range combos {
			combos[i].Identifier = "build_" + strconv.Itoa(i+1)
		}
		tasks = combos
	}
	if len(tasks) == 0 {
		return nil, "", false, fault.New(fault.Invalid, "the batch of buildspec %s makes no builds", state.Shorten(name))
	}
	if len(tasks) > buildspec.MaxBatchBuilds {
		return nil, "", false, fault.New(fault.Invalid, "the batch of buildspec %s makes %d builds, over the %d of a batch", state.Shorten(name), len(tasks), buildspec.MaxBatchBuilds)
	}
	return tasks, b.Kind, b.FastFail, nil
}

// Get returns a batch.
func (s *Batches) Get(_ context.Context, id string) (pub.BuildBatch, error) {
	if _, _, err := SplitID(id); err != nil {
		return pub.BuildBatch{}, err
	}
	var bt Batch
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		bt, err = mustBatch(tx, id)
		return err
	})
	return batchView(bt), err
}

// List returns a page of the cluster's batches, newest first, and the next page's cursor.
func (s *Batches) List(_ context.Context, page api.Page) ([]pub.BuildBatch, string, error) {
	return s.list(bucketBatchHistory, nil, page)
}

// ListForProject returns a page of a project's batches, newest first; an unknown project is not
// found.
func (s *Batches) ListForProject(_ context.Context, project string, page api.Page) ([]pub.BuildBatch, string, error) {
	if _, err := s.m.Projects().Record(project); err != nil {
		return nil, "", err
	}
	return s.list(bucketBatchesByProject, append([]byte(project), 0), page)
}

func (s *Batches) list(bucket, prefix []byte, page api.Page) ([]pub.BuildBatch, string, error) {
	return newestPage(s.m.core.State, bucket, bucketBatches, prefix, page, getBatch, batchView)
}

// Stop stops a batch and every build of it that has not ended.
func (s *Batches) Stop(ctx context.Context, actor, id string) (pub.BuildBatch, error) {
	if _, _, err := SplitID(id); err != nil {
		return pub.BuildBatch{}, err
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdBatchStop, s.m.core.Now(), BatchStopPayload{ID: id, Actor: actor})
	return batchAnswer(res, err)
}

func batchAnswer(res command.Result, err error) (pub.BuildBatch, error) {
	if err != nil {
		return pub.BuildBatch{}, err
	}
	bt, err := command.Data[Batch](res)
	return batchView(bt), err
}

func batchView(bt Batch) pub.BuildBatch {
	v := pub.BuildBatch{ID: bt.ID, Project: bt.Project, Status: bt.Status, Initiator: bt.Initiator, SourceVersion: bt.SourceVersion,
		ResolvedSourceVersion: bt.ResolvedSourceVersion, Kind: bt.Kind, FastFail: bt.FastFail, StopRequested: bt.StopRequested,
		Builds: make([]pub.BuildBatchGroup, 0, len(bt.Tasks)), StartTime: bt.Start, EndTime: bt.End, CreateIndex: bt.Index, ModifyIndex: bt.ModifyIndex}
	for _, t := range bt.Tasks {
		v.Builds = append(v.Builds, pub.BuildBatchGroup{Identifier: t.Identifier, BuildID: t.BuildID, DependsOn: t.DependOn, IgnoreFailure: t.IgnoreFailure, Status: t.Status})
	}
	return v
}
