package deploy

import (
	"context"
	"net/http"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// appRoutes are the applications' endpoints.
func (m *Module) appRoutes() []api.Route {
	return []api.Route{
		{Method: "POST", Pattern: "/v1/apps", Access: api.Management, Action: "codedeploy:CreateApplication", Resource: "app/*", Handle: httpHandlers{m}.appCreate},
		{Method: "GET", Pattern: "/v1/apps", Access: api.AnyToken, Action: "codedeploy:ListApplications", Resource: "app/*", Handle: httpHandlers{m}.appList},
		{Method: "GET", Pattern: "/v1/apps/{name}", Access: api.AnyToken, Action: "codedeploy:GetApplication", Resource: "app/{name}", Handle: httpHandlers{m}.appGet},
		{Method: "PUT", Pattern: "/v1/apps/{name}", Access: api.Management, Action: "codedeploy:UpdateApplication", Resource: "app/{name}", Handle: httpHandlers{m}.appUpdate},
		{Method: "DELETE", Pattern: "/v1/apps/{name}", Access: api.Management, Action: "codedeploy:DeleteApplication", Resource: "app/{name}", Handle: httpHandlers{m}.appDelete},
	}
}

func (m httpHandlers) appCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.AppCreateRequest) (pub.App, error) {
		return m.Apps().Create(ctx, req)
	})(w, r, id)
}

// appUpdate replaces an application's description. ?cas=N makes it conditional on the
// application's ModifyIndex being N (Consul's check-and-set); a mismatch is a 409 conflict.
func (m httpHandlers) appUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.AppUpdateRequest
	if err := m.core.HTTP.Decode(w, r, &req); err != nil {
		return err
	}
	var cas uint64
	if v := r.URL.Query().Get("cas"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return fault.New(fault.Invalid, "cas=%s is not an index: give the modify_index you read (a positive integer), or leave cas out", state.Shorten(v))
		}
		cas = n
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	a, err := m.Apps().Update(ctx, r.PathValue("name"), req, cas)
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, a)
	return nil
}

func (m httpHandlers) appList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(_ *http.Request, p api.Page) ([]pub.App, string, error) { return m.Apps().List(p) },
		func(apps []pub.App, next string) pub.AppList { return pub.AppList{Apps: apps, Next: next} })(w, r, id)
}

func (m httpHandlers) appGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.App, error) { return m.Apps().Get(r.PathValue("name")) })(w, r, id)
}

func (m httpHandlers) appDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Apps().Delete(ctx, r.PathValue("name"))
	})(w, r, id)
}
