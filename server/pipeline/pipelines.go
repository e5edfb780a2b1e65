package pipeline

import (
	"context"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// Pipelines is the pipelines' Go API: what the HTTP handlers, the console and the CLI's
// in-process callers use. Writes propose commands; reads read this server's state (callers
// that need a consistent read take a read barrier first, as api.Kit's helpers do). actor is
// the caller's name, recorded where the API says who did what. Authorization is the caller's:
// the HTTP routes and console pages check the action on pipeline/NAME, and NeedsOf names what
// a definition's author must also be allowed.
type Pipelines struct{ m *Module }

// Pipelines returns the Go API.
func (m *Module) Pipelines() *Pipelines { return &Pipelines{m: m} }

var errTODO = fault.New(fault.Unavailable, "pipelines: not built yet")

// Parse parses and checks a definition (req.Definition, named req.File in diagnostics)
// against the wired providers, without storing it: invalid with the diagnostics
// ("path:line:col: message" lines) in the message when it has errors; the warnings otherwise.
func (p *Pipelines) Parse(ctx context.Context, req pub.PipelineRequest) (*pipelinespec.Pipeline, []string, error) {
	return nil, nil, errTODO
}

// NeedsOf names the permissions the author of spec must hold (the providers' Needs).
func (p *Pipelines) NeedsOf(spec *pipelinespec.Pipeline) []Need { return nil }

// Create stores a new pipeline (version 1).
func (p *Pipelines) Create(ctx context.Context, actor string, spec *pipelinespec.Pipeline, warnings []string) (pub.Pipeline, error) {
	return pub.Pipeline{}, errTODO
}

// Update stores spec as the pipeline's next version.
func (p *Pipelines) Update(ctx context.Context, actor, name string, spec *pipelinespec.Pipeline, warnings []string) (pub.Pipeline, error) {
	return pub.Pipeline{}, errTODO
}

// Get answers a pipeline (fault.NotFound).
func (p *Pipelines) Get(ctx context.Context, name string) (pub.Pipeline, error) {
	return pub.Pipeline{}, errTODO
}

// Spec answers the definition of a pipeline's version (0: the current one).
func (p *Pipelines) Spec(ctx context.Context, name string, version int) (*pipelinespec.Pipeline, error) {
	return nil, errTODO
}

// List answers a page of pipelines in name order.
func (p *Pipelines) List(ctx context.Context, page api.Page) ([]pub.PipelineSummary, string, error) {
	return nil, "", errTODO
}

// Delete deletes a pipeline (a conflict while an execution is in progress).
func (p *Pipelines) Delete(ctx context.Context, actor, name string) error { return errTODO }

// Start starts an execution by hand (trigger manual, by actor).
func (p *Pipelines) Start(ctx context.Context, actor, name string, req pub.PipelineStartRequest) (pub.PipelineExecution, error) {
	return pub.PipelineExecution{}, errTODO
}

// Execution answers one execution of pipeline name (fault.NotFound).
func (p *Pipelines) Execution(ctx context.Context, name, id string) (pub.PipelineExecution, error) {
	return pub.PipelineExecution{}, errTODO
}

// History answers a page of pipeline name's executions, newest first.
func (p *Pipelines) History(ctx context.Context, name string, page api.Page) ([]pub.PipelineExecution, string, error) {
	return nil, "", errTODO
}

// Stop stops an execution.
func (p *Pipelines) Stop(ctx context.Context, actor, name, id string, req pub.PipelineStopRequest) (pub.PipelineExecution, error) {
	return pub.PipelineExecution{}, errTODO
}

// Retry retries a failed stage of a failed execution.
func (p *Pipelines) Retry(ctx context.Context, actor, name string, req pub.PipelineRetryRequest) (pub.PipelineExecution, error) {
	return pub.PipelineExecution{}, errTODO
}

// Rollback starts a rollback execution of a stage.
func (p *Pipelines) Rollback(ctx context.Context, actor, name string, req pub.PipelineRollbackRequest) (pub.PipelineExecution, error) {
	return pub.PipelineExecution{}, errTODO
}

// Transition enables or disables a stage's inbound transition.
func (p *Pipelines) Transition(ctx context.Context, actor, name string, req pub.TransitionRequest) (pub.Pipeline, error) {
	return pub.Pipeline{}, errTODO
}

// Approve answers a manual approval; the caller has checked codepipeline:PutApprovalResult.
func (p *Pipelines) Approve(ctx context.Context, actor, name string, req pub.ApprovalResultRequest) (pub.PipelineExecution, error) {
	return pub.PipelineExecution{}, errTODO
}
