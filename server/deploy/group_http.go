package deploy

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// groupRoutes are the deployment groups' endpoints.
func (m *Module) groupRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/apps/{app}/groups", Access: api.Management, Action: "codedeploy:CreateDeploymentGroup", Resource: "app/{app}/group/*", Handle: httpHandlers{m}.groupCreate},
		{Method: "GET", Pattern: "/v1/apps/{app}/groups", Access: api.AnyToken, Action: "codedeploy:ListDeploymentGroups", Resource: "app/{app}/group/*", Handle: httpHandlers{m}.groupList},
		{Method: "GET", Pattern: "/v1/apps/{app}/groups/{name}", Access: api.AnyToken, Action: "codedeploy:GetDeploymentGroup", Resource: "app/{app}/group/{name}", Handle: httpHandlers{m}.groupGet},
		{Method: "PUT", Pattern: "/v1/apps/{app}/groups/{name}", Access: api.Management, Action: "codedeploy:UpdateDeploymentGroup", Resource: "app/{app}/group/{name}", Handle: httpHandlers{m}.groupUpdate},
		{Method: "DELETE", Pattern: "/v1/apps/{app}/groups/{name}", Access: api.Management, Action: "codedeploy:DeleteDeploymentGroup", Resource: "app/{app}/group/{name}", Handle: httpHandlers{m}.groupDelete},
	}
}

func (m httpHandlers) groupCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.GroupRequest) (pub.Group, error) {
		return m.Groups().Create(ctx, r.PathValue("app"), req)
	})(w, r, id)
}

// groupUpdate is a partial update: fields the body leaves out keep their value.
func (m httpHandlers) groupUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.GroupUpdateRequest) (pub.Group, error) {
		return m.Groups().Update(ctx, r.PathValue("app"), r.PathValue("name"), req)
	})(w, r, id)
}

func (m httpHandlers) groupGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Group, error) {
		return m.Groups().Get(r.PathValue("app"), r.PathValue("name"))
	})(w, r, id)
}

func (m httpHandlers) groupList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.GroupList, error) {
		groups, err := m.Groups().List(r.PathValue("app"))
		if groups == nil {
			groups = []pub.Group{}
		}
		return pub.GroupList{Groups: groups}, err
	})(w, r, id)
}

func (m httpHandlers) groupDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Groups().Delete(ctx, r.PathValue("app"), r.PathValue("name"))
	})(w, r, id)
}
