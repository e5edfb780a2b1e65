package pipelinespec

// This file fixes the package's API for its users (the pipeline service, the CLI, the
// console); the bodies are the spec's author's to write.

// Diagnostic is one problem found in a definition, rendered "path:line:col: message" (the
// buildspec package's type and rendering).
type Diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Field    string `json:"field,omitempty"`
	Severity string `json:"severity"` // "error" or "warning"
	Message  string `json:"message"`
}

// Diagnostics is a list of diagnostics in file, line, column order.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool { return false }

// Errors returns only the errors; Warnings only the warnings.
func (ds Diagnostics) Errors() Diagnostics   { return nil }
func (ds Diagnostics) Warnings() Diagnostics { return nil }

// Strings renders each diagnostic as "path:line:col: message" ("warning: " before a warning's
// message).
func (ds Diagnostics) Strings() []string { return nil }

// Parse decodes and validates a definition (YAML or JSON, with or without the top-level
// pipeline: wrapper) named file in diagnostics. It never panics; the Pipeline is nil when the
// diagnostics have errors. Providers are normalized (CodeCommit → SlipwayRepo, CodeBuild →
// SlipwayBuild, CodeDeploy → SlipwayDeploy), runOrder defaults to 1, executionMode to
// SUPERSEDED, pipelineType to V2.
func Parse(file string, data []byte) (*Pipeline, Diagnostics) { return nil, nil }

// Resolve replaces every #{namespace.name} in s with lookup's answer (namespace "variables" is
// the pipeline's variables). A reference lookup cannot answer is an error naming it.
func Resolve(s string, lookup func(namespace, name string) (string, bool)) (string, error) {
	return s, nil
}

// EffectiveTriggers answers p's triggers, or when it has none, the default: a push to the
// BranchName of each SlipwayRepo source action (CodePipeline's change detection).
func (p *Pipeline) EffectiveTriggers() []Trigger { return nil }

// SourceAction answers the source action named name (nil when none).
func (p *Pipeline) SourceAction(name string) *Action { return nil }

// NeedsPaths reports whether any of t's filters looks at changed file paths.
func (t Trigger) NeedsPaths() bool { return false }

// MatchPush reports whether a push that moved ref (a full name, refs/heads/... or
// refs/tags/...) and changed the paths changed matches one of t's push filters.
func (t Trigger) MatchPush(ref string, changed []string) bool { return false }

// MatchPullRequest reports whether a pull request event (OPEN, UPDATED or CLOSED) into
// destination (a branch name) that changed the paths changed matches one of t's filters.
func (t Trigger) MatchPullRequest(event, destination string, changed []string) bool { return false }
