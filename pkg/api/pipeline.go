package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// The pipeline service's enumerations, spelled as CodePipeline spells them.
const (
	// Execution modes (a pipeline's execution_mode).
	ModeSuperseded = "SUPERSEDED" // the default: a newer execution overtakes one waiting to enter a stage
	ModeQueued     = "QUEUED"     // executions enter each stage in order, one at a time
	ModeParallel   = "PARALLEL"   // executions run independently of each other

	// Execution, stage and action statuses.
	PipelineInProgress = "InProgress"
	PipelineStopping   = "Stopping"
	PipelineStopped    = "Stopped"
	PipelineSucceeded  = "Succeeded"
	PipelineSuperseded = "Superseded"
	PipelineFailed     = "Failed"
	PipelineCancelled  = "Cancelled" // a stage or action an execution never ran, or left when it ended
	PipelineAbandoned  = "Abandoned" // an action whose work a stop abandoned

	// Trigger types of an execution.
	TriggerPush        = "push"
	TriggerPullRequest = "pull_request"
	TriggerManual      = "manual"
	TriggerWebhook     = "webhook"
	TriggerRollback    = "rollback"
	TriggerRetry       = "retry" // a stage condition's automatic retry (the execution is the same)

	// Retry modes of a stage.
	RetryFailedActions = "FAILED_ACTIONS"
	RetryAllActions    = "ALL_ACTIONS"

	// Approval results.
	ApprovalApproved = "Approved"
	ApprovalRejected = "Rejected"
)

// Pipeline is a pipeline as stored: its name, its current version and that version's definition
// (AWS's create-pipeline shape, as JSON), and its stages' inbound transitions.
type Pipeline struct {
	Name          string          `json:"name"`
	Version       int             `json:"version"`
	ExecutionMode string          `json:"execution_mode"`
	Definition    json.RawMessage `json:"definition"`
	// Warnings are the definition's diagnostics that did not refuse it (AWS keys that mean
	// nothing here, ...), as "path:line:col: warning: message".
	Warnings []string `json:"warnings,omitempty"`
	// Transitions are the stages whose inbound transition is disabled, by stage name.
	Transitions map[string]TransitionState `json:"disabled_transitions,omitempty"`
	Webhook     bool                       `json:"webhook,omitempty"` // a webhook start is set up
	CreatedBy   string                     `json:"created_by,omitempty"`
	CreateIndex uint64                     `json:"create_index"`
	ModifyIndex uint64                     `json:"modify_index"`
	CreateTime  time.Time                  `json:"create_time"`
	ModifyTime  time.Time                  `json:"modify_time"`
}

// TransitionState is a disabled inbound transition of a stage: who disabled it, when and why.
type TransitionState struct {
	Reason string    `json:"reason"`
	By     string    `json:"by,omitempty"`
	Time   time.Time `json:"time"`
}

// PipelineSummary is a pipeline in a list.
type PipelineSummary struct {
	Name          string    `json:"name"`
	Version       int       `json:"version"`
	ExecutionMode string    `json:"execution_mode"`
	CreateTime    time.Time `json:"create_time"`
	ModifyTime    time.Time `json:"modify_time"`
	// Latest is the newest execution's status and ID ("" when it never ran).
	LatestStatus    string `json:"latest_status,omitempty"`
	LatestExecution string `json:"latest_execution,omitempty"`
}

// PipelineList is a page of pipelines in name order; Next continues it.
type PipelineList struct {
	Pipelines []PipelineSummary `json:"pipelines"`
	Next      string            `json:"next,omitempty"`
}

// PipelineRequest is the body of create and update: the definition file's text, YAML or JSON,
// with or without the top-level pipeline: wrapper. On update the name in the file must be the
// pipeline's (or absent).
type PipelineRequest struct {
	Definition string `json:"definition"`
	// File names the definition in diagnostics ("": pipeline.yml).
	File string `json:"file,omitempty"`
}

// PipelineStartRequest starts an execution by hand: Variables override the pipeline's
// variables' defaults (an unknown name is refused); SourceRevisions pin source actions to a
// commit, a branch or a tag (by action name; the others take their branch's head).
type PipelineStartRequest struct {
	Variables       map[string]string `json:"variables,omitempty"`
	SourceRevisions map[string]string `json:"source_revisions,omitempty"`
}

// PipelineExecution is one run of a pipeline, with its stages and actions as they ran.
type PipelineExecution struct {
	ID       string `json:"id"`
	Pipeline string `json:"pipeline"`
	// Version is the pipeline version the execution runs.
	Version       int             `json:"version"`
	ExecutionMode string          `json:"execution_mode"`
	Status        string          `json:"status"`
	StatusSummary string          `json:"status_summary,omitempty"`
	Trigger       PipelineTrigger `json:"trigger"`
	// Variables are the pipeline variables' values for this execution (defaults with the
	// start's overrides).
	Variables       map[string]string `json:"variables,omitempty"`
	SourceRevisions []SourceRevision  `json:"source_revisions,omitempty"`
	// WaitingFor is the stage the execution waits to enter ("" when not waiting), WaitReason
	// why: the stage is busy with another execution, or its inbound transition is disabled.
	WaitingFor string `json:"waiting_for,omitempty"`
	WaitReason string `json:"wait_reason,omitempty"`
	// RollbackOf is, for a rollback, the execution whose artifacts the stage runs again.
	RollbackOf string           `json:"rollback_of,omitempty"`
	Stages     []StageExecution `json:"stages"`
	StartTime  time.Time        `json:"start_time"`
	UpdateTime time.Time        `json:"update_time"`
	EndTime    *time.Time       `json:"end_time,omitempty"`
}

// PipelineTrigger says what started an execution: Type (push, pull_request, manual, webhook,
// rollback), the Actor (a user, or "" for the cluster), and for git events the repository,
// ref and commit and the event's ID in the repository event stream.
type PipelineTrigger struct {
	Type       string `json:"type"`
	Actor      string `json:"actor,omitempty"`
	Repository string `json:"repository,omitempty"`
	Ref        string `json:"ref,omitempty"`
	Commit     string `json:"commit,omitempty"`
	EventID    string `json:"event_id,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// SourceRevision is the commit a source action runs, fixed when the execution starts.
type SourceRevision struct {
	Action     string `json:"action"`
	Repository string `json:"repository"`
	Branch     string `json:"branch,omitempty"`
	Commit     string `json:"commit"`
}

// StageExecution is a stage of an execution. Attempt counts its runs (retries add one).
type StageExecution struct {
	Name      string            `json:"name"`
	Status    string            `json:"status,omitempty"` // "" when the execution has not reached it
	Attempt   int               `json:"attempt,omitempty"`
	Actions   []ActionExecution `json:"actions"`
	StartTime *time.Time        `json:"start_time,omitempty"`
	EndTime   *time.Time        `json:"end_time,omitempty"`
}

// ActionExecution is an action of a stage's current attempt.
type ActionExecution struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Provider string `json:"provider"`
	RunOrder int    `json:"run_order"`
	Status   string `json:"status,omitempty"` // "" until it starts
	// Attempt is the stage attempt in which the action last ran (a retry of failed actions
	// keeps a succeeded action's result and attempt).
	Attempt int `json:"attempt,omitempty"`
	// ExternalID names the work the action started: a build ID, a deployment ID, ...
	ExternalID string `json:"external_id,omitempty"`
	Summary    string `json:"summary,omitempty"`
	Error      string `json:"error,omitempty"`
	// Configuration is the action's configuration with its variables resolved (set when it
	// starts).
	Configuration map[string]string `json:"configuration,omitempty"`
	// Commands are a Command action's commands with their variables resolved (set when it
	// starts).
	Commands []string           `json:"commands,omitempty"`
	Inputs   []PipelineArtifact `json:"input_artifacts,omitempty"`
	Outputs  []PipelineArtifact `json:"output_artifacts,omitempty"`
	// Variables are the action's output variables (#{namespace.Name} in later actions).
	Variables map[string]string `json:"output_variables,omitempty"`
	Approval  *ApprovalState    `json:"approval,omitempty"`
	StartTime *time.Time        `json:"start_time,omitempty"`
	EndTime   *time.Time        `json:"end_time,omitempty"`
}

// PipelineArtifact is an artifact an action produced: a blob of the cluster's blob store (a
// tar or a zip), and for a source, the repository and commit it holds.
type PipelineArtifact struct {
	Name       string `json:"name"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	Format     string `json:"format"` // "tar" or "zip"
	Repository string `json:"repository,omitempty"`
	Commit     string `json:"commit,omitempty"`
}

// ApprovalState is a manual approval action's state: Token identifies this wait (a result
// must name it, so a result meant for an earlier attempt is refused), Expires when it fails
// unanswered; Result, By and Comment once answered.
type ApprovalState struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	Result  string    `json:"result,omitempty"`
	By      string    `json:"by,omitempty"`
	Comment string    `json:"comment,omitempty"`
	// CustomData and ExternalEntityLink are the action's configuration's, for the approver.
	CustomData         string `json:"custom_data,omitempty"`
	ExternalEntityLink string `json:"external_entity_link,omitempty"`
}

// PipelineExecutionList is a page of executions, newest first; Next continues it.
type PipelineExecutionList struct {
	Executions []PipelineExecution `json:"executions"`
	Next       string              `json:"next,omitempty"`
}

// PipelineStopRequest stops an execution: Abandon ends its running actions at once (their
// work is stopped: builds and deployments are stopped), otherwise they finish and nothing
// further starts.
type PipelineStopRequest struct {
	Abandon bool   `json:"abandon,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// PipelineRetryRequest retries a failed stage of a failed execution: RetryMode
// FAILED_ACTIONS (the default) runs the failed actions only, ALL_ACTIONS every action again.
type PipelineRetryRequest struct {
	Execution string `json:"execution"`
	Stage     string `json:"stage"`
	RetryMode string `json:"retry_mode,omitempty"`
}

// PipelineRollbackRequest runs stage again with the artifacts of its last successful
// execution (or of TargetExecution when set), in a new execution of trigger type rollback.
type PipelineRollbackRequest struct {
	Stage           string `json:"stage"`
	TargetExecution string `json:"target_execution,omitempty"`
}

// TransitionRequest enables or disables a stage's inbound transition; disabling needs a
// reason.
type TransitionRequest struct {
	Stage   string `json:"stage"`
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason,omitempty"`
}

// ApprovalResultRequest answers a manual approval (PutApprovalResult): Status Approved or
// Rejected. Token is optional: without it the approval the action waits for now is answered.
type ApprovalResultRequest struct {
	Execution string `json:"execution"`
	Stage     string `json:"stage"`
	Action    string `json:"action"`
	Status    string `json:"status"`
	Comment   string `json:"comment,omitempty"`
	Token     string `json:"token,omitempty"`
}

// PipelineWebhookRequest sets up (or replaces) a pipeline's webhook start. The secret is
// sealed and never shown again; a start's body is signed with it (X-Slipway-Signature-256).
type PipelineWebhookRequest struct {
	Secret string `json:"secret"`
}

// PipelineWatchMessage is one message of GET /v1/pipelines/{name}/watch (a websocket): the
// pipeline's newest executions (at most 5, newest first) each time one changes, then End
// when the pipeline is deleted or the watch expires.
type PipelineWatchMessage struct {
	Pipeline   *Pipeline           `json:"pipeline,omitempty"`
	Executions []PipelineExecution `json:"executions,omitempty"`
	End        string              `json:"end,omitempty"`
}

func pipelinePath(name string) string { return "/v1/pipelines/" + url.PathEscape(name) }

// PipelineCreate creates a pipeline from a definition; a definition with errors is refused
// (invalid) with its diagnostics in the message, a name in use is a conflict.
func (c *Client) PipelineCreate(ctx context.Context, req PipelineRequest) (*Pipeline, error) {
	var p Pipeline
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/pipelines", in: req, out: &p})
	return &p, err
}

// PipelineUpdate replaces a pipeline's definition with a new version.
func (c *Client) PipelineUpdate(ctx context.Context, name string, req PipelineRequest) (*Pipeline, error) {
	var p Pipeline
	err := c.do(ctx, request{method: http.MethodPut, path: pipelinePath(name), in: req, out: &p})
	return &p, err
}

// PipelineGet returns a pipeline (its current version).
func (c *Client) PipelineGet(ctx context.Context, name string, q *QueryOptions) (*Pipeline, error) {
	var p Pipeline
	err := c.do(ctx, request{method: http.MethodGet, path: pipelinePath(name), query: q.values(), out: &p})
	return &p, err
}

// PipelineList lists a page of pipelines in name order.
func (c *Client) PipelineList(ctx context.Context, q *QueryOptions) (*PipelineList, error) {
	var l PipelineList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/pipelines", query: q.values(), out: &l})
	return &l, err
}

// PipelineDelete deletes a pipeline and its executions' records; one with executions in
// progress is a conflict (stop them first).
func (c *Client) PipelineDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: pipelinePath(name)})
}

// PipelineStart starts an execution by hand.
func (c *Client) PipelineStart(ctx context.Context, name string, req PipelineStartRequest) (*PipelineExecution, error) {
	var e PipelineExecution
	err := c.do(ctx, request{method: http.MethodPost, path: pipelinePath(name) + "/executions", in: req, out: &e})
	return &e, err
}

// PipelineHistory lists a page of a pipeline's executions, newest first.
func (c *Client) PipelineHistory(ctx context.Context, name string, q *QueryOptions) (*PipelineExecutionList, error) {
	var l PipelineExecutionList
	err := c.do(ctx, request{method: http.MethodGet, path: pipelinePath(name) + "/executions", query: q.values(), out: &l})
	return &l, err
}

// PipelineExecutionGet returns one execution.
func (c *Client) PipelineExecutionGet(ctx context.Context, name, id string, q *QueryOptions) (*PipelineExecution, error) {
	var e PipelineExecution
	err := c.do(ctx, request{method: http.MethodGet, path: pipelinePath(name) + "/executions/" + url.PathEscape(id), query: q.values(), out: &e})
	return &e, err
}

// PipelineStop stops an execution.
func (c *Client) PipelineStop(ctx context.Context, name, id string, req PipelineStopRequest) (*PipelineExecution, error) {
	var e PipelineExecution
	err := c.do(ctx, request{method: http.MethodPost, path: pipelinePath(name) + "/executions/" + url.PathEscape(id) + "/stop", in: req, out: &e})
	return &e, err
}

// PipelineRetry retries a failed stage.
func (c *Client) PipelineRetry(ctx context.Context, name string, req PipelineRetryRequest) (*PipelineExecution, error) {
	var e PipelineExecution
	err := c.do(ctx, request{method: http.MethodPost, path: pipelinePath(name) + "/retry", in: req, out: &e})
	return &e, err
}

// PipelineRollback rolls a stage back; the answer is the new execution.
func (c *Client) PipelineRollback(ctx context.Context, name string, req PipelineRollbackRequest) (*PipelineExecution, error) {
	var e PipelineExecution
	err := c.do(ctx, request{method: http.MethodPost, path: pipelinePath(name) + "/rollback", in: req, out: &e})
	return &e, err
}

// PipelineTransition enables or disables a stage's inbound transition
// (POST /v1/pipelines/{name}/transitions/{stage}/enable or /disable, with the request as body).
func (c *Client) PipelineTransition(ctx context.Context, name string, req TransitionRequest) (*Pipeline, error) {
	var p Pipeline
	verb := "/disable"
	if req.Enabled {
		verb = "/enable"
	}
	err := c.do(ctx, request{method: http.MethodPost, path: pipelinePath(name) + "/transitions/" + url.PathEscape(req.Stage) + verb, in: req, out: &p})
	return &p, err
}

// PipelineApproval answers a manual approval (codepipeline:PutApprovalResult).
func (c *Client) PipelineApproval(ctx context.Context, name string, req ApprovalResultRequest) (*PipelineExecution, error) {
	var e PipelineExecution
	err := c.do(ctx, request{method: http.MethodPost, path: pipelinePath(name) + "/approvals", in: req, out: &e})
	return &e, err
}

// PipelineWebhookSet sets up a pipeline's webhook start; its URL is
// /v1/pipelines/{name}/webhook/start.
func (c *Client) PipelineWebhookSet(ctx context.Context, name string, req PipelineWebhookRequest) (*Pipeline, error) {
	var p Pipeline
	err := c.do(ctx, request{method: http.MethodPut, path: pipelinePath(name) + "/webhook", in: req, out: &p})
	return &p, err
}
