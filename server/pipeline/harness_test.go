package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

// The apply tests run commands against a state machine directly, as the log would: no
// network, no clock but the commands' times.

// t0 is the time of a harness's first command; each command is a second later.
var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// harness is a one-server state machine with the pipeline service registered (and the git
// event stream's buckets, which pipeline.create reads).
type harness struct {
	t     *testing.T
	f     *fsm.FSM
	index uint64
	now   time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(&module.Core{}, New())
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), append(reg.AllBuckets(), hooks.Buckets()...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &harness{t: t, f: fsm.New(s, reg.Table(), slog.New(slog.NewTextHandler(io.Discard, nil))), now: t0}
}

// run applies one command at the next index, a second after the previous one.
func run[T any](h *harness, d command.Def[T], p T) command.Result {
	h.t.Helper()
	h.index++
	h.now = h.now.Add(time.Second)
	c, err := d.New("", h.now, p)
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := command.Encode(c)
	if err != nil {
		h.t.Fatal(err)
	}
	r, ok := h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: b}).(command.Result)
	if !ok {
		h.t.Fatal("apply answered no command.Result")
	}
	return r
}

// must applies a command that must succeed and decodes its result into out (when not nil).
func must[T any](h *harness, d command.Def[T], p T, out any) {
	h.t.Helper()
	r := run(h, d, p)
	if err := r.Err(); err != nil {
		h.t.Fatalf("%s: %v", d.Name(), err)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			h.t.Fatalf("%s: decode %s: %v", d.Name(), r.Data, err)
		}
	}
}

// refused applies a command that must fail with code, its message containing msg, and change
// nothing.
func refused[T any](h *harness, d command.Def[T], p T, code fault.Code, msg string) {
	h.t.Helper()
	before := h.dump()
	r := run(h, d, p)
	if fault.Code(r.Code) != code || !strings.Contains(r.Message, msg) {
		h.t.Fatalf("%s: %+v; want %s saying %q", d.Name(), r, code, msg)
	}
	if after := h.dump(); after != before {
		h.t.Fatalf("%s was refused but changed the state:\n%s\n->\n%s", d.Name(), before, after)
	}
}

// dump renders every record of the service's buckets, for comparisons.
func (h *harness) dump() string {
	h.t.Helper()
	var b strings.Builder
	err := h.f.Store().View(func(tx *state.Tx) error {
		for _, bucket := range [][]byte{bucketPipelines, bucketVersions, bucketExecutions, bucketHistory, bucketActive, bucketMeta, bucketAbandoned} {
			c := tx.Bucket(bucket).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				fmt.Fprintf(&b, "%s %q %s\n", bucket, k, v)
			}
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return b.String()
}

func (h *harness) view(fn func(tx *state.Tx) error) {
	h.t.Helper()
	if err := h.f.Store().View(fn); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) exec(id string) Execution {
	h.t.Helper()
	var x Execution
	h.view(func(tx *state.Tx) (err error) { x, err = mustExecution(tx, id); return err })
	return x
}

func (h *harness) record(name string) Record {
	h.t.Helper()
	var r Record
	h.view(func(tx *state.Tx) (err error) { r, err = mustRecord(tx, name); return err })
	return r
}

// create creates spec and answers the record.
func (h *harness) create(spec pipelinespec.Pipeline) Record {
	h.t.Helper()
	var r Record
	must(h, cmdCreate, CreatePayload{Spec: spec, Actor: "alice"}, &r)
	return r
}

// start starts execution id of pipeline name (manual, its current version, a commit for each
// source action) and answers it.
func (h *harness) start(name, id string, vars map[string]string) Execution {
	h.t.Helper()
	var x Execution
	must(h, cmdStart, StartPayload{h.startOf(name, id, vars)}, &x)
	return x
}

func (h *harness) startOf(name, id string, vars map[string]string) Start {
	h.t.Helper()
	r := h.record(name)
	s := Start{ExecutionID: id, Pipeline: name, Version: r.Version, Trigger: pub.PipelineTrigger{Type: pub.TriggerManual, Actor: "alice"}, Variables: vars}
	for _, st := range r.Spec.Stages {
		for _, a := range st.Actions {
			if a.ActionTypeID.Category == pipelinespec.CategorySource {
				s.SourceRevisions = append(s.SourceRevisions, pub.SourceRevision{Action: a.Name, Repository: "web", Branch: "main", Commit: strings.Repeat("1", 40)})
			}
		}
	}
	return s
}

// action answers an action of an execution as the state has it.
func (h *harness) action(id, stage, action string) pub.ActionExecution {
	h.t.Helper()
	x := h.exec(id)
	for _, st := range x.Stages {
		for _, a := range st.Actions {
			if st.Name == stage && a.Name == action {
				return a
			}
		}
	}
	h.t.Fatalf("execution %s has no action %s/%s", id, stage, action)
	return pub.ActionExecution{}
}

// artifact is the artifact an action of an execution produces in these tests.
func artifact(name, id string) pub.PipelineArtifact {
	s := sha256.Sum256([]byte(name + "/" + id))
	return pub.PipelineArtifact{Name: name, SHA256: hex.EncodeToString(s[:]), Size: 10, Format: "zip"}
}

// result proposes an action's result for its current attempt, as the driver does: Succeeded
// with its declared outputs and vars, or Failed with msg.
func (h *harness) result(id, stage, action string, ok bool, vars map[string]string, msg string) Execution {
	h.t.Helper()
	var x Execution
	must(h, cmdActionResult, h.resultOf(id, stage, action, ok, vars, msg), &x)
	return x
}

func (h *harness) resultOf(id, stage, action string, ok bool, vars map[string]string, msg string) ActionResultPayload {
	h.t.Helper()
	a := h.action(id, stage, action)
	p := ActionResultPayload{ExecutionID: id, Stage: stage, Action: action, Attempt: a.Attempt, ExternalID: "work-" + action, Status: pub.PipelineFailed, Error: msg}
	if ok {
		p.Status, p.Error, p.Variables = pub.PipelineSucceeded, "", vars
		r := h.record(h.exec(id).Pipeline)
		var spec pipelinespec.Pipeline
		h.view(func(tx *state.Tx) error {
			s, _, err := versionSpec(tx, r.Name, h.exec(id).Version)
			spec = s
			return err
		})
		for _, st := range spec.Stages {
			for _, ac := range st.Actions {
				if st.Name == stage && ac.Name == action {
					for _, o := range ac.OutputArtifacts {
						p.Outputs = append(p.Outputs, artifact(o.Name, id))
					}
				}
			}
		}
	}
	return p
}

func (h *harness) succeed(id, stage, action string) Execution {
	h.t.Helper()
	return h.result(id, stage, action, true, nil, "")
}

// stages renders an execution's stages and actions' statuses: "Source:Succeeded[Source:Succeeded] Build:InProgress[...]".
func stages(x Execution) string {
	var parts []string
	for _, st := range x.Stages {
		var as []string
		for _, a := range st.Actions {
			as = append(as, a.Name+":"+a.Status)
		}
		parts = append(parts, st.Name+":"+st.Status+"["+strings.Join(as, ",")+"]")
	}
	return strings.Join(parts, " ")
}

func wantStatus(t *testing.T, x Execution, status, stagesWant string) {
	t.Helper()
	if x.Status != status || (stagesWant != "" && stages(x) != stagesWant) {
		t.Fatalf("execution %s: %s %s (%s, waiting for %q); want %s %s", x.ID, x.Status, stages(x), x.StatusSummary, x.WaitingFor, status, stagesWant)
	}
}

// Definitions of the tests.

func action(name, category, provider string, runOrder int, in, out, ns string, cfg map[string]string) pipelinespec.Action {
	a := pipelinespec.Action{Name: name, ActionTypeID: pipelinespec.ActionType{Category: category, Owner: "AWS", Provider: provider, Version: "1"},
		RunOrder: runOrder, Configuration: cfg, Namespace: ns}
	if in != "" {
		a.InputArtifacts = []pipelinespec.ArtifactRef{{Name: in}}
	}
	if out != "" {
		a.OutputArtifacts = []pipelinespec.ArtifactRef{{Name: out}}
	}
	return a
}

func sourceAction() pipelinespec.Action {
	return action("Source", pipelinespec.CategorySource, pipelinespec.ProviderRepo, 1, "", "SourceArtifact", "SourceVariables",
		map[string]string{"RepositoryName": "web", "BranchName": "main"})
}

func buildAction(name string, runOrder int) pipelinespec.Action {
	return action(name, pipelinespec.CategoryBuild, pipelinespec.ProviderBuild, runOrder, "SourceArtifact", name+"Artifact", name+"Variables",
		map[string]string{"ProjectName": "web-build"})
}

func deployAction() pipelinespec.Action {
	return action("Deploy", pipelinespec.CategoryDeploy, pipelinespec.ProviderDeploy, 1, "BuildArtifact", "", "",
		map[string]string{"ApplicationName": "web", "DeploymentGroupName": "#{BuildVariables.GROUP}"})
}

// webSpec is the example: Source -> Build -> Deploy, the deploy group from the
// build's variable GROUP.
func webSpec(name, mode string) pipelinespec.Pipeline {
	return pipelinespec.Pipeline{Name: name, PipelineType: "V2", ExecutionMode: mode, Stages: []pipelinespec.Stage{
		{Name: "Source", Actions: []pipelinespec.Action{sourceAction()}},
		{Name: "Build", Actions: []pipelinespec.Action{buildAction("Build", 1)}},
		{Name: "Deploy", Actions: []pipelinespec.Action{deployAction()}},
	}}
}

var group = map[string]string{"GROUP": "prod"}

type stateTx = state.Tx
