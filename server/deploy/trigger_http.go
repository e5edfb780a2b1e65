package deploy

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// triggerRoutes are the groups' triggers' endpoints. Adding one answers its secret, once. Listing
// needs a management token too: a webhook URL often carries a secret of its own (Slack's do).
func (m *Module) triggerRoutes() []api.Route {
	const res = "app/{app}/group/{name}"
	return []api.Route{
		{Method: "POST", Pattern: "/v1/apps/{app}/groups/{name}/triggers", Access: api.Management, Action: "codedeploy:CreateTrigger", Resource: res, Handle: httpHandlers{m}.triggerAdd},
		{Method: "GET", Pattern: "/v1/apps/{app}/groups/{name}/triggers", Access: api.Management, Action: "codedeploy:ListTriggers", Resource: res, Handle: httpHandlers{m}.triggerList},
		{Method: "DELETE", Pattern: "/v1/apps/{app}/groups/{name}/triggers/{trigger}", Access: api.Management, Action: "codedeploy:DeleteTrigger", Resource: res, Handle: httpHandlers{m}.triggerRemove},
	}
}

func (m httpHandlers) triggerAdd(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.TriggerRequest) (pub.TriggerCreated, error) {
		return m.Triggers().Add(ctx, r.PathValue("app"), r.PathValue("name"), req)
	})(w, r, id)
}

func (m httpHandlers) triggerList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.TriggerList, error) {
		ts, err := m.Triggers().List(r.PathValue("app"), r.PathValue("name"))
		return pub.TriggerList{Triggers: ts}, err
	})(w, r, id)
}

func (m httpHandlers) triggerRemove(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Triggers().Remove(ctx, r.PathValue("app"), r.PathValue("name"), r.PathValue("trigger"))
	})(w, r, id)
}
