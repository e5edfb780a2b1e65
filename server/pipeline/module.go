// Package pipeline is the pipeline service (issue 21, CodePipeline V2's model): pipelines and
// their executions in the replicated state, the commands that change them (1800-1899), the
// engine that decides in apply what each execution does next, the leader's driver that runs
// the actions' work through providers, the trigger that starts executions from the
// repositories' event stream, the Go API (Pipelines) and /v1/pipelines, authorized by
// CodePipeline's action names on pipeline/NAME. See DESIGN.md.
package pipeline

import (
	"context"

	"github.com/slipwayhq/slipway/server/core/module"
)

// Changes is how the trigger learns what a push changed (the git service's, wired by the
// server): the paths that differ between two commits of repo (old may be the zero ID: every
// path of new), at most max of them (more: truncated true).
type Changes interface {
	ChangedPaths(ctx context.Context, repo, old, new string, max int) (paths []string, truncated bool, err error)
	// Resolve answers the commit a branch, tag or commit ID names in repo (fault.NotFound).
	Resolve(ctx context.Context, repo, version string) (commit string, err error)
}

// Module is the pipeline service's registration. Its exported fields are settings the server
// sets after New, before Register.
type Module struct {
	// Providers run actions' work, by normalized provider name; Manual is the engine's own.
	Providers Providers
	// Changes reads repositories for the trigger and for manual starts; nil: pipelines with
	// SlipwayRepo sources cannot start (503).
	Changes Changes

	core *module.Core
	svc  service // service.go: the providers' lock, the webhook deliveries seen
}

// New returns the pipeline service.
func New() *Module { return &Module{Providers: Providers{}} }

// Name implements module.Module.
func (*Module) Name() string { return "pipeline" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	r.Commands(commandRange)
	r.Actions("codepipeline")
	r.Buckets(bucketPipelines, bucketVersions, bucketExecutions, bucketHistory, bucketActive, bucketMeta, bucketAbandoned)
	m.registerApply(r)   // apply.go: the engine
	m.registerService(r) // service.go: routes, driver, trigger, timeouts
}
