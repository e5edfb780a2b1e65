package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// pipelineRecord reads a pipeline; one not found on this server is looked for again after a
// consistent read (created through another server a moment ago).
func (m *Module) pipelineRecord(r *http.Request, name string) (pub.Pipeline, error) {
	p, err := m.pipelines.Get(r.Context(), name)
	if fault.CodeOf(err) == fault.NotFound {
		ctx, cancel := m.core.HTTP.WaitContext(r)
		defer cancel()
		if rerr := m.core.Cluster.ConsistentRead(ctx); rerr != nil {
			return pub.Pipeline{}, fault.New(fault.Unavailable, "this server cannot read pipelines now: %v", rerr)
		}
		p, err = m.pipelines.Get(r.Context(), name)
	}
	return p, err
}

// pipelineViewFor reads what the pipeline's page draws: the pipeline, its current definition
// and its newest executions, and what the user may do.
func (m *Module) pipelineViewFor(r *http.Request, id *auth.Identity) (pipelineView, error) {
	name := r.PathValue("name")
	p, err := m.pipelineRecord(r, name)
	if err != nil {
		return pipelineView{}, err
	}
	spec, err := m.pipelines.Spec(r.Context(), p.Name, 0)
	if err != nil {
		return pipelineView{}, err
	}
	execs, _, err := m.pipelines.History(r.Context(), p.Name, api.Page{Limit: pipelineStateScan})
	note := ""
	if err != nil {
		if fault.CodeOf(err) != fault.NotFound {
			return pipelineView{}, err
		}
		note = errText(err)
	}
	v := pipelineViewOf(p, spec, execs)
	v.Note = note
	k, res := m.core.HTTP, "pipeline/"+p.Name
	v.Can = pipelineCan{
		Start: k.Allowed(r, id, "codepipeline:StartPipelineExecution", res), Stop: k.Allowed(r, id, "codepipeline:StopPipelineExecution", res),
		Retry: k.Allowed(r, id, "codepipeline:RetryStageExecution", res), Rollback: k.Allowed(r, id, "codepipeline:RollbackStage", res),
		Approve: k.Allowed(r, id, "codepipeline:PutApprovalResult", res), Enable: k.Allowed(r, id, "codepipeline:EnableStageTransition", res),
		Disable: k.Allowed(r, id, "codepipeline:DisableStageTransition", res), Update: k.Allowed(r, id, "codepipeline:UpdatePipeline", res),
	}
	return v, nil
}

// pipelinePage shows a pipeline as its diagram; assets/pipeline.js keeps the diagram live by
// polling the state route.
func (m *Module) pipelinePage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderPipeline(w, r, id, http.StatusOK, "")
}

// renderPipeline renders a pipeline's page; problem is a form's refusal to show on it.
func (m *Module) renderPipeline(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, problem string) error {
	v, err := m.pipelineViewFor(r, id)
	if err != nil {
		return err
	}
	v.Error = problem
	return m.render(w, status, "pipeline", frame(r, id.Token.User, "Pipeline "+v.P.Name, v))
}

// pipelineStateAnswer is what the page's script polls: the diagram rendered as the page
// renders it, and a stamp of it (the script replaces the diagram only when the stamp changed).
type pipelineStateAnswer struct {
	Stamp string `json:"stamp"`
	HTML  string `json:"html"`
}

// pipelineState answers the page's script with the diagram's HTML (the "pipelinediagram"
// template of templates/pipeline.html). It is a console route: the session's cookie is the
// credential, and its action is the watch's (codepipeline:GetPipelineState).
func (m *Module) pipelineState(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	v, err := m.pipelineViewFor(r, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := m.pages["pipeline"].ExecuteTemplate(&buf, "pipelinediagram", frame(r, id.Token.User, "", v)); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	securityHeaders(w)
	m.core.HTTP.JSON(w, http.StatusOK, pipelineStateAnswer{Stamp: hex.EncodeToString(sum[:16]), HTML: buf.String()})
	return nil
}
