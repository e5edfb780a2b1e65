package pipeline

import (
	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
)

// commandRange is the block of command numbers the service owns.
var commandRange = command.Range{First: 1800, Last: 1899}

// The service's commands. Their numbers, names, schema versions and payload JSON are part of
// the Raft log format: never change them once released. The proposer does everything that
// needs git, a clock, randomness or another service (parsing and checking the definition,
// resolving source commits, making IDs); apply decides everything else from the replicated
// state and the command's time, so every server applies the same and an execution carries on
// across leader changes.
var (
	cmdCreate        = command.Define[CreatePayload](1800, "pipeline.create", 1)
	cmdUpdate        = command.Define[UpdatePayload](1801, "pipeline.update", 1)
	cmdDelete        = command.Define[DeletePayload](1802, "pipeline.delete", 1)
	cmdWebhook       = command.Define[WebhookPayload](1803, "pipeline.webhook", 1)
	cmdTransition    = command.Define[TransitionPayload](1804, "pipeline.transition", 1)
	cmdStart         = command.Define[StartPayload](1810, "pipeline.start", 1)
	cmdTrigger       = command.Define[TriggerPayload](1811, "pipeline.trigger", 1)
	cmdStop          = command.Define[StopPayload](1812, "pipeline.stop", 1)
	cmdRetry         = command.Define[RetryPayload](1813, "pipeline.retry", 1)
	cmdRollback      = command.Define[RollbackPayload](1814, "pipeline.rollback", 1)
	cmdActionStarted = command.Define[ActionStartedPayload](1820, "pipeline.action_started", 1)
	cmdActionResult  = command.Define[ActionResultPayload](1821, "pipeline.action_result", 1)
	cmdApproval      = command.Define[ApprovalPayload](1822, "pipeline.approval", 1)
	cmdTimeout       = command.Define[TimeoutPayload](1823, "pipeline.timeout", 1)
)

// CreatePayload creates pipeline Spec.Name at version 1. Spec is parsed and checked by the
// proposer; apply checks names and bounds only.
type CreatePayload struct {
	Spec     pipelinespec.Pipeline `json:"spec"`
	Warnings []string              `json:"warnings,omitempty"`
	Actor    string                `json:"actor"`
}

// UpdatePayload replaces pipeline Spec.Name's definition with version Version (the current
// one + 1: otherwise a conflict, the pipeline changed since the proposer read it).
type UpdatePayload struct {
	Spec     pipelinespec.Pipeline `json:"spec"`
	Version  int                   `json:"version"`
	Warnings []string              `json:"warnings,omitempty"`
	Actor    string                `json:"actor"`
}

// DeletePayload deletes pipeline Name with its executions' records; a conflict while any
// execution is in progress.
type DeletePayload struct {
	Name string `json:"name"`
}

// WebhookPayload sets pipeline Name's webhook secret, sealed by the proposer (nil removes it).
type WebhookPayload struct {
	Name   string `json:"name"`
	Sealed []byte `json:"sealed,omitempty"`
}

// TransitionPayload disables (with Reason) or enables stage Stage's inbound transition.
// Enabling lets an execution waiting at it enter when the stage is free.
type TransitionPayload struct {
	Name    string `json:"name"`
	Stage   string `json:"stage"`
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason,omitempty"`
	Actor   string `json:"actor"`
}

// Start is one execution to start: ID chosen by the proposer ("UUID"), the pipeline version the
// proposer read (a conflict if it changed since), the trigger, the variables' values (defaults
// with overrides, every declared variable) and every source action's commit.
type Start struct {
	ExecutionID     string               `json:"execution_id"`
	Pipeline        string               `json:"pipeline"`
	Version         int                  `json:"version"`
	Trigger         pub.PipelineTrigger  `json:"trigger"`
	Variables       map[string]string    `json:"variables,omitempty"`
	SourceRevisions []pub.SourceRevision `json:"source_revisions"`
}

// StartPayload starts one execution by hand or from a webhook.
type StartPayload struct {
	Start
}

// TriggerPayload starts the executions the repository event Seq (git/hooks' stream) matched,
// and moves the service's event cursor to Seq. A Seq at or before the cursor changes nothing
// (a new leader proposing the same event again). A start whose pipeline changed version or was
// created after the event is skipped.
type TriggerPayload struct {
	Seq    uint64  `json:"seq"`
	Starts []Start `json:"starts,omitempty"`
}

// StopPayload stops execution ExecutionID: Abandon ends its running actions Abandoned at once
// (the driver then stops their work); otherwise they finish and nothing further starts.
type StopPayload struct {
	ExecutionID string `json:"execution_id"`
	Abandon     bool   `json:"abandon,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Actor       string `json:"actor"`
}

// RetryPayload retries failed stage Stage of failed execution ExecutionID (Mode
// FAILED_ACTIONS or ALL_ACTIONS).
type RetryPayload struct {
	ExecutionID string `json:"execution_id"`
	Stage       string `json:"stage"`
	Mode        string `json:"mode"`
	Actor       string `json:"actor"`
}

// RollbackPayload starts execution ExecutionID (new) of type rollback: stage Stage alone, with
// the artifacts and variables that Target (an execution whose Stage succeeded) gave it.
type RollbackPayload struct {
	ExecutionID string `json:"execution_id"`
	Pipeline    string `json:"pipeline"`
	Stage       string `json:"stage"`
	Target      string `json:"target"`
	Actor       string `json:"actor"`
}

// ActionStartedPayload records the work a provider began for an action's run (the driver
// proposes it): ignored unless the action is still in progress in that Attempt.
type ActionStartedPayload struct {
	ExecutionID string `json:"execution_id"`
	Stage       string `json:"stage"`
	Action      string `json:"action"`
	Attempt     int    `json:"attempt"`
	ExternalID  string `json:"external_id"`
	Summary     string `json:"summary,omitempty"`
}

// ActionResultPayload ends an action's run (the driver proposes it): ignored unless the action
// is still in progress in that Attempt, so a result proposed twice applies once. Apply then
// decides what follows (the next run order, the stage's end, the next stage, the execution's
// end, a stage condition).
type ActionResultPayload struct {
	ExecutionID string                 `json:"execution_id"`
	Stage       string                 `json:"stage"`
	Action      string                 `json:"action"`
	Attempt     int                    `json:"attempt"`
	Status      string                 `json:"status"` // pub.PipelineSucceeded or pub.PipelineFailed
	ExternalID  string                 `json:"external_id,omitempty"`
	Summary     string                 `json:"summary,omitempty"`
	Error       string                 `json:"error,omitempty"`
	Outputs     []pub.PipelineArtifact `json:"outputs,omitempty"`
	Variables   map[string]string      `json:"variables,omitempty"`
}

// ApprovalPayload answers a manual approval. Token must be the action's current one ("" takes
// the current one); By is the approver, whose permission the proposer checked.
type ApprovalPayload struct {
	ExecutionID string `json:"execution_id"`
	Stage       string `json:"stage"`
	Action      string `json:"action"`
	Token       string `json:"token,omitempty"`
	Status      string `json:"status"` // pub.ApprovalApproved or pub.ApprovalRejected
	Comment     string `json:"comment,omitempty"`
	By          string `json:"by"`
}

// TimeoutPayload fails an action whose deadline passed (an approval unanswered, a run over
// its timeout), checked again against the command's time in apply.
type TimeoutPayload struct {
	ExecutionID string `json:"execution_id"`
	Stage       string `json:"stage"`
	Action      string `json:"action"`
	Attempt     int    `json:"attempt"`
}
