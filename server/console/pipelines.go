package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/pipeline"
)

func init() { pageSets = append(pageSets, (*Module).pipelineRoutes) }

// PipelineService is the pipeline service's Go API as the pipeline pages use it
// (*pipeline.Pipelines): the pages read and change pipelines through it only.
type PipelineService interface {
	Parse(ctx context.Context, req pub.PipelineRequest) (*pipelinespec.Pipeline, []string, error)
	AuthorizeAuthor(w http.ResponseWriter, r *http.Request, id *auth.Identity, spec *pipelinespec.Pipeline) error
	Create(ctx context.Context, actor string, spec *pipelinespec.Pipeline, warnings []string) (pub.Pipeline, error)
	Update(ctx context.Context, actor, name string, spec *pipelinespec.Pipeline, warnings []string) (pub.Pipeline, error)
	Get(ctx context.Context, name string) (pub.Pipeline, error)
	Spec(ctx context.Context, name string, version int) (*pipelinespec.Pipeline, error)
	List(ctx context.Context, page api.Page) ([]pub.PipelineSummary, string, error)
	Delete(ctx context.Context, actor, name string) error
	Start(ctx context.Context, actor, name string, req pub.PipelineStartRequest) (pub.PipelineExecution, error)
	Execution(ctx context.Context, name, id string) (pub.PipelineExecution, error)
	History(ctx context.Context, name string, page api.Page) ([]pub.PipelineExecution, string, error)
	Stop(ctx context.Context, actor, name, id string, req pub.PipelineStopRequest) (pub.PipelineExecution, error)
	Retry(ctx context.Context, actor, name string, req pub.PipelineRetryRequest) (pub.PipelineExecution, error)
	Rollback(ctx context.Context, actor, name string, req pub.PipelineRollbackRequest) (pub.PipelineExecution, error)
	Transition(ctx context.Context, actor, name string, req pub.TransitionRequest) (pub.Pipeline, error)
	Approve(ctx context.Context, actor, name string, req pub.ApprovalResultRequest) (pub.PipelineExecution, error)
}

// WithPipelines has the console show the pipeline service's pipelines (the pages of
// pipeline*.go); without it they answer 404.
func (m *Module) WithPipelines(p *pipeline.Module) *Module {
	if p != nil {
		m.pipelines = p.Pipelines()
	}
	return m
}

// Bounds of the pipeline pages.
const (
	pipelinesPerPage   = 100                             // pipelines a list page shows, executions a history page
	pipelineStateScan  = 20                              // newest executions the pipeline's page reads for each stage's latest
	maxPipelineForm    = 3*pipeline.MaxDefinition + 4096 // a definition with its form encoding
	pipelineDefinition = "pipeline.yml"
)

// pipelineRoutes are the pipeline pages: the list and create form, a pipeline's page (the
// diagram) with its live fragment, its history, an execution, its definition, and the forms of
// the pipeline's control. Each has the action of the /v1/pipelines route that does the same,
// on pipeline/NAME (a create's name is the pasted definition's).
func (m *Module) pipelineRoutes() []api.Route {
	if m.pipelines == nil {
		return nil
	}
	rt := func(method, pattern, action string, h api.HandlerFunc) api.Route {
		res := "pipeline/{name}"
		if !strings.Contains(pattern, "{name}") {
			res = "pipeline/*"
		}
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: "codepipeline:" + action, Resource: res, Handle: h}
	}
	create := rt("POST", "/ui/pipelines", "CreatePipeline", m.pipelineCreate)
	create.ResolveResource = pipelineFormResource
	return []api.Route{
		rt("GET", "/ui/pipelines", "ListPipelines", m.pipelinesPage),
		create,
		rt("GET", "/ui/pipelines/{name}", "GetPipeline", m.pipelinePage),
		rt("GET", "/ui/pipelines/{name}/state", "GetPipelineState", m.pipelineState),
		rt("GET", "/ui/pipelines/{name}/definition", "GetPipeline", m.pipelineDefinitionPage),
		rt("POST", "/ui/pipelines/{name}/definition", "UpdatePipeline", m.pipelineUpdate),
		rt("POST", "/ui/pipelines/{name}/delete", "DeletePipeline", m.pipelineDelete),
		rt("GET", "/ui/pipelines/{name}/executions", "ListPipelineExecutions", m.pipelineHistoryPage),
		rt("POST", "/ui/pipelines/{name}/executions", "StartPipelineExecution", m.pipelineStart),
		rt("GET", "/ui/pipelines/{name}/executions/{id}", "GetPipelineExecution", m.pipelineExecutionPage),
		rt("POST", "/ui/pipelines/{name}/executions/{id}/stop", "StopPipelineExecution", m.pipelineStop),
		rt("POST", "/ui/pipelines/{name}/retry", "RetryStageExecution", m.pipelineRetry),
		rt("POST", "/ui/pipelines/{name}/rollback", "RollbackStage", m.pipelineRollback),
		rt("POST", "/ui/pipelines/{name}/transitions/{stage}/enable", "EnableStageTransition", m.pipelineTransition(true)),
		rt("POST", "/ui/pipelines/{name}/transitions/{stage}/disable", "DisableStageTransition", m.pipelineTransition(false)),
		rt("POST", "/ui/pipelines/{name}/approvals", "PutApprovalResult", m.pipelineApprove),
	}
}

// pipelineURL is the console's address of a pipeline's page (kind "": the diagram; else a
// page under it: "executions", "definition", ...).
func pipelineURL(name, kind string) string {
	u := "/ui/pipelines/" + url.PathEscape(name)
	if kind != "" {
		u += "/" + kind
	}
	return u
}

// executionURL is the console's address of an execution's page.
func executionURL(name, id string) string {
	return pipelineURL(name, "executions") + "/" + url.PathEscape(id)
}

// pipelineFormResource names the pipeline a create form's pasted definition names, as the
// API's create resolves it (pipeline/* when it names none that parses: only a policy on every
// pipeline reaches the handler, which shows the definition's diagnostics).
func pipelineFormResource(r *http.Request) (string, error) {
	def := r.PostFormValue("definition")
	if len(def) > pipeline.MaxDefinition {
		return "pipeline/*", nil
	}
	if spec, _ := pipelinespec.Parse(pipelineDefinition, []byte(def)); spec != nil && pipeline.ValidateName(spec.Name) == nil {
		return "pipeline/" + spec.Name, nil
	}
	return "pipeline/*", nil
}

// pipelineRow is a pipeline in the list.
type pipelineRow struct {
	pub.PipelineSummary
	Href, LatestHref string
}

// pipelinesData is the list's page: the pipelines and the create form.
type pipelinesData struct {
	Pipelines []pipelineRow
	Next      string
	CanCreate bool
	Form      definitionForm
}

// definitionForm is a pasted definition as typed, with the service's diagnostics when it was
// refused (one "path:line:col: message" a line).
type definitionForm struct {
	Definition  string
	Error       string
	Diagnostics []string
}

// pipelinesPage lists the pipelines in name order with each one's latest execution, and the
// create form.
func (m *Module) pipelinesPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderPipelines(w, r, id, http.StatusOK, definitionForm{})
}

func (m *Module) renderPipelines(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, f definitionForm) error {
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") == "" {
		pg.Limit = pipelinesPerPage
	}
	list, next, err := m.pipelines.List(r.Context(), pg)
	if err != nil {
		return err
	}
	d := pipelinesData{CanCreate: m.core.HTTP.Allowed(r, id, "codepipeline:CreatePipeline", "pipeline/*"), Form: f}
	for _, p := range list {
		row := pipelineRow{PipelineSummary: p, Href: pipelineURL(p.Name, "")}
		if p.LatestExecution != "" {
			row.LatestHref = executionURL(p.Name, p.LatestExecution)
		}
		d.Pipelines = append(d.Pipelines, row)
	}
	if next != "" {
		v := url.Values{"next": {next}}
		if l := r.URL.Query().Get("limit"); l != "" {
			v.Set("limit", l)
		}
		d.Next = "/ui/pipelines?" + v.Encode()
	}
	return m.render(w, status, "pipelines", frame(r, id.Token.User, "Pipelines", d))
}

// diagnosticsOf splits a refusal's message into its lines (the parser's diagnostics are one a
// line after a first line saying what was refused).
func diagnosticsOf(err error) (string, []string) {
	lines := strings.Split(strings.TrimSpace(errText(err)), "\n")
	var diags []string
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l != "" {
			diags = append(diags, l)
		}
	}
	return lines[0], diags
}

// definitionRefused is a pasted definition the service or the user's permissions refused: the
// form to show again, with its status.
type definitionRefused struct {
	form   definitionForm
	status int
}

func (d *definitionRefused) Error() string { return d.form.Error }

// parseDefinition parses a posted definition through the service and authorizes what its
// actions need of their author (the pipeline acts on the author's behalf: each Need is
// decided as the API decides it, and a denial audited). A refusal is a *definitionRefused.
func (m *Module) parseDefinition(w http.ResponseWriter, r *http.Request, id *auth.Identity) (*pipelinespec.Pipeline, []string, error) {
	if err := parseForm(w, r, maxPipelineForm); err != nil {
		return nil, nil, err
	}
	f := definitionForm{Definition: crlfToLF(r.PostFormValue("definition"))}
	if strings.TrimSpace(f.Definition) == "" {
		f.Error = "Paste a definition: YAML or JSON in CodePipeline's shape."
		return nil, nil, &definitionRefused{form: f, status: http.StatusBadRequest}
	}
	spec, warnings, err := m.pipelines.Parse(r.Context(), pub.PipelineRequest{Definition: f.Definition, File: pipelineDefinition})
	if refusal(err) {
		f.Error, f.Diagnostics = diagnosticsOf(err)
		return nil, nil, &definitionRefused{form: f, status: statusOf(fault.CodeOf(err))}
	}
	if err != nil {
		return nil, nil, err
	}
	if err := m.pipelines.AuthorizeAuthor(w, r, id, spec); err != nil {
		if fault.CodeOf(err) != fault.Forbidden {
			return nil, nil, err
		}
		f.Error = err.Error()
		return nil, nil, &definitionRefused{form: f, status: http.StatusForbidden}
	}
	return spec, warnings, nil
}

// pipelineCreate creates a pipeline from the pasted definition and goes to its page; a
// definition with errors comes back in the form with its diagnostics.
func (m *Module) pipelineCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	spec, warnings, err := m.parseDefinition(w, r, id)
	var refused *definitionRefused
	if errors.As(err, &refused) {
		return m.renderPipelines(w, r, id, refused.status, refused.form)
	}
	if err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	p, err := m.pipelines.Create(ctx, actorOf(id), spec, warnings)
	if refusal(err) {
		f := definitionForm{Definition: crlfToLF(r.PostFormValue("definition"))}
		f.Error, f.Diagnostics = diagnosticsOf(err)
		return m.renderPipelines(w, r, id, statusOf(fault.CodeOf(err)), f)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, pipelineURL(p.Name, ""), http.StatusSeeOther)
	return nil
}
