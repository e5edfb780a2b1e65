package deploy

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// configRoutes are the deployment configurations' endpoints.
func (m *Module) configRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/deployment-configs", Access: api.Management, Action: "codedeploy:CreateDeploymentConfig", Resource: "deployment-config/*", Handle: httpHandlers{m}.configCreate},
		{Method: "GET", Pattern: "/v1/deployment-configs", Access: api.AnyToken, Action: "codedeploy:ListDeploymentConfigs", Resource: "deployment-config/*", Handle: httpHandlers{m}.configList},
		{Method: "GET", Pattern: "/v1/deployment-configs/{name}", Access: api.AnyToken, Action: "codedeploy:GetDeploymentConfig", Resource: "deployment-config/{name}", Handle: httpHandlers{m}.configGet},
		{Method: "DELETE", Pattern: "/v1/deployment-configs/{name}", Access: api.Management, Action: "codedeploy:DeleteDeploymentConfig", Resource: "deployment-config/{name}", Handle: httpHandlers{m}.configDelete},
	}
}

func (m httpHandlers) configCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.DeploymentConfig) (pub.DeploymentConfig, error) {
		return m.Configs().Create(ctx, req)
	})(w, r, id)
}

func (m httpHandlers) configList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(*http.Request) (pub.DeploymentConfigList, error) {
		configs, err := m.Configs().List()
		return pub.DeploymentConfigList{Configs: configs}, err
	})(w, r, id)
}

func (m httpHandlers) configGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.DeploymentConfig, error) {
		return m.Configs().Get(r.PathValue("name"))
	})(w, r, id)
}

func (m httpHandlers) configDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Configs().Delete(ctx, r.PathValue("name"))
	})(w, r, id)
}
