package providers

import (
	"context"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/deploy"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// Configuration keys of a SlipwayDeploy (Deploy) action.
const (
	KeyApplicationName     = "ApplicationName"
	KeyDeploymentGroupName = "DeploymentGroupName"
)

// What a pipeline's author must be allowed for a Deploy action: to register its artifact as a
// revision of the application, and to deploy to the group.
const (
	ActionRegisterRevision = "codedeploy:RegisterApplicationRevision"
	ActionCreateDeployment = "codedeploy:CreateDeployment"
)

// Deploy is the SlipwayDeploy provider: the action's first input artifact becomes a revision
// of ApplicationName (deploy.Revisions.CreateFromBlob: the upload's bundle checks, the app's
// existing revision of the same content reused), deployed to DeploymentGroupName with the
// group's configuration. The deployment's ID is the run's ExternalID; the action succeeds
// when the deployment does, and fails when it fails or is stopped.
type Deploy struct{ deployments *deploy.Module }

// Start implements pipeline.Provider.
func (p *Deploy) Start(ctx context.Context, run pipeline.ActionRun) (pipeline.Result, error) {
	app, group := run.Configuration[KeyApplicationName], run.Configuration[KeyDeploymentGroupName]
	if app == "" || group == "" {
		return failed("", "", "configuration %s and %s are required", KeyApplicationName, KeyDeploymentGroupName), nil
	}
	in, ok := input(run)
	if !ok {
		return failed("", "", "a deploy action needs an input artifact: the bundle to deploy"), nil
	}
	desc := "pipeline " + run.Pipeline + " execution " + run.Execution + " artifact " + in.Name
	rev, _, err := p.deployments.Revisions().CreateFromBlob(withRequestID(ctx, "revision", run), app, in.SHA256, clip(desc, 255))
	if err != nil {
		if final(err) {
			return failed("", "", "artifact %s as a revision of application %s: %v", in.Name, app, err), nil
		}
		return pipeline.Result{}, err
	}
	d, err := p.deployments.Deployments().Create(withRequestID(ctx, "deployment", run),
		pub.DeploymentCreateRequest{App: app, Revision: rev.ID, Group: group})
	if err != nil {
		if final(err) {
			return failed("", "revision "+rev.ID, "deployment of revision %s to group %s of application %s: %v", rev.ID, group, app, err), nil
		}
		return pipeline.Result{}, err
	}
	return deploymentResult(d), nil
}

// Poll implements pipeline.Provider.
func (p *Deploy) Poll(ctx context.Context, _ pipeline.ActionRun, id string) (pipeline.Result, error) {
	d, err := p.deployments.Deployments().Get(ctx, id)
	if err != nil {
		if final(err) {
			return failed(id, "deployment "+id, "deployment %s: %v", id, err), nil
		}
		return pipeline.Result{}, err
	}
	return deploymentResult(d), nil
}

// deploymentResult is what a deployment's state says of the run.
func deploymentResult(d pub.Deployment) pipeline.Result {
	res := pipeline.Result{Status: pub.PipelineInProgress, ExternalID: d.ID,
		Summary: "deployment " + d.ID + " of revision " + d.Revision + " to " + d.App + "/" + d.Group}
	switch d.Status {
	case pub.DeploymentSucceeded:
		res.Done, res.Status = true, pub.PipelineSucceeded
		res.Variables = map[string]string{"DeploymentId": d.ID, "RevisionId": d.Revision}
	case pub.DeploymentFailed, pub.DeploymentStopped:
		msg := "deployment " + d.ID + " " + d.Status
		if d.Message != "" {
			msg += ": " + d.Message
		}
		return failed(d.ID, res.Summary, "%s", msg)
	}
	return res
}

// Stop implements pipeline.Provider: the deployment is stopped, without a rollback (one that
// ended is left as it is).
func (p *Deploy) Stop(ctx context.Context, _ pipeline.ActionRun, id string) error {
	d, err := p.deployments.Deployments().Get(ctx, id)
	switch {
	case fault.CodeOf(err) == fault.NotFound:
		return nil
	case err != nil:
		return err
	case d.Status != pub.DeploymentInProgress:
		return nil
	}
	_, err = p.deployments.Deployments().Stop(ctx, id, false)
	if c := fault.CodeOf(err); c == fault.NotFound || c == fault.Conflict {
		return nil // it ended meanwhile
	}
	return err
}

// Needs implements pipeline.Checker: codedeploy:CreateDeployment on app/APP/group/GROUP (as
// the deployments' routes name a group's deployment) and
// codedeploy:RegisterApplicationRevision on app/APP; a part a variable gives is "*".
func (p *Deploy) Needs(a pipelinespec.Action) []pipeline.Need {
	app, group := resourcePart(a.Configuration[KeyApplicationName]), resourcePart(a.Configuration[KeyDeploymentGroupName])
	return []pipeline.Need{
		{Action: ActionRegisterRevision, Resource: "app/" + app},
		{Action: ActionCreateDeployment, Resource: "app/" + app + "/group/" + group},
	}
}

// Check implements pipeline.Checker: the application exists, and its deployment group, each
// unless a variable names it.
func (p *Deploy) Check(ctx context.Context, a pipelinespec.Action) error {
	app, group := a.Configuration[KeyApplicationName], a.Configuration[KeyDeploymentGroupName]
	if app == "" || group == "" {
		return fault.New(fault.Invalid, "action %s: configuration %s and %s are required", a.Name, KeyApplicationName, KeyDeploymentGroupName)
	}
	if variable(app) {
		return nil
	}
	if err := p.deployments.Apps().Exists(ctx, app); err != nil {
		return fault.New(fault.CodeOf(err), "action %s: %v", a.Name, err)
	}
	if variable(group) {
		return nil
	}
	if _, err := p.deployments.Groups().Get(app, group); err != nil {
		return fault.New(fault.CodeOf(err), "action %s: %v", a.Name, err)
	}
	return nil
}
