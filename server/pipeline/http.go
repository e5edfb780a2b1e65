package pipeline

import (
	"context"
	"net/http"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// routes are the service's endpoints, authorized by CodePipeline's action names on
// pipeline/NAME. Reads take any token; writes are Management routes, which a user's policies
// decide as well. The webhook start takes no token: its body's signature authenticates it
// (webhook.go).
func (m *Module) routes() []api.Route {
	const one, execs = "/v1/pipelines/{name}", "/v1/pipelines/{name}/executions"
	res := "pipeline/{name}"
	return []api.Route{
		{Method: "POST", Pattern: "/v1/pipelines", Access: api.Management, Action: "codepipeline:CreatePipeline", Resource: "pipeline/*", Handle: m.create, ResolveResource: m.resolveCreate},
		{Method: "GET", Pattern: "/v1/pipelines", Access: api.AnyToken, Action: "codepipeline:ListPipelines", Resource: "pipeline/*", Handle: m.list},
		{Method: "GET", Pattern: one, Access: api.AnyToken, Action: "codepipeline:GetPipeline", Resource: res, Handle: m.get},
		{Method: "PUT", Pattern: one, Access: api.Management, Action: "codepipeline:UpdatePipeline", Resource: res, Handle: m.update},
		{Method: "DELETE", Pattern: one, Access: api.Management, Action: "codepipeline:DeletePipeline", Resource: res, Handle: m.remove},
		{Method: "POST", Pattern: execs, Access: api.Management, Action: "codepipeline:StartPipelineExecution", Resource: res, Handle: m.start},
		{Method: "GET", Pattern: execs, Access: api.AnyToken, Action: "codepipeline:ListPipelineExecutions", Resource: res, Handle: m.history},
		{Method: "GET", Pattern: execs + "/{id}", Access: api.AnyToken, Action: "codepipeline:GetPipelineExecution", Resource: res, Handle: m.execution},
		{Method: "POST", Pattern: execs + "/{id}/stop", Access: api.Management, Action: "codepipeline:StopPipelineExecution", Resource: res, Handle: m.stop},
		{Method: "POST", Pattern: one + "/retry", Access: api.Management, Action: "codepipeline:RetryStageExecution", Resource: res, Handle: m.retry},
		{Method: "POST", Pattern: one + "/rollback", Access: api.Management, Action: "codepipeline:RollbackStage", Resource: res, Handle: m.rollback},
		{Method: "POST", Pattern: one + "/transitions/{stage}/enable", Access: api.Management, Action: "codepipeline:EnableStageTransition", Resource: res, Handle: m.transition(true)},
		{Method: "POST", Pattern: one + "/transitions/{stage}/disable", Access: api.Management, Action: "codepipeline:DisableStageTransition", Resource: res, Handle: m.transition(false)},
		{Method: "POST", Pattern: one + "/approvals", Access: api.Management, Action: "codepipeline:PutApprovalResult", Resource: res, Handle: m.approve},
		{Method: "PUT", Pattern: one + "/webhook", Access: api.Management, Action: "codepipeline:PutWebhook", Resource: res, Handle: m.putWebhook},
		{Method: "POST", Pattern: one + "/webhook/start", Access: api.Public, Handle: m.webhookStart},
		{Method: "GET", Pattern: one + "/watch", Access: api.AnyToken, Action: "codepipeline:GetPipelineState", Resource: res, Handle: m.watch},
	}
}

// actor is the name a caller acts under: their user's, else their token's.
func actor(id *auth.Identity) string {
	if id.Token.User != "" {
		return id.Token.User
	}
	return id.Token.Name
}

// resolveCreate names the pipeline a create is about: the name in the body's definition
// (pipeline/* when it has none that parses, which only a policy on every pipeline passes; the
// handler then refuses the definition).
func (m *Module) resolveCreate(r *http.Request) (string, error) {
	var req pub.PipelineRequest
	if err := m.core.HTTP.PeekJSON(r, &req); err != nil {
		return "", err
	}
	if len(req.Definition) > MaxDefinition {
		return "pipeline/*", nil
	}
	spec, _ := pipelinespec.Parse(req.File, []byte(req.Definition))
	if spec == nil {
		return "pipeline/*", nil
	}
	return pipelineResource(spec.Name), nil
}

// pipelineResource is pipeline/NAME, or pipeline/* for a name that is not valid.
func pipelineResource(name string) string {
	if ValidateName(name) != nil {
		return "pipeline/*"
	}
	return "pipeline/" + name
}

// authorizeNeeds is AuthorizeAuthor for the API's routes.
func (m *Module) authorizeNeeds(w http.ResponseWriter, r *http.Request, id *auth.Identity, spec *pipelinespec.Pipeline) error {
	return m.Pipelines().AuthorizeAuthor(w, r, id, spec)
}

// AuthorizeAuthor checks that the caller may do what spec's actions do on their behalf (each
// provider's Needs): a pipeline must not let its author start builds or deployments they
// could not start themselves. Every path that stores a definition calls it (the API and the
// console); a refusal is fault.Forbidden naming the action and the resource.
func (p *Pipelines) AuthorizeAuthor(w http.ResponseWriter, r *http.Request, id *auth.Identity, spec *pipelinespec.Pipeline) error {
	m := p.m
	for _, n := range p.NeedsOf(spec) {
		if err := m.core.HTTP.Authorize(w, r, id, n.Action, n.Resource); err != nil {
			return fault.New(fault.Forbidden, "the pipeline's actions act on your behalf: you may not %s on %s; ask for that permission, or change the action that needs it",
				n.Action, state.Shorten(n.Resource))
		}
	}
	return nil
}

func (m *Module) create(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.PipelineRequest) (pub.Pipeline, error) {
		spec, warnings, err := m.Pipelines().Parse(ctx, req)
		if err != nil {
			return pub.Pipeline{}, err
		}
		if err := m.authorizeNeeds(w, r, id, spec); err != nil {
			return pub.Pipeline{}, err
		}
		return m.Pipelines().Create(ctx, actor(id), spec, warnings)
	})(w, r, id)
}

func (m *Module) update(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PipelineRequest) (pub.Pipeline, error) {
		spec, warnings, err := m.Pipelines().Parse(ctx, req)
		if err != nil {
			return pub.Pipeline{}, err
		}
		if err := m.authorizeNeeds(w, r, id, spec); err != nil {
			return pub.Pipeline{}, err
		}
		return m.Pipelines().Update(ctx, actor(id), r.PathValue("name"), spec, warnings)
	})(w, r, id)
}

func (m *Module) list(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.PipelineSummary, string, error) {
		return m.Pipelines().List(r.Context(), p)
	}, func(items []pub.PipelineSummary, next string) pub.PipelineList {
		return pub.PipelineList{Pipelines: items, Next: next}
	})(w, r, id)
}

func (m *Module) get(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Pipeline, error) {
		return m.Pipelines().Get(r.Context(), r.PathValue("name"))
	})(w, r, id)
}

func (m *Module) remove(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Pipelines().Delete(ctx, actor(id), r.PathValue("name"))
	})(w, r, id)
}

func (m *Module) start(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.PipelineStartRequest) (pub.PipelineExecution, error) {
		return m.Pipelines().Start(ctx, actor(id), r.PathValue("name"), req)
	})(w, r, id)
}

func (m *Module) history(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.PipelineExecution, string, error) {
		return m.Pipelines().History(r.Context(), r.PathValue("name"), p)
	}, func(items []pub.PipelineExecution, next string) pub.PipelineExecutionList {
		return pub.PipelineExecutionList{Executions: items, Next: next}
	})(w, r, id)
}

func (m *Module) execution(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.PipelineExecution, error) {
		return m.Pipelines().Execution(r.Context(), r.PathValue("name"), r.PathValue("id"))
	})(w, r, id)
}

func (m *Module) stop(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PipelineStopRequest) (pub.PipelineExecution, error) {
		return m.Pipelines().Stop(ctx, actor(id), r.PathValue("name"), r.PathValue("id"), req)
	})(w, r, id)
}

func (m *Module) retry(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PipelineRetryRequest) (pub.PipelineExecution, error) {
		return m.Pipelines().Retry(ctx, actor(id), r.PathValue("name"), req)
	})(w, r, id)
}

func (m *Module) rollback(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.PipelineRollbackRequest) (pub.PipelineExecution, error) {
		return m.Pipelines().Rollback(ctx, actor(id), r.PathValue("name"), req)
	})(w, r, id)
}

// transition serves enable (true) and disable: the stage is the path's; a body's stage, when
// set, must be the same.
func (m *Module) transition(enabled bool) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.TransitionRequest) (pub.Pipeline, error) {
			stage := r.PathValue("stage")
			if req.Stage != "" && req.Stage != stage {
				return pub.Pipeline{}, fault.New(fault.Invalid, "the body names stage %s, the path %s", state.Shorten(req.Stage), state.Shorten(stage))
			}
			req.Stage, req.Enabled = stage, enabled
			return m.Pipelines().Transition(ctx, actor(id), r.PathValue("name"), req)
		})(w, r, id)
	}
}

func (m *Module) approve(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.ApprovalResultRequest) (pub.PipelineExecution, error) {
		return m.Pipelines().Approve(ctx, actor(id), r.PathValue("name"), req)
	})(w, r, id)
}

func (m *Module) putWebhook(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PipelineWebhookRequest) (pub.Pipeline, error) {
		return m.Pipelines().SetWebhook(ctx, r.PathValue("name"), req.Secret)
	})(w, r, id)
}
