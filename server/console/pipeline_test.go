package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// instantProvider ends every run at once: a success with one output artifact per output name,
// or a failure while failing is set.
type instantProvider struct{ failing atomic.Bool }

func (p *instantProvider) Start(_ context.Context, run pipeline.ActionRun) (pipeline.Result, error) {
	if p.failing.Load() {
		return pipeline.Result{Done: true, Status: pub.PipelineFailed, ExternalID: "work-" + run.Action, Error: "the <work> failed"}, nil
	}
	var outs []pub.PipelineArtifact
	for _, n := range run.OutputNames {
		outs = append(outs, pub.PipelineArtifact{Name: n, SHA256: strings.Repeat("ab", 32), Size: 3, Format: "tar", Repository: "web", Commit: pipelineCommit})
	}
	return pipeline.Result{Done: true, Status: pub.PipelineSucceeded, ExternalID: "work-" + run.Action, Summary: "did " + run.Action,
		Outputs: outs, Variables: map[string]string{"CommitId": pipelineCommit}}, nil
}

func (p *instantProvider) Poll(context.Context, pipeline.ActionRun, string) (pipeline.Result, error) {
	return pipeline.Result{Done: true, Status: pub.PipelineSucceeded}, nil
}

func (p *instantProvider) Stop(context.Context, pipeline.ActionRun, string) error { return nil }

const pipelineCommit = "0123456789abcdef0123456789abcdef01234567"

// fixedHead answers every branch's head as pipelineCommit.
type fixedHead struct{}

func (fixedHead) ChangedPaths(context.Context, string, string, string, int) ([]string, bool, error) {
	return nil, true, nil
}

func (fixedHead) Resolve(context.Context, string, string) (string, error) { return pipelineCommit, nil }

// consolePipeline is a pipeline of Source (SlipwayRepo), Approve (Manual), Build (SlipwayBuild).
const consolePipeline = `pipeline:
  name: web
  executionMode: QUEUED
  variables:
    - name: STAGE
      defaultValue: test
  stages:
    - name: Source
      actions:
        - name: Checkout
          actionTypeId: {category: Source, owner: AWS, provider: SlipwayRepo, version: "1"}
          configuration: {RepositoryName: web, BranchName: main}
          outputArtifacts: [{name: Src}]
          namespace: SourceVariables
    - name: Approve
      actions:
        - name: Approval
          actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
          configuration: {CustomData: "look at <staging>"}
    - name: Build
      actions:
        - name: Compile
          actionTypeId: {category: Build, owner: AWS, provider: SlipwayBuild, version: "1"}
          configuration: {ProjectName: web-build}
          inputArtifacts: [{name: Src}]
`

// pipelineFormTo posts form (with b's CSRF token from page) to path and answers the status,
// the Location and the page.
func pipelineFormTo(t *testing.T, b *browser, base, csrf, path string, form url.Values) (int, string, string) {
	t.Helper()
	form.Set("csrf", csrf)
	resp, page := b.do("POST", base+path, form)
	return resp.StatusCode, resp.Header.Get("Location"), page
}

// awaitPipeline polls execution id of web through the API until ok accepts it.
func awaitPipeline(t *testing.T, cl *pub.Client, id string, ok func(e *pub.PipelineExecution) error) *pub.PipelineExecution {
	t.Helper()
	var e *pub.PipelineExecution
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		if e, err = cl.PipelineExecutionGet(context.Background(), "web", id, &pub.QueryOptions{Consistent: true}); err != nil {
			return err
		}
		return ok(e)
	})
	return e
}

// stageStatus is the status of stage in e.
func stageStatus(e *pub.PipelineExecution, stage string) string {
	for _, s := range e.Stages {
		if s.Name == stage {
			return s.Status
		}
	}
	return "?"
}

// TestPipelinePages drives the pipeline pages over HTTP on a real server (its providers
// replaced by ones that end at once): a definition with errors refused in the create form with
// its diagnostics, a pipeline created through it, started with Release change, its approval
// waiting on the page and in the live fragment, a transition disabled (a reason required) and
// the approved execution waiting for it, enabled, a failed stage retried through its form, the
// history, the execution's page, the definition's YAML and JSON views and an update, a stop with
// abandon, what a read-only user and an approver get, and delete.
func TestPipelinePages(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base, cl, ctx := c.URL(0), c.Client(0), context.Background()
	prov := &instantProvider{}
	m := c.Server(0).Service("pipeline").(*pipeline.Module)
	m.SetProvider("SlipwayRepo", prov)
	m.SetProvider("SlipwayBuild", prov)
	m.SetChanges(fixedHead{})
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	admin := newBrowser(t)
	if page := admin.signIn(base, "ana"); !strings.Contains(page, `href="/ui/pipelines"`) {
		t.Fatalf("the navigation lacks the pipelines: %s", page)
	}

	resp, page := admin.do("GET", base+"/ui/pipelines", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "No pipelines yet") || !strings.Contains(page, `id="create-form"`) {
		t.Fatalf("the empty list: %d %s", resp.StatusCode, page)
	}
	csrf := field(t, page)
	bad := strings.Replace(consolePipeline, "provider: Manual", "provider: Nope", 1)
	status, _, page := pipelineFormTo(t, admin, base, csrf, "/ui/pipelines", url.Values{"definition": {bad}})
	if status != http.StatusBadRequest || !regexp.MustCompile(`id="diagnostics"><li><code>pipeline.yml:\d+:\d+: [^<]*Nope`).MatchString(page) ||
		!strings.Contains(page, "provider: Nope") {
		t.Fatalf("a definition with an unknown provider: %d %s", status, page)
	}
	status, loc, page := pipelineFormTo(t, admin, base, csrf, "/ui/pipelines", url.Values{"definition": {consolePipeline}})
	if status != http.StatusSeeOther || loc != "/ui/pipelines/web" {
		t.Fatalf("create through the form: %d %q %s", status, loc, page)
	}
	resp, page = admin.do("GET", base+"/ui/pipelines/web", nil)
	for _, want := range []string{`id="latest-execution">none yet`, `id="start-form"`, "NAME=VALUE a line: STAGE=test)", `id="disable-Approve"`, `id="disable-Build"`, `data-stage="Source"`,
		`data-action="Compile"`, "SlipwayBuild · Build", `/ui/assets/pipeline.js`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("the new pipeline's page lacks %q (%d)", want, resp.StatusCode)
		}
	}

	// Release change: the execution waits for its approval, on the page and in the fragment
	// the script polls.
	status, loc, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/executions", url.Values{"variables": {"STAGE=prod"}})
	if status != http.StatusSeeOther || loc != "/ui/pipelines/web" {
		t.Fatalf("release change: %d %q %s", status, loc, page)
	}
	hist, err := cl.PipelineHistory(ctx, "web", &pub.QueryOptions{Consistent: true})
	if err != nil || len(hist.Executions) != 1 || hist.Executions[0].Trigger.Actor != "ana" || hist.Executions[0].Variables["STAGE"] != "prod" {
		t.Fatalf("the execution started by the form: %+v, %v", hist, err)
	}
	id := hist.Executions[0].ID
	e := awaitPipeline(t, cl, id, func(e *pub.PipelineExecution) error {
		if stageStatus(e, "Approve") != pub.PipelineInProgress {
			return fmt.Errorf("Approve is %q", stageStatus(e, "Approve"))
		}
		return nil
	})
	token := e.Stages[1].Actions[0].Approval.Token
	resp, body := admin.do("GET", base+"/ui/pipelines/web/state", nil)
	var st struct{ Stamp, HTML string }
	if err := json.Unmarshal([]byte(body), &st); resp.StatusCode != http.StatusOK || err != nil || st.Stamp == "" ||
		!strings.Contains(st.HTML, `id="approve-Approve-Approval"`) || !strings.Contains(st.HTML, `value="`+token+`"`) ||
		!strings.Contains(st.HTML, "look at &lt;staging&gt;") || !strings.Contains(st.HTML, `id="latest-execution" href="/ui/pipelines/web/executions/`+id+`"`) {
		t.Fatalf("the live fragment: %d %v %s", resp.StatusCode, err, body)
	}
	if resp, again := admin.do("GET", base+"/ui/pipelines/web/state", nil); resp.StatusCode != http.StatusOK || !strings.Contains(again, st.Stamp) {
		t.Errorf("the same state has the same stamp: %s", again)
	}

	// The transition into Build: disabling asks for a reason.
	status, _, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/transitions/Build/disable", url.Values{"reason": {" "}})
	if status != http.StatusBadRequest || !strings.Contains(page, `id="form-error">say why the transition into Build is disabled`) {
		t.Fatalf("disable without a reason: %d %s", status, page)
	}
	if status, loc, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/transitions/Build/disable", url.Values{"reason": {"freeze <friday>"}}); status != http.StatusSeeOther || loc != "/ui/pipelines/web" {
		t.Fatalf("disable: %d %q %s", status, loc, page)
	}
	if p, err := cl.PipelineGet(ctx, "web", &pub.QueryOptions{Consistent: true}); err != nil || p.Transitions["Build"].Reason != "freeze <friday>" || p.Transitions["Build"].By != "ana" {
		t.Fatalf("the transition after the form: %+v, %v", p, err)
	}

	// Approve with a comment: the execution then waits at the disabled transition.
	status, loc, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/approvals", url.Values{"execution": {id}, "stage": {"Approve"}, "action": {"Approval"},
		"token": {token}, "status": {"Approved"}, "comment": {"looks <good>"}})
	if status != http.StatusSeeOther || loc != "/ui/pipelines/web" {
		t.Fatalf("approve: %d %q %s", status, loc, page)
	}
	awaitPipeline(t, cl, id, func(e *pub.PipelineExecution) error {
		if e.WaitingFor != "Build" {
			return fmt.Errorf("waiting for %q (%s)", e.WaitingFor, e.Status)
		}
		return nil
	})
	resp, page = admin.do("GET", base+"/ui/pipelines/web", nil)
	for _, want := range []string{`Transition disabled: <q class="reason">freeze &lt;friday&gt;</q>`, `id="enable-Build"`, `Approved by ana: <q>looks &lt;good&gt;</q>`,
		`Waiting to enter: <a href="/ui/pipelines/web/executions/` + id + `">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page with the transition disabled lacks %q", want)
		}
	}

	// Enabled, Build runs and fails; its retry form runs the failed action again.
	prov.failing.Store(true)
	if status, _, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/transitions/Build/enable", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("enable: %d %s", status, page)
	}
	awaitPipeline(t, cl, id, func(e *pub.PipelineExecution) error {
		if e.Status != pub.PipelineFailed {
			return fmt.Errorf("status %s", e.Status)
		}
		return nil
	})
	resp, page = admin.do("GET", base+"/ui/pipelines/web", nil)
	if !strings.Contains(page, `id="retry-Build"`) || !strings.Contains(page, "the &lt;work&gt; failed") {
		t.Fatalf("the failed stage's page: %s", page)
	}
	prov.failing.Store(false)
	status, loc, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/retry", url.Values{"execution": {id}, "stage": {"Build"}, "retry_mode": {"FAILED_ACTIONS"}, "back": {"execution"}})
	if status != http.StatusSeeOther || loc != "/ui/pipelines/web/executions/"+id {
		t.Fatalf("retry: %d %q %s", status, loc, page)
	}
	awaitPipeline(t, cl, id, func(e *pub.PipelineExecution) error {
		if e.Status != pub.PipelineSucceeded {
			return fmt.Errorf("status %s", e.Status)
		}
		return nil
	})

	// The history and the execution's page.
	resp, page = admin.do("GET", base+"/ui/pipelines/web/executions", nil)
	for _, want := range []string{`data-execution="` + id + `"`, `<span class="badge succeeded">Succeeded</span>`, "manual by ana", `title="Approve: Succeeded"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("the history lacks %q (%d)", want, resp.StatusCode)
		}
	}
	resp, page = admin.do("GET", base+"/ui/pipelines/web/executions/"+id, nil)
	for _, want := range []string{`data-status="Succeeded"`, `<code>STAGE</code></td><td><code>prod</code>`, "Approved by ana", "attempt 2",
		`href="/ui/repos/web/commit/` + pipelineCommit + `/"`, "did Compile", "version 1"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("the execution's page lacks %q (%d)", want, resp.StatusCode)
		}
	}
	if resp, _ := admin.do("GET", base+"/ui/pipelines/web/executions/nope", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown execution: %d", resp.StatusCode)
	}

	// Roll back Build: a new execution of that stage with this one's artifacts.
	if status, _, page := pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/rollback", url.Values{"stage": {"Build"}}); status != http.StatusSeeOther {
		t.Fatalf("roll back: %d %s", status, page)
	}
	if hist, err := cl.PipelineHistory(ctx, "web", &pub.QueryOptions{Consistent: true}); err != nil || len(hist.Executions) != 2 ||
		hist.Executions[0].Trigger.Type != pub.TriggerRollback || hist.Executions[0].RollbackOf != id {
		t.Fatalf("the rollback started by the form: %+v, %v", hist, err)
	}

	// The definition: YAML, JSON, an update refused with its diagnostics, then saved.
	resp, page = admin.do("GET", base+"/ui/pipelines/web/definition", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "pipeline:\n  name: web") || !strings.Contains(page, `id="update-form"`) || !strings.Contains(page, "becomes version 2") {
		t.Fatalf("the definition's page: %d %s", resp.StatusCode, page)
	}
	if resp, page := admin.do("GET", base+"/ui/pipelines/web/definition?format=json", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "&#34;pipeline&#34;: {") {
		t.Errorf("the JSON view: %d %s", resp.StatusCode, page)
	}
	status, _, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/definition", url.Values{"definition": {"pipeline:\n  name: web\n  stages: []\n"}})
	if status != http.StatusBadRequest || !strings.Contains(page, `id="diagnostics"`) || !strings.Contains(page, `<details id="edit" open>`) {
		t.Fatalf("an update without stages: %d %s", status, page)
	}
	v2 := strings.Replace(consolePipeline, "defaultValue: test", "defaultValue: staging", 1)
	if status, loc, page = pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/definition", url.Values{"definition": {v2}}); status != http.StatusSeeOther || loc != "/ui/pipelines/web" {
		t.Fatalf("update: %d %q %s", status, loc, page)
	}
	if resp, page := admin.do("GET", base+"/ui/pipelines/web/definition?version=1", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "defaultValue: test") ||
		!strings.Contains(page, "the current one is 2") {
		t.Errorf("version 1's definition: %d %s", resp.StatusCode, page)
	}

	// A second execution waiting for its approval is stopped with abandon.
	e2, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	awaitPipeline(t, cl, e2.ID, func(e *pub.PipelineExecution) error {
		if stageStatus(e, "Approve") != pub.PipelineInProgress {
			return fmt.Errorf("Approve is %q", stageStatus(e, "Approve"))
		}
		return nil
	})
	resp, page = admin.do("GET", base+"/ui/pipelines/web", nil)
	if !strings.Contains(page, `id="stop-`+e2.ID+`"`) {
		t.Fatalf("no stop form for the running execution: %s", page)
	}

	// A reader sees the page without forms but the approval's, and is refused a forged start;
	// an approver answers.
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"rita","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/CodePipelineReadOnlyAccess/attach", `{"user":"rita"}`)
	reader := newBrowser(t)
	reader.signIn(base, "rita")
	resp, page = reader.do("GET", base+"/ui/pipelines/web", nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, `id="start-form"`) || strings.Contains(page, `id="disable-Build"`) || strings.Contains(page, "stop-form") ||
		!strings.Contains(page, `id="approve-Approve-Approval"`) || !strings.Contains(page, "Your policies do not allow codepipeline:PutApprovalResult") {
		t.Fatalf("the reader's page: %d %s", resp.StatusCode, page)
	}
	rcsrf := field(t, page)
	if status, _, page := pipelineFormTo(t, reader, base, rcsrf, "/ui/pipelines/web/executions", url.Values{}); status != http.StatusForbidden || !strings.Contains(page, "codepipeline:StartPipelineExecution") {
		t.Errorf("a reader's forged start: %d %s", status, page)
	}
	if status, _, page := pipelineFormTo(t, reader, base, rcsrf, "/ui/pipelines/web/approvals", url.Values{"execution": {e2.ID}, "stage": {"Approve"}, "action": {"Approval"}, "status": {"Approved"}}); status != http.StatusForbidden || !strings.Contains(page, "codepipeline:PutApprovalResult") {
		t.Errorf("a reader's approval: %d %s", status, page)
	}
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"abe","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/CodePipelineApproverAccess/attach", `{"user":"abe"}`)
	approver := newBrowser(t)
	approver.signIn(base, "abe")
	_, page = approver.do("GET", base+"/ui/pipelines/web", nil)
	if strings.Contains(page, "Your policies do not allow") || strings.Contains(page, `id="start-form"`) {
		t.Errorf("the approver's page: %s", page)
	}
	if status, _, page := pipelineFormTo(t, approver, base, field(t, page), "/ui/pipelines/web/approvals", url.Values{"execution": {e2.ID}, "stage": {"Approve"}, "action": {"Approval"},
		"status": {"Rejected"}, "comment": {"not now"}, "back": {"execution"}}); status != http.StatusSeeOther {
		t.Fatalf("the approver's rejection: %d %s", status, page)
	}
	e3, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	awaitPipeline(t, cl, e3.ID, func(e *pub.PipelineExecution) error {
		if stageStatus(e, "Approve") != pub.PipelineInProgress {
			return fmt.Errorf("Approve is %q", stageStatus(e, "Approve"))
		}
		return nil
	})
	if status, loc, page := pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/executions/"+e3.ID+"/stop", url.Values{"abandon": {"1"}}); status != http.StatusSeeOther || loc != "/ui/pipelines/web" {
		t.Fatalf("stop with abandon: %d %q %s", status, loc, page)
	}
	awaitPipeline(t, cl, e3.ID, func(e *pub.PipelineExecution) error {
		if e.Status != pub.PipelineStopped {
			return fmt.Errorf("status %s", e.Status)
		}
		return nil
	})

	// The list shows the latest; delete asks for the name.
	resp, page = admin.do("GET", base+"/ui/pipelines", nil)
	if !strings.Contains(page, `data-pipeline="web"`) || !strings.Contains(page, `<span class="badge stopped">Stopped</span>`) {
		t.Errorf("the list: %s", page)
	}
	if status, _, page := pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/delete", url.Values{"confirm": {"wbe"}}); status != http.StatusBadRequest || !strings.Contains(page, `id="delete-error"`) {
		t.Errorf("delete with a wrong name: %d %s", status, page)
	}
	if status, loc, page := pipelineFormTo(t, admin, base, csrf, "/ui/pipelines/web/delete", url.Values{"confirm": {"web"}}); status != http.StatusSeeOther || loc != "/ui/pipelines" {
		t.Fatalf("delete: %d %q %s", status, loc, page)
	}
	if resp, _ := admin.do("GET", base+"/ui/pipelines/web", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the deleted pipeline's page: %d", resp.StatusCode)
	}
}
