package deploy

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// The resource names of deployments and revisions, which their paths do not hold. A policy on
// an application ("srn:slipway:codedeploy:app/shop" and ".../app/shop/*") covers its groups,
// its deployments and its revisions, as a CodeDeploy policy on an application and its
// deployment groups does:
//
//	a deployment to a group      app/APP/group/GROUP
//	a deployment to listed hosts app/APP
//	a revision                   app/APP
//
// A deployment or revision this server cannot find is named "deployment/ID" or "revision/ID":
// only a caller allowed every resource gets as far as the handler's 404, so a narrower caller
// learns nothing of which IDs exist.

// deploymentResource names a deployment's group: the resource of a deployment given by ID.
func deploymentResource(app, group string) string {
	if group == "" {
		return "app/" + app
	}
	return "app/" + app + "/group/" + group
}

// resolveDeployment is the ResolveResource of the routes of one deployment (/v1/deployments/{id}...).
func (m httpHandlers) resolveDeployment(r *http.Request) (string, error) {
	d, err := m.header(r)
	if fault.CodeOf(err) == fault.NotFound {
		return "deployment/" + r.PathValue("id"), nil
	}
	if err != nil {
		return "", err
	}
	return deploymentResource(d.App, d.Group), nil
}

// resolveDeploymentCreate is the ResolveResource of POST /v1/deployments: the group (or the
// application) the body names. A body without an application is the handler's to refuse.
func (m httpHandlers) resolveDeploymentCreate(r *http.Request) (string, error) {
	var req pub.DeploymentCreateRequest
	if err := m.core.HTTP.PeekJSON(r, &req); err != nil {
		return "", err
	}
	if req.App == "" {
		return "deployment/*", nil
	}
	return deploymentResource(req.App, req.Group), nil
}

// resolveDeploymentList is the ResolveResource of GET /v1/deployments: the application or group
// its filters name, "deployment/*" without them.
func (m httpHandlers) resolveDeploymentList(r *http.Request) (string, error) {
	q := r.URL.Query()
	if q.Get("app") == "" {
		return "deployment/*", nil
	}
	return deploymentResource(q.Get("app"), q.Get("group")), nil
}

// resolveRevision is the ResolveResource of the routes of one revision: its application.
func (m httpHandlers) resolveRevision(r *http.Request) (string, error) {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	rev, err := m.Revisions().Resolve(ctx, r.URL.Query().Get("app"), r.PathValue("id"))
	if err != nil {
		// Not found, ambiguous or malformed: the handler answers it to a caller allowed every
		// revision; anyone narrower is denied on a name that says nothing.
		return "revision/" + r.PathValue("id"), nil
	}
	return "app/" + rev.App, nil
}
