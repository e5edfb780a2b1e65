package acl

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// routes are the service's endpoints. Method, pattern, access, action and resource are the ones
// these routes had in the core's table before the service moved out: clients and (later)
// policies rely on them.
func (m *Module) routes() []api.Route {
	k := func() *api.Kit { return m.core.HTTP }
	return []api.Route{
		{Method: "POST", Pattern: "/v1/acl/bootstrap", Access: api.Public, Handle: m.bootstrap},
		{Method: "POST", Pattern: "/v1/tokens", Access: api.Management, Action: "iam:CreateToken", Resource: "token/*", Handle: m.tokenCreate},
		{Method: "GET", Pattern: "/v1/tokens", Access: api.Management, Action: "iam:ListTokens", Resource: "token/*", Handle: func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
			return api.List(k(), func(r *http.Request, p api.Page) ([]pub.Token, string, error) { return m.Tokens().List(r.Context(), p) },
				func(items []pub.Token, next string) pub.TokenList { return pub.TokenList{Tokens: items, Next: next} })(w, r, id)
		}},
		{Method: "GET", Pattern: "/v1/tokens/self", Access: api.AnyToken, Action: "sts:GetCallerIdentity", Resource: "token/self", Handle: m.tokenSelf},
		{Method: "GET", Pattern: "/v1/tokens/{accessor}", Access: api.Management, Action: "iam:GetToken", Resource: "token/{accessor}", Handle: func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
			return api.Get(k(), func(r *http.Request) (pub.Token, error) { return m.Tokens().Get(r.Context(), r.PathValue("accessor")) })(w, r, id)
		}},
		{Method: "DELETE", Pattern: "/v1/tokens/{accessor}", Access: api.Management, Action: "iam:DeleteToken", Resource: "token/{accessor}", Handle: m.tokenRevoke},
	}
}

// bootstrap creates the first management token (and, when the body names a user, the first
// administrator user with it). It is public, and works once per cluster. Once
// this server knows the cluster was bootstrapped it answers the conflict itself, without
// proposing (see Tokens.Bootstrapped).
func (m *Module) bootstrap(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	var req pub.ACLBootstrapRequest
	if r.ContentLength != 0 {
		if err := m.core.HTTP.Decode(w, r, &req); err != nil {
			return err
		}
	}
	if err := m.Tokens().Bootstrapped(); err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, nil)
	if err != nil {
		return err
	}
	defer cancel()
	var out pub.Token
	if req.User != "" {
		out, err = m.Tokens().BootstrapAdmin(ctx, req.User, req.Password)
	} else {
		out, err = m.Tokens().Bootstrap(ctx)
	}
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusOK, out)
	return nil
}

func (m *Module) tokenCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.TokenCreateRequest) (pub.Token, error) {
		return m.Tokens().Create(ctx, req)
	})(w, r, id)
}

// tokenSelf shows the caller's own token, as authentication resolved it.
func (m *Module) tokenSelf(w http.ResponseWriter, _ *http.Request, id *auth.Identity) error {
	m.core.HTTP.JSON(w, http.StatusOK, View(id.Token))
	return nil
}

func (m *Module) tokenRevoke(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Tokens().Revoke(ctx, r.PathValue("accessor"))
	})(w, r, id)
}
