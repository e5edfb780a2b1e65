package console

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// historyData is a pipeline's history page.
type historyData struct {
	Name       string
	Executions []executionRow
	Next       string
}

// pipelineHistoryPage lists a pipeline's executions newest first, a page at a time (?next=,
// ?limit= as the API pages): ID, status, trigger, start, duration and each stage's status.
func (m *Module) pipelineHistoryPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	p, err := m.pipelineRecord(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") == "" {
		pg.Limit = pipelinesPerPage
	}
	list, next, err := m.pipelines.History(r.Context(), p.Name, pg)
	if err != nil {
		return err
	}
	d := historyData{Name: p.Name}
	now := m.core.Now()
	for _, e := range list {
		d.Executions = append(d.Executions, executionRowOf(p.Name, e, now))
	}
	if next != "" {
		v := url.Values{"next": {next}}
		if l := r.URL.Query().Get("limit"); l != "" {
			v.Set("limit", l)
		}
		d.Next = pipelineURL(p.Name, "executions") + "?" + v.Encode()
	}
	return m.render(w, http.StatusOK, "pipeline_executions", frame(r, id.Token.User, "Executions of "+p.Name, d))
}

// executionData is an execution's page.
type executionData struct {
	Name         string
	E            pub.PipelineExecution
	Trigger      string
	Duration     string
	Variables    []variable
	Stages       []executionStage
	Artifacts    []artifactView
	Errors       []string // the failed actions' errors, "stage / action: error"
	CanStop      bool
	CanRetry     bool
	CanApprove   bool
	RollbackHref string
}

// executionStage is a stage of an execution with its actions in their runOrder.
type executionStage struct {
	pub.StageExecution
	Actions []executionAction
	Failed  bool // a failed stage of a failed execution: it may be retried
}

// executionAction is an action as it ran, with its configuration and output variables sorted
// and the link to its work.
type executionAction struct {
	pub.ActionExecution
	Config, Outputs []variable
	Link, LinkText  string
	Waiting         bool
}

// artifactView is an artifact an action produced.
type artifactView struct {
	pub.PipelineArtifact
	Stage, Action, CommitHref string
}

// sortedVars lists a map's entries in name order.
func sortedVars(m map[string]string) []variable {
	var out []variable
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, variable{Name: k, Value: m[k]})
	}
	return out
}

// executionDataOf makes an execution's page.
func executionDataOf(name string, e pub.PipelineExecution, now time.Time) executionData {
	d := executionData{Name: name, E: e, Trigger: triggerText(e.Trigger), Variables: sortedVars(e.Variables)}
	end := now
	if e.EndTime != nil {
		end = *e.EndTime
	}
	d.Duration = roundDuration(end.Sub(e.StartTime))
	if e.RollbackOf != "" {
		d.RollbackHref = executionURL(name, e.RollbackOf)
	}
	for _, s := range e.Stages {
		st := executionStage{StageExecution: s, Failed: s.Status == pub.PipelineFailed && e.Status == pub.PipelineFailed}
		actions := slices.Clone(s.Actions)
		slices.SortStableFunc(actions, func(a, b pub.ActionExecution) int { return a.RunOrder - b.RunOrder })
		for _, a := range actions {
			ea := executionAction{ActionExecution: a, Config: sortedVars(a.Configuration), Outputs: sortedVars(a.Variables),
				Waiting: a.Approval != nil && a.Approval.Result == "" && a.Status == pub.PipelineInProgress}
			ea.Link, ea.LinkText = workLink(a, &e)
			st.Actions = append(st.Actions, ea)
			for _, o := range a.Outputs {
				av := artifactView{PipelineArtifact: o, Stage: s.Name, Action: a.Name}
				if o.Repository != "" && o.Commit != "" {
					av.CommitHref = repoURL(o.Repository, "commit", o.Commit, "")
				}
				d.Artifacts = append(d.Artifacts, av)
			}
			if a.Error != "" {
				d.Errors = append(d.Errors, s.Name+" / "+a.Name+": "+a.Error)
			}
		}
		d.Stages = append(d.Stages, st)
	}
	return d
}

// pipelineExecutionPage shows one execution: its stages and actions as they ran, variables,
// source revisions, artifacts and errors, with the stop, retry and approval forms.
func (m *Module) pipelineExecutionPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	name, eid := r.PathValue("name"), r.PathValue("id")
	e, err := m.pipelines.Execution(r.Context(), name, eid)
	if fault.CodeOf(err) == fault.NotFound { // started through another server a moment ago?
		ctx, cancel := m.core.HTTP.WaitContext(r)
		if rerr := m.core.Cluster.ConsistentRead(ctx); rerr == nil {
			e, err = m.pipelines.Execution(r.Context(), name, eid)
		}
		cancel()
	}
	if err != nil {
		return err
	}
	d := executionDataOf(name, e, m.core.Now())
	k, res := m.core.HTTP, "pipeline/"+name
	d.CanStop = inProgress(e.Status) && k.Allowed(r, id, "codepipeline:StopPipelineExecution", res)
	d.CanRetry = e.Status == pub.PipelineFailed && k.Allowed(r, id, "codepipeline:RetryStageExecution", res)
	d.CanApprove = k.Allowed(r, id, "codepipeline:PutApprovalResult", res)
	return m.render(w, http.StatusOK, "pipeline_execution", frame(r, id.Token.User, "Execution "+e.ID, d))
}
