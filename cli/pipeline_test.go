package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/pkg/api"
)

// pipelineAPI is a server that answers the pipeline routes as the service would, from fixed
// data, and records each request's method, path and body. Its watch sends the messages in
// watch, then closes normally.
type pipelineAPI struct {
	srv *httptest.Server

	mu    sync.Mutex
	calls []string // "METHOD PATH BODY"
	watch []api.PipelineWatchMessage
	hold  bool // the watch stays open after its messages, until the client goes
}

const execID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"

var (
	pipeT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pipeT1 = pipeT0.Add(90 * time.Second)

	fakePipeline = api.Pipeline{
		Name: "web", Version: 2, ExecutionMode: api.ModeSuperseded, Webhook: true, CreatedBy: "alice",
		Definition: json.RawMessage(`{"name":"web","variables":[{"name":"STAGE","defaultValue":"test"}],"stages":[
			{"name":"Source","actions":[{"name":"Source","actionTypeId":{"category":"Source","provider":"SlipwayRepo"},"runOrder":1,
			  "configuration":{"RepositoryName":"web","BranchName":"main"},"outputArtifacts":[{"name":"SourceArtifact"}],"namespace":"SourceVariables"}]},
			{"name":"Build","actions":[{"name":"Build","actionTypeId":{"category":"Build","provider":"SlipwayBuild"},"runOrder":1,
			  "inputArtifacts":[{"name":"SourceArtifact"}],"outputArtifacts":[{"name":"BuildArtifact"}]}]},
			{"name":"Deploy","actions":[{"name":"Deploy","actionTypeId":{"category":"Deploy","provider":"SlipwayDeploy"},"runOrder":1,
			  "inputArtifacts":[{"name":"BuildArtifact"}]}]}]}`),
		Transitions: map[string]api.TransitionState{"Deploy": {Reason: "release freeze", By: "bob", Time: pipeT0}},
		CreateTime:  pipeT0, ModifyTime: pipeT1,
	}
)

// fakeExecution is an execution of fakePipeline: Source succeeded, Build in the given status
// (with its error when Failed), Deploy not reached; status is the execution's.
func fakeExecution(id, status, build string) api.PipelineExecution {
	e := api.PipelineExecution{
		ID: id, Pipeline: "web", Version: 2, ExecutionMode: api.ModeSuperseded, Status: status,
		Trigger:         api.PipelineTrigger{Type: api.TriggerPush, Actor: "alice", Repository: "web", Ref: "refs/heads/main", Commit: "1a2b3c4d5e6f7a8b9c0d"},
		Variables:       map[string]string{"STAGE": "prod"},
		SourceRevisions: []api.SourceRevision{{Action: "Source", Repository: "web", Branch: "main", Commit: "1a2b3c4d5e6f7a8b9c0d"}},
		StartTime:       pipeT0,
		Stages: []api.StageExecution{
			{Name: "Source", Status: api.PipelineSucceeded, Attempt: 1, Actions: []api.ActionExecution{{Name: "Source", Category: "Source", Provider: "SlipwayRepo",
				RunOrder: 1, Status: api.PipelineSucceeded, Attempt: 1, Summary: "commit 1a2b3c4", StartTime: &pipeT0, EndTime: &pipeT1,
				Variables: map[string]string{"CommitId": "1a2b3c4d5e6f7a8b9c0d", "BranchName": "main"}}}},
			{Name: "Build", Status: build, Attempt: 1, Actions: []api.ActionExecution{{Name: "Build", Category: "Build", Provider: "SlipwayBuild",
				RunOrder: 1, Status: build, Attempt: 1, ExternalID: "web-build:0b7c5a52"}}},
			{Name: "Deploy", Actions: []api.ActionExecution{{Name: "Deploy", Category: "Deploy", Provider: "SlipwayDeploy", RunOrder: 1}}},
		},
	}
	if build == api.PipelineFailed {
		e.Stages[1].Actions[0].Error = "build ended FAILED in phase BUILD"
	}
	if executionEnded(status) {
		e.EndTime = &pipeT1
	}
	return e
}

func newPipelineAPI(t *testing.T) *pipelineAPI {
	t.Helper()
	f := &pipelineAPI{}
	mux := http.NewServeMux()
	answerPipeline := func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, fakePipeline) }
	mux.HandleFunc("POST /v1/pipelines", func(w http.ResponseWriter, r *http.Request) {
		var req api.PipelineRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		if strings.Contains(req.Definition, "bogus") {
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, req.File+":3:7: unknown provider \"Bogus\"\n"+req.File+":9:1: artifact \"X\" is produced by no action")
			return
		}
		p := fakePipeline
		p.Version, p.Warnings = 1, []string{req.File + ":2:3: warning: roleArn means nothing here"}
		writeJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("GET /v1/pipelines", func(w http.ResponseWriter, r *http.Request) {
		s := api.PipelineSummary{Name: "web", Version: 2, ExecutionMode: api.ModeSuperseded, LatestStatus: api.PipelineSucceeded, LatestExecution: execID, ModifyTime: pipeT1}
		if r.URL.Query().Get("next") == "" {
			writeJSON(w, http.StatusOK, api.PipelineList{Pipelines: []api.PipelineSummary{s}, Next: "p2"})
			return
		}
		s.Name, s.LatestStatus, s.LatestExecution = "api", "", ""
		writeJSON(w, http.StatusOK, api.PipelineList{Pipelines: []api.PipelineSummary{s}})
	})
	mux.HandleFunc("GET /v1/pipelines/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "web" {
			writeError(w, http.StatusNotFound, api.CodeNotFound, `pipeline "`+r.PathValue("name")+`" not found`)
			return
		}
		answerPipeline(w, r)
	})
	mux.HandleFunc("PUT /v1/pipelines/{name}", func(w http.ResponseWriter, r *http.Request) {
		var req api.PipelineRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		p := fakePipeline
		p.Version = 3
		writeJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("DELETE /v1/pipelines/{name}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /v1/pipelines/{name}/executions", func(w http.ResponseWriter, r *http.Request) {
		var req api.PipelineStartRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		writeJSON(w, http.StatusOK, fakeExecution(execID, api.PipelineInProgress, ""))
	})
	mux.HandleFunc("GET /v1/pipelines/{name}/executions", func(w http.ResponseWriter, r *http.Request) {
		older := fakeExecution("older-execution", api.PipelineFailed, api.PipelineFailed)
		if r.URL.Query().Get("next") == "" {
			writeJSON(w, http.StatusOK, api.PipelineExecutionList{Executions: []api.PipelineExecution{fakeExecution(execID, api.PipelineInProgress, api.PipelineInProgress)}, Next: "e2"})
			return
		}
		writeJSON(w, http.StatusOK, api.PipelineExecutionList{Executions: []api.PipelineExecution{older}})
	})
	mux.HandleFunc("GET /v1/pipelines/{name}/executions/{id}", func(w http.ResponseWriter, r *http.Request) {
		e := fakeExecution(r.PathValue("id"), api.PipelineFailed, api.PipelineFailed)
		writeJSON(w, http.StatusOK, e)
	})
	mux.HandleFunc("POST /v1/pipelines/{name}/executions/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		var req api.PipelineStopRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		status := api.PipelineStopping
		if req.Abandon {
			status = api.PipelineStopped
		}
		writeJSON(w, http.StatusOK, fakeExecution(r.PathValue("id"), status, api.PipelineInProgress))
	})
	mux.HandleFunc("POST /v1/pipelines/{name}/retry", func(w http.ResponseWriter, r *http.Request) {
		var req api.PipelineRetryRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		writeJSON(w, http.StatusOK, fakeExecution(req.Execution, api.PipelineInProgress, api.PipelineInProgress))
	})
	mux.HandleFunc("POST /v1/pipelines/{name}/rollback", func(w http.ResponseWriter, r *http.Request) {
		var req api.PipelineRollbackRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		e := fakeExecution("rollback-execution", api.PipelineInProgress, "")
		e.RollbackOf = execID
		writeJSON(w, http.StatusOK, e)
	})
	for _, verb := range []string{"enable", "disable"} {
		mux.HandleFunc("POST /v1/pipelines/{name}/transitions/{stage}/"+verb, func(w http.ResponseWriter, r *http.Request) {
			var req api.TransitionRequest
			if !decodeStrict(w, r, &req) {
				return
			}
			answerPipeline(w, r)
		})
	}
	mux.HandleFunc("POST /v1/pipelines/{name}/approvals", func(w http.ResponseWriter, r *http.Request) {
		var req api.ApprovalResultRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		if req.Comment == "forbidden" {
			writeError(w, http.StatusForbidden, api.CodeForbidden, "codepipeline:PutApprovalResult on pipeline/web is not allowed for user/carol")
			return
		}
		writeJSON(w, http.StatusOK, fakeExecution(req.Execution, api.PipelineInProgress, api.PipelineSucceeded))
	})
	mux.HandleFunc("PUT /v1/pipelines/{name}/webhook", func(w http.ResponseWriter, r *http.Request) {
		var req api.PipelineWebhookRequest
		if !decodeStrict(w, r, &req) {
			return
		}
		answerPipeline(w, r)
	})
	mux.HandleFunc("GET /v1/pipelines/{name}/watch", func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = ws.Close() }()
		f.mu.Lock()
		msgs, hold := f.watch, f.hold
		f.mu.Unlock()
		for _, m := range msgs {
			if ws.WriteJSON(m) != nil {
				return
			}
		}
		if hold {
			_, _, _ = ws.ReadMessage() // until the client goes
			return
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "end"), time.Now().Add(time.Second))
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, strings.TrimSpace(r.Method+" "+r.URL.EscapedPath()+" "+strings.TrimSpace(string(body))))
		f.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, "missing or unknown token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *pipelineAPI) run(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, context.Background(), nil, append([]string{"--addr", f.srv.URL, "--token", testToken}, args...)...)
}

// takeCalls answers the requests since the last call, but those for the cluster's servers (a
// watch asks for them, to go on elsewhere should its server go).
func (f *pipelineAPI) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c != "GET /v1/status/servers" {
			out = append(out, c)
		}
	}
	f.calls = nil
	return out
}

// TestPipelineCommands runs every pipeline and approval verb against the fake API: each sends
// the request its flags say (method, path and body) and prints what the answer says.
func TestPipelineCommands(t *testing.T) {
	f := newPipelineAPI(t)
	def := writeFile(t, "pipeline.yml", "pipeline:\n  name: web\n")
	defJSON, _ := json.Marshal(api.PipelineRequest{Definition: "pipeline:\n  name: web\n", File: def})
	for _, tc := range []struct {
		name  string
		args  []string
		calls []string
		out   []string // substrings of stdout
	}{
		{"create", []string{"pipeline", "create", "--file", def},
			[]string{"POST /v1/pipelines " + string(defJSON)}, []string{"Created pipeline web (version 1)"}},
		{"update", []string{"pipeline", "update", "web", "-f", def},
			[]string{"PUT /v1/pipelines/web " + string(defJSON)}, []string{"Updated pipeline web (version 3)"}},
		{"get", []string{"pipeline", "get", "web"}, []string{"GET /v1/pipelines/web"},
			[]string{"Execution mode  SUPERSEDED", "Variables       STAGE=test", "Source   Source   Source     SlipwayRepo     1           -                SourceArtifact   SourceVariables",
				"Build    Build    Build      SlipwayBuild    1           SourceArtifact   BuildArtifact    -", "Transition into Deploy disabled by bob at 2026-01-02T03:04:05Z: release freeze"}},
		{"list follows pages", []string{"pipeline", "list"}, []string{"GET /v1/pipelines", "GET /v1/pipelines"},
			[]string{"web    2         SUPERSEDED   Succeeded   " + execID, "api    2         SUPERSEDED   -"}},
		{"delete", []string{"pipeline", "delete", "web"}, []string{"DELETE /v1/pipelines/web"}, []string{"Deleted pipeline web"}},
		{"start", []string{"pipeline", "start", "web", "--var", "STAGE=prod", "--var", "EMPTY=", "--source-revision", "Source=release-1.4"},
			[]string{`POST /v1/pipelines/web/executions {"variables":{"EMPTY":"","STAGE":"prod"},"source_revisions":{"Source":"release-1.4"}}`},
			[]string{"Started execution " + execID + " of pipeline web (version 2)"}},
		{"start without flags", []string{"pipeline", "start", "web"}, []string{"POST /v1/pipelines/web/executions {}"}, []string{"Started execution"}},
		{"stop", []string{"pipeline", "stop", "web", "--execution", execID},
			[]string{"POST /v1/pipelines/web/executions/" + execID + "/stop {}"}, []string{"Execution " + execID + " of pipeline web: Stopping"}},
		{"stop --abandon", []string{"pipeline", "stop", "web", "--execution", execID, "--abandon", "--reason", "wrong commit"},
			[]string{"POST /v1/pipelines/web/executions/" + execID + `/stop {"abandon":true,"reason":"wrong commit"}`}, []string{": Stopped"}},
		{"retry", []string{"pipeline", "retry", "web", "--execution", execID, "--stage", "Build"},
			[]string{`POST /v1/pipelines/web/retry {"execution":"` + execID + `","stage":"Build","retry_mode":"FAILED_ACTIONS"}`},
			[]string{"Retrying stage Build of execution " + execID + " (FAILED_ACTIONS): InProgress"}},
		{"retry --all-actions", []string{"pipeline", "retry", "web", "--execution", execID, "--stage", "Build", "--all-actions"},
			[]string{`POST /v1/pipelines/web/retry {"execution":"` + execID + `","stage":"Build","retry_mode":"ALL_ACTIONS"}`}, []string{"(ALL_ACTIONS)"}},
		{"rollback", []string{"pipeline", "rollback", "web", "--stage", "Deploy", "--target-execution", execID},
			[]string{`POST /v1/pipelines/web/rollback {"stage":"Deploy","target_execution":"` + execID + `"}`},
			[]string{"Started rollback execution rollback-execution of stage Deploy to execution " + execID}},
		{"history follows pages", []string{"pipeline", "history", "web"}, []string{"GET /v1/pipelines/web/executions", "GET /v1/pipelines/web/executions"},
			[]string{execID + "   InProgress   push by alice: web refs/heads/main 1a2b3c4d5e6f   2         2026-01-02T03:04:05Z   -                      Source:Succeeded Build:InProgress Deploy:-",
				"older-execution                        Failed       push by alice: web refs/heads/main 1a2b3c4d5e6f   2         2026-01-02T03:04:05Z   2026-01-02T03:05:35Z   Source:Succeeded Build:Failed Deploy:-"}},
		{"history --limit", []string{"pipeline", "history", "web", "--limit", "1"}, []string{"GET /v1/pipelines/web/executions"}, []string{execID}},
		{"execution", []string{"pipeline", "execution", "web", execID}, []string{"GET /v1/pipelines/web/executions/" + execID},
			[]string{"Status              Failed", "Variables           STAGE=prod", "Revision of Source  web main 1a2b3c4d5e6f7a8b9c0d",
				"Build    Failed         Build    SlipwayBuild    Failed      1         web-build:0b7c5a52   error: build ended FAILED in phase BUILD",
				"Deploy   -              Deploy   SlipwayDeploy   -           -         -                    -",
				"Output variables of Source/Source: BranchName=main, CommitId=1a2b3c4d5e6f7a8b9c0d"}},
		{"transition disable", []string{"pipeline", "transition", "disable", "web", "--stage", "Deploy", "--reason", "release freeze"},
			[]string{`POST /v1/pipelines/web/transitions/Deploy/disable {"stage":"Deploy","enabled":false,"reason":"release freeze"}`},
			[]string{"Transition into Deploy of pipeline web disabled: release freeze"}},
		{"transition enable", []string{"pipeline", "transition", "enable", "web", "--stage", "Deploy"},
			[]string{`POST /v1/pipelines/web/transitions/Deploy/enable {"stage":"Deploy","enabled":true}`}, []string{"Transition into Deploy of pipeline web enabled"}},
		{"webhook set", []string{"pipeline", "webhook", "set", "web", "--secret", "hush"},
			[]string{`PUT /v1/pipelines/web/webhook {"secret":"hush"}`}, []string{"Webhook of pipeline web set: POST /v1/pipelines/web/webhook/start"}},
		{"approve", []string{"approval", "approve", "web", "--execution", execID, "--stage", "Approve", "--action", "Manual", "--comment", "ok by QA"},
			[]string{`POST /v1/pipelines/web/approvals {"execution":"` + execID + `","stage":"Approve","action":"Manual","status":"Approved","comment":"ok by QA"}`},
			[]string{"Approved Approve/Manual of execution " + execID + " of pipeline web"}},
		{"reject with a token", []string{"approval", "reject", "web", "--execution", execID, "--stage", "Approve", "--action", "Manual", "--approval-token", "abc"},
			[]string{`POST /v1/pipelines/web/approvals {"execution":"` + execID + `","stage":"Approve","action":"Manual","status":"Rejected","token":"abc"}`},
			[]string{"Rejected Approve/Manual"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(t, tc.args...)
			calls := f.takeCalls()
			if r.code != 0 {
				t.Fatalf("exit %d: %+v", r.code, r)
			}
			if strings.Join(calls, "\n") != strings.Join(tc.calls, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(tc.calls, "\n"))
			}
			for _, want := range tc.out {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

// TestPipelineJSONOutput: --output json prints the API's objects as they came: get the
// pipeline with its definition, history the executions newest first with id, status, trigger
// and each stage's and action's status (every page), execution one execution.
func TestPipelineJSONOutput(t *testing.T) {
	f := newPipelineAPI(t)
	r := f.run(t, "pipeline", "get", "web", "--output", "json")
	var pl api.Pipeline
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &pl) != nil || pl.Name != "web" || !strings.Contains(string(pl.Definition), `"SlipwayDeploy"`) {
		t.Fatalf("get --output json: %+v", r)
	}
	r = f.run(t, "pipeline", "history", "web", "--output", "json")
	var raw []map[string]json.RawMessage
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &raw) != nil || len(raw) != 2 {
		t.Fatalf("history --output json: %+v", r)
	}
	if string(raw[0]["id"]) != `"`+execID+`"` || string(raw[1]["id"]) != `"older-execution"` || string(raw[0]["status"]) != `"InProgress"` ||
		!strings.Contains(string(raw[0]["trigger"]), `"type": "push"`) {
		t.Fatalf("history --output json: %s", r.stdout)
	}
	var stages []struct {
		Status  string `json:"status"`
		Actions []struct {
			Status string `json:"status"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(raw[1]["stages"], &stages); err != nil || len(stages) != 3 || stages[1].Status != "Failed" || stages[1].Actions[0].Status != "Failed" {
		t.Fatalf("history's stages: %s, %v", raw[1]["stages"], err)
	}
	r = f.run(t, "pipeline", "list", "--output", "json")
	var list []api.PipelineSummary
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil || len(list) != 2 {
		t.Fatalf("list --output json: %+v", r)
	}
	r = f.run(t, "pipeline", "execution", "web", execID, "--output", "json")
	var e api.PipelineExecution
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &e) != nil || e.ID != execID || e.Stages[1].Actions[0].ExternalID != "web-build:0b7c5a52" {
		t.Fatalf("execution --output json: %+v", r)
	}
}

// TestPipelineCreateWarningsAndRefusal: create prints the definition's warnings (the server's
// answer) on stderr, not stdout; a definition the server refuses has its diagnostics printed
// one a line, and the command exits 1.
func TestPipelineCreateWarningsAndRefusal(t *testing.T) {
	f := newPipelineAPI(t)
	def := writeFile(t, "pipeline.yml", "pipeline:\n  name: web\n  roleArn: x\n")
	r := f.run(t, "pipeline", "create", "--file", def)
	if r.code != 0 || r.stderr != def+":2:3: warning: roleArn means nothing here\n" || strings.Contains(r.stdout, "warning") {
		t.Fatalf("create with a warning: %+v", r)
	}
	bad := writeFile(t, "bad.yml", "pipeline:\n  name: bogus\n")
	r = f.run(t, "pipeline", "create", "--file", bad)
	if r.code != 1 || !strings.Contains(r.stderr, bad+":3:7: unknown provider \"Bogus\"\n"+bad+":9:1: artifact") ||
		!strings.Contains(r.stderr, "Error: the server refused "+bad+": fix the errors above") {
		t.Fatalf("create refused: %+v", r)
	}
}

// TestPipelineBadInput: a wrong command line is refused before any request, exit 2, with a
// message naming what to fix; an API error exits 1 with the server's message.
func TestPipelineBadInput(t *testing.T) {
	f := newPipelineAPI(t)
	big := writeFile(t, "big.yml", strings.Repeat("#", maxDefinitionSize+1))
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"create without --file", []string{"pipeline", "create"}, 2, "--file is required"},
		{"create of a missing file", []string{"pipeline", "create", "--file", "/nonexistent/p.yml"}, 1, "cannot read /nonexistent/p.yml"},
		{"create of a directory", []string{"pipeline", "create", "--file", t.TempDir()}, 1, "is not a file"},
		{"create of a file too large", []string{"pipeline", "create", "--file", big}, 1, "more than the 262144 (256 KiB)"},
		{"update without NAME", []string{"pipeline", "update", "--file", big}, 2, "missing NAME"},
		{"--var without =", []string{"pipeline", "start", "web", "--var", "STAGE"}, 2, `--var "STAGE": write NAME=VALUE`},
		{"--var twice", []string{"pipeline", "start", "web", "--var", "A=1", "--var", "A=2"}, 2, "--var A is given twice"},
		{"--source-revision without action", []string{"pipeline", "start", "web", "--source-revision", "=main"}, 2, "write NAME=VALUE"},
		{"stop without --execution", []string{"pipeline", "stop", "web"}, 2, "--execution is required"},
		{"retry without --stage", []string{"pipeline", "retry", "web", "--execution", execID}, 2, "--stage is required"},
		{"rollback without --stage", []string{"pipeline", "rollback", "web"}, 2, "--stage is required"},
		{"history --limit -1", []string{"pipeline", "history", "web", "--limit", "-1"}, 2, "--limit -1"},
		{"execution without ID", []string{"pipeline", "execution", "web"}, 2, "missing ID"},
		{"disable without --reason", []string{"pipeline", "transition", "disable", "web", "--stage", "Deploy"}, 2, "--reason is required: say why executions must wait before Deploy"},
		{"transition with an unknown verb", []string{"pipeline", "transition", "disabel", "web"}, 2, `did you mean "disable"`},
		{"webhook without --secret", []string{"pipeline", "webhook", "set", "web"}, 2, "--secret is required"},
		{"approve without --action", []string{"approval", "approve", "web", "--execution", execID, "--stage", "Approve"}, 2, "--action is required"},
		{"watch --execution empty", []string{"pipeline", "watch", "web", "--execution", ""}, 2, "--execution must not be empty"},
		{"get of a missing pipeline", []string{"pipeline", "get", "nope"}, 1, `pipeline "nope" not found`},
		{"approve refused", []string{"approval", "approve", "web", "--execution", execID, "--stage", "Approve", "--action", "Manual", "--comment", "forbidden"}, 1,
			"codepipeline:PutApprovalResult on pipeline/web is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(t, tc.args...)
			calls := f.takeCalls()
			if r.code != tc.code || !strings.Contains(r.stderr, tc.err) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.err)
			}
			if tc.code == 2 && len(calls) > 0 {
				t.Errorf("a wrong command line sent %v", calls)
			}
		})
	}
}

// TestPipelineCreateFromStdin: --file - reads the definition from standard input and names it
// "stdin" in diagnostics.
func TestPipelineCreateFromStdin(t *testing.T) {
	f := newPipelineAPI(t)
	root := NewRootCommand(Options{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	root.SetIn(strings.NewReader("pipeline:\n  name: web\n"))
	root.SetArgs([]string{"--addr", f.srv.URL, "--token", testToken, "pipeline", "create", "--file", "-"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	calls := f.takeCalls()
	want := `POST /v1/pipelines {"definition":"pipeline:\n  name: web\n","file":"stdin"}`
	if len(calls) != 1 || calls[0] != want {
		t.Fatalf("requests %q, want %q", calls, want)
	}
}

// issueExample is the definition of issue 21's example: Source, Build, Deploy.
const issueExample = `pipeline:
  name: web
  stages:
    - name: Source
      actions:
        - name: Source
          actionTypeId: {category: Source, owner: AWS, provider: SlipwayRepo, version: "1"}
          configuration: {RepositoryName: web, BranchName: main}
          outputArtifacts: [{name: SourceArtifact}]
          namespace: SourceVariables
    - name: Build
      actions:
        - name: Build
          actionTypeId: {category: Build, owner: AWS, provider: SlipwayBuild, version: "1"}
          configuration: {ProjectName: web-build}
          inputArtifacts: [{name: SourceArtifact}]
          outputArtifacts: [{name: BuildArtifact}]
          namespace: BuildVariables
    - name: Deploy
      actions:
        - name: Deploy
          actionTypeId: {category: Deploy, owner: AWS, provider: SlipwayDeploy, version: "1"}
          configuration: {ApplicationName: web, DeploymentGroupName: "#{BuildVariables.GROUP}"}
          inputArtifacts: [{name: BuildArtifact}]
`

// TestPipelineValidateValid: validate reads the file offline (no server is given) and says a
// valid definition is valid, exit 0; --output json reports it valid with its diagnostics.
func TestPipelineValidateValid(t *testing.T) {
	path := writeFile(t, "pipeline.yml", issueExample)
	r := runWith(t, context.Background(), nil, "--addr", "http://127.0.0.1:1", "pipeline", "validate", path)
	if r.code != 0 || !strings.HasSuffix(r.stdout, path+" is valid\n") {
		t.Fatalf("validate: %+v", r)
	}
	r = runWith(t, context.Background(), nil, "--addr", "http://127.0.0.1:1", "pipeline", "validate", path, "--output", "json")
	var rep struct {
		Path        string            `json:"path"`
		Valid       bool              `json:"valid"`
		Diagnostics []json.RawMessage `json:"diagnostics"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil || !rep.Valid || rep.Path != path || rep.Diagnostics == nil {
		t.Fatalf("validate --output json: %+v", r)
	}
}

// TestPipelineValidateInvalid: a definition with errors has each diagnostic printed as
// path:line:col (warnings too, marked), exit 1; --output json reports it invalid.
func TestPipelineValidateInvalid(t *testing.T) {
	bad := strings.Replace(issueExample, "provider: SlipwayRepo", "provider: Bogus", 1)
	bad = strings.Replace(bad, "  name: web\n", "  name: web\n  roleArn: arn:aws:iam::1:role/x\n", 1)
	path := writeFile(t, "bad.yml", bad)
	r := runWith(t, context.Background(), nil, "pipeline", "validate", path)
	if r.code != 1 || !strings.Contains(r.stdout, path+":3:3: warning: ") || !strings.Contains(r.stdout, path+":8:66: unknown provider \"Bogus\"") ||
		strings.Contains(r.stdout, "is valid") || !strings.Contains(r.stderr, path+" has 1 error(s)") {
		t.Fatalf("validate of an invalid file: %+v", r)
	}
	r = runWith(t, context.Background(), nil, "pipeline", "validate", path, "--output", "json")
	var rep pipelineSpecReport
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.Valid || len(rep.Diagnostics.Errors()) != 1 || rep.Diagnostics.Errors()[0].Line != 8 {
		t.Fatalf("validate --output json of an invalid file: %+v", r)
	}
}
