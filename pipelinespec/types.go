// Package pipelinespec reads pipeline definitions: AWS CodePipeline's create-pipeline shape
// (V2), in YAML or JSON, with or without the top-level "pipeline:" wrapper. Parse decodes and
// validates a file with path:line:col diagnostics; the types carry AWS's JSON names, so a
// definition is stored and shown (slipway pipeline get --output json) in the shape it came in.
// The package is pure: no I/O, no server; the pipeline service and the CLI both use it.
package pipelinespec

// Categories of actions.
const (
	CategorySource   = "Source"
	CategoryBuild    = "Build"
	CategoryTest     = "Test"
	CategoryDeploy   = "Deploy"
	CategoryApproval = "Approval"
	CategoryInvoke   = "Invoke"
)

// Built-in providers. Parse normalizes AWS's names (CodeCommit, CodeBuild, CodeDeploy) to these.
const (
	ProviderRepo    = "SlipwayRepo"   // Source: a branch of a Slipway repository
	ProviderBuild   = "SlipwayBuild"  // Build and Test: a Slipway build project
	ProviderDeploy  = "SlipwayDeploy" // Deploy: a Slipway deployment group
	ProviderManual  = "Manual"        // Approval: a person's approval
	ProviderCommand = "Command"       // Invoke: a command run on an agent with given labels
)

// Stage condition results (onFailure.result).
const (
	ResultFail     = "FAIL"
	ResultRetry    = "RETRY"
	ResultRollback = "ROLLBACK"
)

// Pipeline is a parsed, valid definition. Its JSON is AWS's pipeline structure.
type Pipeline struct {
	Name          string     `json:"name"`
	PipelineType  string     `json:"pipelineType,omitempty"`  // "V2" (V1 is read as V2)
	ExecutionMode string     `json:"executionMode,omitempty"` // SUPERSEDED (default), QUEUED, PARALLEL
	Variables     []Variable `json:"variables,omitempty"`
	Triggers      []Trigger  `json:"triggers,omitempty"`
	Stages        []Stage    `json:"stages"`
}

// Variable is a pipeline variable: #{variables.NAME} in action configuration. A start may
// override its default.
type Variable struct {
	Name         string `json:"name"`
	DefaultValue string `json:"defaultValue,omitempty"`
	Description  string `json:"description,omitempty"`
}

// Stage is a stage: its actions, run by runOrder (equal runOrders in parallel, higher ones
// after), and what happens when it fails.
type Stage struct {
	Name      string     `json:"name"`
	Actions   []Action   `json:"actions"`
	OnFailure *Condition `json:"onFailure,omitempty"`
}

// Condition is a stage's onFailure: Result FAIL (the default), RETRY (the stage is retried
// once, RetryMode FAILED_ACTIONS or ALL_ACTIONS) or ROLLBACK (the stage runs again with the
// artifacts of its last successful execution).
type Condition struct {
	Result             string       `json:"result"`
	RetryConfiguration *RetryConfig `json:"retryConfiguration,omitempty"`
}

// RetryConfig is a RETRY condition's mode.
type RetryConfig struct {
	RetryMode string `json:"retryMode,omitempty"`
}

// Action is an action of a stage. Configuration values may hold #{namespace.Variable} and
// #{variables.name} references, resolved when the action starts.
type Action struct {
	Name             string            `json:"name"`
	ActionTypeID     ActionType        `json:"actionTypeId"`
	RunOrder         int               `json:"runOrder"` // 1 when absent
	Configuration    map[string]string `json:"configuration,omitempty"`
	Commands         []string          `json:"commands,omitempty"` // Command (Invoke) actions
	InputArtifacts   []ArtifactRef     `json:"inputArtifacts,omitempty"`
	OutputArtifacts  []ArtifactRef     `json:"outputArtifacts,omitempty"`
	Namespace        string            `json:"namespace,omitempty"`
	TimeoutInMinutes int               `json:"timeoutInMinutes,omitempty"` // 0: the provider's default
}

// ActionType is AWS's actionTypeId; Provider is normalized to a built-in name.
type ActionType struct {
	Category string `json:"category"`
	Owner    string `json:"owner,omitempty"`
	Provider string `json:"provider"`
	Version  string `json:"version,omitempty"`
}

// ArtifactRef names an artifact.
type ArtifactRef struct {
	Name string `json:"name"`
}

// Trigger is a V2 trigger: git pushes or pull requests of the repository of the source action
// it names, filtered.
type Trigger struct {
	ProviderType     string    `json:"providerType,omitempty"` // accepted as given (CodeStarSourceConnection, ...)
	GitConfiguration GitConfig `json:"gitConfiguration"`
}

// GitConfig is a trigger's filters. An event starts the pipeline when any one filter of its
// kind matches.
type GitConfig struct {
	SourceActionName string              `json:"sourceActionName"`
	Push             []PushFilter        `json:"push,omitempty"`
	PullRequest      []PullRequestFilter `json:"pullRequest,omitempty"`
}

// PushFilter matches a push: by branches or tags (one of them), and the changed file paths.
type PushFilter struct {
	Branches  *Filter `json:"branches,omitempty"`
	Tags      *Filter `json:"tags,omitempty"`
	FilePaths *Filter `json:"filePaths,omitempty"`
}

// PullRequestFilter matches a pull request event (Events: OPEN, UPDATED, CLOSED) by its
// destination branch and the changed file paths.
type PullRequestFilter struct {
	Events    []string `json:"events,omitempty"`
	Branches  *Filter  `json:"branches,omitempty"`
	FilePaths *Filter  `json:"filePaths,omitempty"`
}

// Filter is a list of glob patterns to include and to exclude (exclusion wins).
type Filter struct {
	Includes []string `json:"includes,omitempty"`
	Excludes []string `json:"excludes,omitempty"`
}
