package build

import "github.com/slipwayhq/slipway/server/core/command"

// Batch builds' commands (1750-1769, batch.go). Part of the Raft log format: never change them.
var (
	cmdBatchStart = command.Define[BatchStartPayload](1750, "build.batch_start", 1)
	cmdBatchStop  = command.Define[BatchStopPayload](1751, "build.batch_stop", 1)
)

// BatchStartPayload records batch ID ("PROJECT:UUID") IN_PROGRESS and one child build per task,
// each numbered by apply in the tasks' order. The proposer read the buildspec and expanded its
// batch key into Tasks; Source, Environment, the timeouts and ServiceRole are the project's with
// the start's overrides (as StartPayload's), which each task's own overrides change.
type BatchStartPayload struct {
	ID                    string             `json:"id"`
	Project               string             `json:"project"`
	ProjectCreateIndex    uint64             `json:"project_create_index"`
	Initiator             string             `json:"initiator"`
	SourceVersion         string             `json:"source_version,omitempty"`
	ResolvedSourceVersion string             `json:"resolved_source_version,omitempty"`
	Source                Source             `json:"source"`
	Environment           Environment        `json:"environment"`
	TimeoutMinutes        int                `json:"timeout_minutes"`
	QueuedTimeoutMinutes  int                `json:"queued_timeout_minutes"`
	ServiceRole           string             `json:"service_role,omitempty"`
	Kind                  string             `json:"kind"`
	FastFail              bool               `json:"fast_fail,omitempty"`
	Tasks                 []BatchTaskPayload `json:"tasks"`
}

// BatchTaskPayload is one build of a batch: its identifier and build ID ("PROJECT:UUID"), the
// buildspec path it runs ("": the batch's source's), its environment overrides (Image "" and
// Privileged false keep the project's; Variables are added or replace the project's of the same
// name), whether its failure fails the batch, and the identifiers it waits for.
type BatchTaskPayload struct {
	Identifier    string     `json:"identifier"`
	BuildID       string     `json:"build_id"`
	Buildspec     string     `json:"buildspec,omitempty"`
	Image         string     `json:"image,omitempty"`
	Privileged    bool       `json:"privileged,omitempty"`
	Variables     []Variable `json:"variables,omitempty"`
	IgnoreFailure bool       `json:"ignore_failure,omitempty"`
	DependOn      []string   `json:"depend_on,omitempty"`
}

// BatchStopPayload stops batch ID: its queued children end STOPPED, its running ones get
// stop_requested; a batch that ended is left as it is.
type BatchStopPayload struct {
	ID    string `json:"id"`
	Actor string `json:"actor"`
}
