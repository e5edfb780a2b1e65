package deploy

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// configRoutes are the deployment configurations' endpoints.
func (m *Module) configRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/deployment-configs", Access: api.Management, Action: "deploy:CreateDeploymentConfig", Resource: "deployment-config/*", Handle: httpHandlers{m}.configCreate},
		{Method: "GET", Pattern: "/v1/deployment-configs", Access: api.AnyToken, Action: "deploy:ListDeploymentConfigs", Resource: "deployment-config/*", Handle: httpHandlers{m}.configList},
	}
}

func (m httpHandlers) configCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.DeploymentConfig
	if err := m.core.HTTP.Decode(w, r, &req); err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	dc, err := m.Configs().Create(ctx, req)
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusCreated, dc)
	return nil
}

func (m httpHandlers) configList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(*http.Request) (pub.DeploymentConfigList, error) {
		configs, err := m.Configs().List()
		return pub.DeploymentConfigList{Configs: configs}, err
	})(w, r, id)
}
