package console

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// renderPage renders page name's template with data as the console does.
func renderPage(t *testing.T, name string, data any) string {
	t.Helper()
	m := &Module{pages: parsePages()}
	w := httptest.NewRecorder()
	if err := m.render(w, 200, name, page{Title: "T", User: "ana", CSRF: "token", Data: data}); err != nil {
		t.Fatal(err)
	}
	return w.Body.String()
}

// testSpec is a pipeline of three stages: Source; Build with two actions of runOrder 1 and a
// test of runOrder 2; Release with a manual approval then a deployment.
func testSpec() *pipelinespec.Pipeline {
	act := func(name, cat, prov string, order int) pipelinespec.Action {
		return pipelinespec.Action{Name: name, RunOrder: order, ActionTypeID: pipelinespec.ActionType{Category: cat, Provider: prov}}
	}
	return &pipelinespec.Pipeline{Name: "web", ExecutionMode: pub.ModeQueued, Stages: []pipelinespec.Stage{
		{Name: "Source", Actions: []pipelinespec.Action{act("Checkout", "Source", pipelinespec.ProviderRepo, 1)}},
		{Name: "Build", Actions: []pipelinespec.Action{act("Compile", "Build", pipelinespec.ProviderBuild, 1), act("Lint", "Build", pipelinespec.ProviderBuild, 1),
			act("UnitTests", "Test", pipelinespec.ProviderBuild, 2)}, OnFailure: &pipelinespec.Condition{Result: pipelinespec.ResultRetry}},
		{Name: "Release", Actions: []pipelinespec.Action{act("Approve", "Approval", pipelinespec.ProviderManual, 1), act("Deploy", "Deploy", pipelinespec.ProviderDeploy, 2)}},
	}}
}

// testExecutions are, newest first: C, which waits to enter Build; B, which
// failed in Build at its second attempt (Lint failed, UnitTests never started); A, the oldest,
// waiting for an approval in Release.
func testExecutions(t0 time.Time) []pub.PipelineExecution {
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	src := func(commit string) pub.StageExecution {
		return pub.StageExecution{Name: "Source", Status: pub.PipelineSucceeded, Attempt: 1, Actions: []pub.ActionExecution{{Name: "Checkout", Provider: pipelinespec.ProviderRepo, Category: "Source", RunOrder: 1,
			Status: pub.PipelineSucceeded, Outputs: []pub.PipelineArtifact{{Name: "Src", SHA256: "ab", Format: "tar", Repository: "web", Commit: commit}}}}}
	}
	c := pub.PipelineExecution{ID: "cccccccc-0000-4000-8000-000000000003", Pipeline: "web", Status: pub.PipelineInProgress, StartTime: t0.Add(3 * time.Minute),
		WaitingFor: "Build", WaitReason: "the transition into Build is disabled", Trigger: pub.PipelineTrigger{Type: pub.TriggerPush, Repository: "web", Ref: "refs/heads/main", Commit: "3333333333333333"},
		Stages: []pub.StageExecution{src("3333333333333333"), {Name: "Build"}, {Name: "Release"}}}
	b := pub.PipelineExecution{ID: "bbbbbbbb-0000-4000-8000-000000000002", Pipeline: "web", Status: pub.PipelineFailed, StartTime: t0.Add(2 * time.Minute), EndTime: at(150 * time.Second),
		StatusSummary: "stage Build failed", Trigger: pub.PipelineTrigger{Type: pub.TriggerManual, Actor: "ana"},
		Stages: []pub.StageExecution{src("2222222222222222"), {Name: "Build", Status: pub.PipelineFailed, Attempt: 2, Actions: []pub.ActionExecution{
			{Name: "Compile", Provider: pipelinespec.ProviderBuild, RunOrder: 1, Status: pub.PipelineSucceeded, ExternalID: "web-build:1d6a4a4e-7d57-4b8e-9a43-0c6d1b1f2a11", Summary: "build <b>web-build</b>"},
			{Name: "Lint", Provider: pipelinespec.ProviderBuild, RunOrder: 1, Status: pub.PipelineFailed, Error: "lint <script>x</script> failed"},
			{Name: "UnitTests", Provider: pipelinespec.ProviderBuild, RunOrder: 2}}}, {Name: "Release"}}}
	a := pub.PipelineExecution{ID: "aaaaaaaa-0000-4000-8000-000000000001", Pipeline: "web", Status: pub.PipelineInProgress, StartTime: t0,
		Trigger: pub.PipelineTrigger{Type: pub.TriggerPush, Repository: "web", Ref: "refs/heads/main", Commit: "1111111111111111"},
		Stages: []pub.StageExecution{src("1111111111111111"), {Name: "Build", Status: pub.PipelineSucceeded, Attempt: 1}, {Name: "Release", Status: pub.PipelineInProgress, Attempt: 1, Actions: []pub.ActionExecution{
			{Name: "Approve", Provider: pipelinespec.ProviderManual, RunOrder: 1, Status: pub.PipelineInProgress, Approval: &pub.ApprovalState{Token: "tok123", Expires: t0.Add(7 * 24 * time.Hour), CustomData: "check <the> staging site"}},
			{Name: "Deploy", Provider: pipelinespec.ProviderDeploy, RunOrder: 2}}}}}
	return []pub.PipelineExecution{c, b, a}
}

// TestPipelineDiagram renders a pipeline's page from its definition and three executions:
// stages top to bottom with each stage's latest run (the newest execution that reached it),
// actions of one runOrder side by side, the transitions with their forms (a disabled one with
// its reason and Enable), the retry form on the failed stage, the approval form on the waiting
// approval (with the note for a user who may not answer), the work's links, a waiting
// execution, and every text from the service escaped.
func TestPipelineDiagram(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	p := pub.Pipeline{Name: "web", Version: 3, ExecutionMode: pub.ModeQueued, Transitions: map[string]pub.TransitionState{
		"Release": {Reason: "freeze <until> Monday", By: "bob", Time: t0}}}
	v := pipelineViewOf(p, testSpec(), testExecutions(t0))
	if len(v.Stages) != 3 || v.Stages[0].Transition != nil || v.Stages[1].Transition == nil || v.Stages[1].Transition.Disabled || !v.Stages[2].Transition.Disabled {
		t.Fatalf("stages and transitions: %+v", v.Stages)
	}
	if v.Stages[0].Execution != "cccccccc-0000-4000-8000-000000000003" || v.Stages[1].Execution != "bbbbbbbb-0000-4000-8000-000000000002" ||
		v.Stages[2].Execution != "aaaaaaaa-0000-4000-8000-000000000001" {
		t.Errorf("each stage shows its newest run: %s %s %s", v.Stages[0].Execution, v.Stages[1].Execution, v.Stages[2].Execution)
	}
	if g := v.Stages[1].Groups; len(g) != 2 || len(g[0].Actions) != 2 || g[0].Actions[1].Name != "Lint" || g[1].RunOrder != 2 || g[1].Actions[0].Name != "UnitTests" {
		t.Errorf("Build's groups by runOrder: %+v", g)
	}
	if !v.Stages[1].CanRetry || v.Stages[2].CanRetry || v.Stages[2].CanRoll || v.Stages[0].CanRoll || !v.Stages[1].CanRoll {
		t.Errorf("retry on the failed stage only, rollback on later stages not running: %+v", v.Stages)
	}
	if len(v.Running) != 2 || v.Running[0].ID[0] != 'c' || len(v.Stages[1].Waiting) != 1 || v.Latest == nil || v.Latest.ID[0] != 'c' {
		t.Errorf("running %+v, waiting %+v, latest %+v", v.Running, v.Stages[1].Waiting, v.Latest)
	}
	v.Can = pipelineCan{Start: true, Stop: true, Retry: true, Rollback: true, Enable: true, Disable: true}
	html := renderPage(t, "pipeline", v)
	for _, want := range []string{
		`id="start-form"`, `id="release"`, `/ui/assets/pipeline.js`, `data-name="web"`,
		`id="disable-Build"`, `action="/ui/pipelines/web/transitions/Build/disable"`, `name="reason"`, `required`,
		`Transition disabled: <q class="reason">freeze &lt;until&gt; Monday</q>`, `id="enable-Release"`,
		`id="retry-Build"`, `value="FAILED_ACTIONS"`, `value="ALL_ACTIONS"`,
		`id="approve-Release-Approve"`, `name="token" value="tok123"`, `value="Approved"`, `value="Rejected"`, `check &lt;the&gt; staging site`,
		"Your policies do not allow codepipeline:PutApprovalResult",
		`href="/ui/builds/web-build:1d6a4a4e-7d57-4b8e-9a43-0c6d1b1f2a11"`, `build &lt;b&gt;web-build&lt;/b&gt;`, `lint &lt;script&gt;x&lt;/script&gt; failed`,
		`href="/ui/repos/web/commit/3333333333333333/"`, `Waiting to enter: <a href="/ui/pipelines/web/executions/cccccccc-0000-4000-8000-000000000003">`,
		`id="stop-aaaaaaaa-0000-4000-8000-000000000001"`, `name="abandon"`, `on failure: RETRY`, `attempt 2`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>x") || strings.Contains(html, "<b>web-build") {
		t.Error("text from the service is not escaped")
	}
	// Stages top to bottom, transitions between them.
	order := regexp.MustCompile(`data-stage="(Source|Build|Release)"`).FindAllStringSubmatch(html, -1)
	var seq []string
	for _, m := range order {
		seq = append(seq, m[1])
	}
	if strings.Join(seq, ",") != "Source,Build,Build,Release,Release" {
		t.Errorf("stages and transitions in order: %v", seq)
	}
	// A user who may do nothing sees no forms but the approval's, which says it would be refused.
	v.Can = pipelineCan{}
	html = renderPage(t, "pipeline", v)
	for _, absent := range []string{`id="start-form"`, `id="disable-Build"`, `id="enable-Release"`, `id="retry-Build"`, `class="stop-form`, `rollback-form`} {
		if strings.Contains(html, absent) {
			t.Errorf("a user without permissions sees %q", absent)
		}
	}
	if !strings.Contains(html, `id="approve-Release-Approve"`) {
		t.Error("the approval form is shown to everyone who sees the page")
	}
}

// TestPipelineDiagramNeverRun draws a pipeline that never ran: every stage and action Not run,
// no latest execution, no retry or stop form.
func TestPipelineDiagramNeverRun(t *testing.T) {
	v := pipelineViewOf(pub.Pipeline{Name: "web", Version: 1}, testSpec(), nil)
	v.Can = pipelineCan{Start: true, Stop: true, Retry: true, Rollback: true, Approve: true}
	html := renderPage(t, "pipeline", v)
	if !strings.Contains(html, `<span class="muted" id="latest-execution">none yet</span>`) || strings.Count(html, "Not run") != 9 ||
		strings.Contains(html, "retry-form") || strings.Contains(html, "rollback-form") || strings.Contains(html, "stop-form") {
		t.Errorf("a pipeline that never ran: %s", html)
	}
}

// TestExecutionPageRendering renders an execution's page: its stages' actions in runOrder with
// their work links, the errors, the variables, the artifacts with their commits, and the
// retry form on the failed stage only when allowed.
func TestExecutionPageRendering(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	e := testExecutions(t0)[1]
	e.Variables = map[string]string{"STAGE": "prod", "A": "<1>"}
	e.SourceRevisions = []pub.SourceRevision{{Action: "Checkout", Repository: "web", Branch: "main", Commit: "2222222222222222"}}
	d := executionDataOf("web", e, t0.Add(time.Hour))
	if d.Duration != "30s" || len(d.Errors) != 1 || d.Errors[0] != "Build / Lint: lint <script>x</script> failed" || len(d.Artifacts) != 1 || d.Variables[0].Name != "A" {
		t.Fatalf("the execution's data: %+v", d)
	}
	d.CanRetry = true
	html := renderPage(t, "pipeline_execution", d)
	for _, want := range []string{`data-status="Failed"`, `manual by ana`, `stage Build failed`, `<code>A</code></td><td><code>&lt;1&gt;</code>`,
		`href="/ui/builds/web-build:1d6a4a4e-7d57-4b8e-9a43-0c6d1b1f2a11"`, `href="/ui/repos/web/commit/2222222222222222/"`, `class="retry-form inline"`,
		`name="back" value="execution"`, `/ui/pipelines/web/definition?version=0`} {
		if !strings.Contains(html, want) {
			t.Errorf("the execution's page lacks %q", want)
		}
	}
	if strings.Count(html, `class="retry-form`) != 1 || strings.Contains(html, "stop-form") {
		t.Error("one retry form (the failed stage) and no stop form for an ended execution")
	}
}

// TestHistoryRows: a history row's trigger in words, its duration and its stages as dots.
func TestHistoryRows(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	execs := testExecutions(t0)
	row := executionRowOf("web", execs[0], t0.Add(4*time.Minute))
	if row.Trigger != "push web main @ 333333333333" || row.Duration != "1m0s" || len(row.Dots) != 3 || row.Dots[1].Status != "NotRun" || row.Dots[0].Status != pub.PipelineSucceeded {
		t.Fatalf("row: %+v", row)
	}
	html := renderPage(t, "pipeline_executions", historyData{Name: "web", Executions: []executionRow{row, executionRowOf("web", execs[1], t0)}, Next: "/ui/pipelines/web/executions?next=x"})
	for _, want := range []string{`<span class="dot succeeded" title="Source: Succeeded"`, `<span class="dot notrun" title="Build: NotRun"`, `<span class="dot failed" title="Build: Failed"`,
		`href="/ui/pipelines/web/executions/bbbbbbbb-0000-4000-8000-000000000002"`, "manual by ana", `rel="next"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the history lacks %q", want)
		}
	}
}

// TestDefinitionText: the YAML view keeps the definition's key order and its strings as
// strings, and both views parse back to the same definition.
func TestDefinitionText(t *testing.T) {
	spec := testSpec()
	spec.Stages[0].Actions[0].Configuration = map[string]string{"RepositoryName": "web", "BranchName": "main"}
	spec.Stages[0].Actions[0].OutputArtifacts = []pipelinespec.ArtifactRef{{Name: "Src"}}
	spec.Variables = []pipelinespec.Variable{{Name: "N", DefaultValue: "1"}, {Name: "YES", DefaultValue: "true"}}
	y, err := definitionText(spec, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(y, "pipeline:\n  name: web\n") || !strings.Contains(y, `defaultValue: "1"`) || !strings.Contains(y, `defaultValue: "true"`) ||
		strings.Index(y, "stages:") < strings.Index(y, "variables:") || !strings.Contains(y, "runOrder: 2") {
		t.Errorf("the YAML view:\n%s", y)
	}
	j, err := definitionText(spec, "json")
	if err != nil || !strings.HasPrefix(j, "{\n  \"pipeline\": {\n    \"name\": \"web\"") {
		t.Fatalf("the JSON view: %v\n%s", err, j)
	}
	if _, err := jsonToYAML([]byte(`{"a": [1, 2.5, null, false, {"b": "x"}]}`)); err != nil {
		t.Error(err)
	}
	if _, err := jsonToYAML([]byte(`{"a": [1,`)); err == nil {
		t.Error("a cut document is an error")
	}
}

// TestDiagnosticsOf splits the service's refusal into its first line and the diagnostics.
func TestDiagnosticsOf(t *testing.T) {
	head, diags := diagnosticsOf(errorString("the pipeline definition is not valid:\npipeline.yml:3:5: unknown provider X\npipeline.yml:9:1: no stages\n"))
	if head != "the pipeline definition is not valid:" || len(diags) != 2 || diags[1] != "pipeline.yml:9:1: no stages" {
		t.Errorf("%q %q", head, diags)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// FuzzJSONToYAML: any valid JSON document becomes YAML that decodes to the same value.
func FuzzJSONToYAML(f *testing.F) {
	for _, s := range []string{`{"pipeline":{"name":"web","stages":[{"name":"S","actions":[]}]}}`, `[1, 2.5, -3e2, null, true, "x: y", "1", ""]`,
		`{"a":{"b":{"c":["#{v.x}", "- y", "'q'"]}}}`, `"just a string"`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		out, err := jsonToYAML([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		var want, got any
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Skip()
		}
		if err := yaml.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%q gave YAML that does not decode: %v\n%s", doc, err, out)
		}
		// YAML decodes numbers as int or float and maps as map[string]any: compare as JSON.
		wb, _ := json.Marshal(want)
		gb, err := json.Marshal(got)
		if err != nil || string(wb) != string(gb) {
			t.Fatalf("%q came back as %s (%v)\n%s", doc, gb, err, out)
		}
	})
}
