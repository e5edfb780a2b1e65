package pipeline

import (
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// Buckets. Their names are in snapshots: never change them.
var (
	bucketPipelines  = []byte("pipeline/pipelines")  // name -> Record
	bucketVersions   = []byte("pipeline/versions")   // name | 0 | version (8 bytes BE) -> pipelinespec.Pipeline
	bucketExecutions = []byte("pipeline/executions") // execution ID -> Execution
	bucketHistory    = []byte("pipeline/history")    // name | 0 | start index (8 bytes BE) -> execution ID
	bucketActive     = []byte("pipeline/active")     // execution ID -> "" while InProgress or Stopping (the driver's scan)
	bucketMeta       = []byte("pipeline/meta")       // "cursor": the last repository event handled; counts
	// bucketAbandoned lists the actions a stop abandoned whose work the driver must still
	// stop: "execution/stage/action" -> attempt. The driver calls the provider's Stop, then
	// proposes pipeline.action_result with status Abandoned, whose apply deletes the entry.
	bucketAbandoned = []byte("pipeline/abandoned")
)

// Record is a pipeline as the state keeps it: the current version's definition, its stages'
// lanes (which execution is in each stage and which wait to enter it), its disabled
// transitions and its webhook's sealed secret.
type Record struct {
	Name     string                `json:"name"`
	Version  int                   `json:"version"`
	Spec     pipelinespec.Pipeline `json:"spec"`
	Warnings []string              `json:"warnings,omitempty"`
	// Transitions are the disabled inbound transitions, by stage name.
	Transitions map[string]pub.TransitionState `json:"transitions,omitempty"`
	// Lanes are the stages' occupancy (SUPERSEDED and QUEUED modes), by stage name.
	Lanes   map[string]*Lane `json:"lanes,omitempty"`
	Webhook []byte           `json:"webhook,omitempty"` // sealed secret; nil: no webhook start
	// EventSeq is the repository event stream's sequence number when the pipeline was created:
	// events at or before it never start it.
	EventSeq    uint64    `json:"event_seq"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	CreateTime  time.Time `json:"create_time"`
	ModifyTime  time.Time `json:"modify_time"`
}

// Lane is one stage's occupancy: the execution in it ("" when free) and the executions waiting
// to enter it, oldest first (at most one in SUPERSEDED mode: a newer one supersedes it).
type Lane struct {
	Running string   `json:"running,omitempty"`
	Waiting []string `json:"waiting,omitempty"`
}

// Execution is one execution as the state keeps it: the API's view plus what the engine needs.
// Stages holds every stage of the version it runs (a rollback: the one stage), in order.
type Execution struct {
	pub.PipelineExecution
	StartIndex uint64 `json:"start_index"`
	// Artifacts are the artifacts produced so far, by name.
	Artifacts map[string]pub.PipelineArtifact `json:"artifacts,omitempty"`
	// Namespaces are the output variables produced so far, by namespace.
	Namespaces map[string]map[string]string `json:"namespaces,omitempty"`
	// Retried counts the automatic retries (onFailure RETRY) done, by stage.
	Retried map[string]int `json:"retried,omitempty"`
	// Abandon: a stop that abandons the running actions (the driver stops their work).
	Abandon bool `json:"abandon,omitempty"`
	// Deadlines are the running actions' deadlines (approvals, timeouts), by "stage/action".
	Deadlines map[string]time.Time `json:"deadlines,omitempty"`
}
