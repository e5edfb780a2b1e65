package providers

import (
	"context"
	"encoding/json"
	"math"
	"strings"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/build"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// Configuration keys of a SlipwayBuild (Build, Test) action.
const (
	KeyProjectName          = "ProjectName"
	KeyEnvironmentVariables = "EnvironmentVariables"
)

// ActionStartBuild is what a pipeline's author must be allowed on a project its actions build.
const ActionStartBuild = "codebuild:StartBuild"

// Build is the SlipwayBuild provider: a build of ProjectName whose source is the action's
// first input artifact (build.StartOptions.SourceArtifact; without one, the project's own
// source), with EnvironmentVariables (CodeBuild's JSON list [{name, value, type}]) as
// overrides. The build's ID is the run's ExternalID. A build that SUCCEEDED gives its primary
// artifact (the zip the project keeps) as the first output artifact and its exported
// variables as output variables; one that ended otherwise fails the action with its status
// and its failed phase's message.
type Build struct{ builds *build.Module }

// Start implements pipeline.Provider.
func (p *Build) Start(ctx context.Context, run pipeline.ActionRun) (pipeline.Result, error) {
	project := run.Configuration[KeyProjectName]
	if project == "" {
		return failed("", "", "configuration %s is required", KeyProjectName), nil
	}
	req := pub.BuildStartRequest{Project: project, TimeoutMinutesOverride: timeoutMinutes(run)}
	if v := run.Configuration[KeyEnvironmentVariables]; v != "" {
		if err := json.Unmarshal([]byte(v), &req.EnvironmentVariablesOverride); err != nil {
			return failed("", "", "configuration %s is not a JSON list of {\"name\", \"value\", \"type\"}: %v", KeyEnvironmentVariables, err), nil
		}
	}
	return p.start(ctx, run, req, build.StartOptions{SourceArtifact: sourceArtifact(run)})
}

// start starts the run's build (once per run: under the run's request ID) and answers its ID.
func (p *Build) start(ctx context.Context, run pipeline.ActionRun, req pub.BuildStartRequest, opts build.StartOptions) (pipeline.Result, error) {
	b, err := p.builds.Builds().StartWith(withRequestID(ctx, "build", run), initiator(run.Pipeline), req, opts)
	if err != nil {
		if final(err) {
			return failed("", "", "build of project %s: %v", req.Project, err), nil
		}
		return pipeline.Result{}, err
	}
	return pipeline.Result{Status: pub.PipelineInProgress, ExternalID: b.ID, Summary: "build " + b.ID}, nil
}

// sourceArtifact is the run's first input artifact as a build's source (nil: none).
func sourceArtifact(run pipeline.ActionRun) *build.SourceArtifact {
	in, ok := input(run)
	if !ok {
		return nil
	}
	return &build.SourceArtifact{SHA256: in.SHA256, Size: in.Size, Format: in.Format, Repository: in.Repository, Commit: in.Commit}
}

// timeoutMinutes is the run's timeout as a build's (0: the project's), within a build's
// bounds (5 minutes to 36 hours).
func timeoutMinutes(run pipeline.ActionRun) int {
	if run.Timeout <= 0 {
		return 0
	}
	return min(max(int(math.Ceil(run.Timeout.Minutes())), 5), 2160)
}

// Poll implements pipeline.Provider.
func (p *Build) Poll(ctx context.Context, run pipeline.ActionRun, id string) (pipeline.Result, error) {
	b, err := p.builds.Builds().Get(ctx, id)
	if err != nil {
		if final(err) {
			return failed(id, "build "+id, "build %s: %v", id, err), nil
		}
		return pipeline.Result{}, err
	}
	return buildResult(run, b), nil
}

// buildResult is what a build's state says of the run.
func buildResult(run pipeline.ActionRun, b pub.Build) pipeline.Result {
	res := pipeline.Result{Status: pub.PipelineInProgress, ExternalID: b.ID, Summary: "build " + b.ID}
	switch b.Status {
	case pub.BuildQueued, pub.BuildInProgress:
		return res
	case pub.BuildSucceeded:
	default:
		msg := "build " + b.ID + " ended " + b.Status
		for _, ph := range b.Phases {
			if ph.Status != "" && ph.Status != pub.BuildSucceeded {
				msg += " in " + ph.Name
				if ph.Message != "" {
					msg += ": " + ph.Message
				}
				break
			}
		}
		return failed(b.ID, res.Summary, "%s", msg)
	}
	res.Done, res.Status, res.Variables = true, pub.PipelineSucceeded, b.ExportedVariables
	if len(run.OutputNames) == 0 {
		return res
	}
	for _, a := range b.Artifacts {
		if a.Identifier == "" || a.Identifier == "primary" {
			res.Outputs = []pub.PipelineArtifact{{Name: run.OutputNames[0], SHA256: a.Blob, Size: a.Size, Format: "zip"}}
			return res
		}
	}
	return failed(b.ID, res.Summary, "build %s kept no primary artifact for output artifact %s: give project %s artifacts of type %s and the buildspec an artifacts section",
		b.ID, run.OutputNames[0], b.Project, pub.ArtifactsBlob)
}

// Stop implements pipeline.Provider: the build is stopped (one that ended is left as it is).
func (p *Build) Stop(ctx context.Context, run pipeline.ActionRun, id string) error {
	_, err := p.builds.Builds().Stop(ctx, initiator(run.Pipeline), id)
	if fault.CodeOf(err) == fault.NotFound {
		return nil
	}
	return err
}

// Needs implements pipeline.Checker.
func (p *Build) Needs(a pipelinespec.Action) []pipeline.Need {
	return []pipeline.Need{{Action: ActionStartBuild, Resource: "project/" + resourcePart(a.Configuration[KeyProjectName])}}
}

// Check implements pipeline.Checker: the project exists (unless a variable names it), and
// EnvironmentVariables is CodeBuild's JSON list.
func (p *Build) Check(ctx context.Context, a pipelinespec.Action) error {
	project := a.Configuration[KeyProjectName]
	if project == "" {
		return fault.New(fault.Invalid, "action %s: configuration %s is required", a.Name, KeyProjectName)
	}
	if v := a.Configuration[KeyEnvironmentVariables]; v != "" && !variable(v) {
		var list []pub.EnvironmentVariable
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return fault.New(fault.Invalid, "action %s: configuration %s is not a JSON list of {\"name\", \"value\", \"type\"}: %v", a.Name, KeyEnvironmentVariables, err)
		}
	}
	return p.checkProject(ctx, a.Name, project)
}

// checkProject checks that a build project exists, unless a variable names it.
func (p *Build) checkProject(ctx context.Context, action, project string) error {
	if variable(project) {
		return nil
	}
	if _, err := p.builds.Projects().Get(ctx, project); err != nil {
		msg := err.Error()
		if fault.CodeOf(err) == fault.NotFound {
			msg = "build project " + project + " does not exist: create it ('slipway build project create') or name another"
		}
		return fault.New(fault.CodeOf(err), "action %s: %s", action, strings.TrimSpace(msg))
	}
	return nil
}
