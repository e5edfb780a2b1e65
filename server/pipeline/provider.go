package pipeline

import (
	"context"
	"time"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// ActionRun is one run of an action, as the leader's driver hands it to a provider: the same
// values on every call about the run and on every leader, read from the replicated execution.
type ActionRun struct {
	Pipeline  string
	Execution string
	Stage     string
	Action    string
	// Attempt is the stage attempt the run belongs to (1, then one more per retry).
	Attempt int
	// Key identifies the run: "pipeline/EXECUTION/STAGE/ACTION/ATTEMPT". Work started for a key
	// is never started a second time: a provider passes it as the request ID of the commands it
	// proposes (command.WithRequestID), or finds the work it began by it.
	Key      string
	Category string
	Provider string // a normalized provider name (pipelinespec.Provider*)
	// Configuration is the action's configuration with every #{...} reference resolved.
	Configuration map[string]string
	Commands      []string
	// Inputs are the action's input artifacts, in the definition's order.
	Inputs []pub.PipelineArtifact
	// OutputNames are the names the action's output artifacts must take, in order.
	OutputNames []string
	// Timeout bounds the work (0: the provider's own default).
	Timeout time.Duration
	// Source is, for a source action, the commit fixed when the execution started.
	Source *pub.SourceRevision
	// StartTime is when the action started (the command's time).
	StartTime time.Time
}

// Result is what a provider answers about a run. Done false: the work goes on (ExternalID and
// Summary may be set already). Done true: Status is pub.PipelineSucceeded or
// pub.PipelineFailed, with Error saying why a failure failed, and the outputs and output
// variables of a success.
type Result struct {
	Done       bool
	Status     string
	ExternalID string
	Summary    string
	Error      string
	Outputs    []pub.PipelineArtifact
	Variables  map[string]string
}

// Provider runs the work of one kind of action (everything but Manual approvals, which the
// engine runs itself). Every method is called by the leader's driver only, and may be called
// again for the same run after a leader change: Start must not begin the work twice for one
// run.Key. Errors are retried by the driver with backoff; a provider ends a run it can never
// finish with a Result{Done: true, Status: pub.PipelineFailed}.
type Provider interface {
	// Start begins the run's work, or finds the work begun for run.Key, and answers its
	// ExternalID; when the work is over at once (a source read), its final Result.
	Start(ctx context.Context, run ActionRun) (Result, error)
	// Poll answers the state of the work Start began (externalID is Start's answer).
	Poll(ctx context.Context, run ActionRun, externalID string) (Result, error)
	// Stop stops the work (an execution stopped with abandon, a superseding rollback).
	Stop(ctx context.Context, run ActionRun, externalID string) error
}

// Need is a permission the author of a pipeline must hold for one of its actions: the pipeline
// acts on the author's behalf, so it must not be a way to do what the author cannot.
type Need struct {
	Action   string // e.g. codebuild:StartBuild
	Resource string // e.g. project/web-build; a part given by a variable is "*"
}

// Checker is what a provider may also do at create and update: name the permissions an action
// needs of the pipeline's author, and check the configuration against the cluster (a project
// that does not exist, ...). Configuration values still hold their #{...} references.
type Checker interface {
	Needs(a pipelinespec.Action) []Need
	Check(ctx context.Context, a pipelinespec.Action) error
}

// Providers are the providers by normalized name (pipelinespec.Provider*), as the server wires
// them. A definition naming a provider missing here is refused at create.
type Providers map[string]Provider
