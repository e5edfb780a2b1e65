// Package providers is the pipeline service's built-in action providers (issue 21): SlipwayRepo
// (a source: a commit of a Slipway repository as a tar), SlipwayBuild (a build of a build
// project from the input artifact), SlipwayDeploy (the input artifact as a revision, deployed
// to a deployment group) and Command (commands run on an agent with given labels, as a build),
// each a pipeline.Provider and a pipeline.Checker over the Go APIs of the git, build and
// deployment services, and Changes, the git service as the pipeline trigger reads it. The
// server wires them (server/services.go); the pipeline's leader driver calls them.
//
// Idempotency: a provider may be called again for the same run after a leader change. Every
// write a provider proposes carries a request ID derived from the run's Key (requestID), so
// the state machine answers a repeated start with the first one's build, revision or
// deployment for as long as it remembers request IDs (state.RequestTTL); a source's archive
// is content-addressed, so repeating it stores nothing twice.
package providers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/deploy"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// Set is the built-in providers over the services they use. The services' Go APIs are read
// at each call: they work once the services are registered.
type Set struct {
	Repo    *Repo
	Build   *Build
	Deploy  *Deploy
	Command *Command
	changes Changes
}

// New returns the providers over the git, build and deployment services.
func New(repos *git.Module, builds *build.Module, deployments *deploy.Module) *Set {
	b := &Build{builds: builds}
	return &Set{
		Repo:    &Repo{git: repos},
		Build:   b,
		Deploy:  &Deploy{deployments: deployments},
		Command: &Command{build: b},
		changes: Changes{git: repos},
	}
}

// Providers are the set by normalized provider name, for pipeline.Module.Providers.
func (s *Set) Providers() pipeline.Providers {
	return pipeline.Providers{
		pipelinespec.ProviderRepo:    s.Repo,
		pipelinespec.ProviderBuild:   s.Build,
		pipelinespec.ProviderDeploy:  s.Deploy,
		pipelinespec.ProviderCommand: s.Command,
	}
}

// Changes is the git service as the pipeline trigger reads it, for pipeline.Module.Changes.
func (s *Set) Changes() pipeline.Changes { return s.changes }

var (
	_ pipeline.Provider = (*Repo)(nil)
	_ pipeline.Checker  = (*Repo)(nil)
	_ pipeline.Provider = (*Build)(nil)
	_ pipeline.Checker  = (*Build)(nil)
	_ pipeline.Provider = (*Deploy)(nil)
	_ pipeline.Checker  = (*Deploy)(nil)
	_ pipeline.Provider = (*Command)(nil)
	_ pipeline.Checker  = (*Command)(nil)
)

// requestID is the request ID of the write of kind ("build", "revision", ...) a run proposes:
// the same for every call about the run, on every leader, and distinct per kind (a request ID
// answers one command). It is a hash, so any key fits the log's bound on request IDs (128
// bytes) with room for the suffixes services derive from it ("-status").
func requestID(kind, key string) string {
	sum := sha256.Sum256([]byte(key))
	return "pipeline/" + kind + "/" + hex.EncodeToString(sum[:20])
}

// withRequestID is ctx carrying the run's request ID for writes of kind.
func withRequestID(ctx context.Context, kind string, run pipeline.ActionRun) context.Context {
	return command.WithRequestID(ctx, requestID(kind, run.Key))
}

// initiator is who the builds and deployments a pipeline starts name as their initiator, as
// CodeBuild names a pipeline's builds.
func initiator(pipelineName string) string { return "codepipeline/" + pipelineName }

// failed is a run's final failure.
func failed(externalID, summary, format string, args ...any) pipeline.Result {
	r := pipeline.Result{Done: true, Status: pub.PipelineFailed, ExternalID: externalID, Summary: summary, Error: format}
	if len(args) > 0 {
		r.Error = sprintf(format, args...)
	}
	return r
}

// final answers whether err says the work can never be done as asked, so the run fails
// rather than being retried: a refusal by the state machine is remembered under the run's
// request ID, so a retry would only hear it again, and the other codes name what is wrong
// with the configuration or the cluster's resources. Unavailable, timeouts and the like are
// the driver's to retry.
func final(err error) bool {
	switch fault.CodeOf(err) {
	case fault.Invalid, fault.NotFound, fault.Forbidden, fault.Conflict, fault.TooLarge:
		return true
	}
	return false
}

// variable reports whether a configuration value still holds a #{...} reference.
func variable(v string) bool { return strings.Contains(v, "#{") }

// resourcePart is a configuration value as a part of a resource name: "*" when a variable
// gives it.
func resourcePart(v string) string {
	if variable(v) {
		return "*"
	}
	return v
}

// input is the run's first input artifact, false when it has none.
func input(run pipeline.ActionRun) (pub.PipelineArtifact, bool) {
	if len(run.Inputs) == 0 {
		return pub.PipelineArtifact{}, false
	}
	return run.Inputs[0], true
}
