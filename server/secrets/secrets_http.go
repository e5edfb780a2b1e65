package secrets

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// routes are the store's endpoints. Metadata reads take any token whose policies allow them
// (ReadOnlyAccess does); the value is a management route although it reads: only a policy that
// names secretsmanager:GetSecretValue allows it (not ReadOnlyAccess), and a client token without
// policies of its own never passes. A name may hold '/', and a {name...} wildcard ends a
// pattern, so the value has a path of its own rather than /v1/secrets/{name...}/value.
func (m *Module) routes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/v1/secrets", Access: api.AnyToken, Action: ActionListSecrets, Resource: "secret/*", Handle: m.list},
		{Method: "GET", Pattern: "/v1/secrets/{name...}", Access: api.AnyToken, Action: ActionDescribeSecret, Resource: "secret/{name...}", Handle: m.get},
		{Method: "GET", Pattern: "/v1/secret-values/{name...}", Access: api.Management, Action: ActionGetSecretValue, Resource: "secret/{name...}", Handle: m.value},
		{Method: "PUT", Pattern: "/v1/secrets/{name...}", Access: api.Management, Action: ActionPutSecretValue, Resource: "secret/{name...}", Handle: m.put},
		{Method: "DELETE", Pattern: "/v1/secrets/{name...}", Access: api.Management, Action: ActionDeleteSecret, Resource: "secret/{name...}", Handle: m.delete},
	}
}

func (m *Module) list(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.Secret, string, error) {
		return m.Service().List(r.Context(), r.URL.Query().Get("prefix"), p)
	}, func(items []pub.Secret, next string) pub.SecretList {
		return pub.SecretList{Secrets: items, Next: next}
	})(w, r, id)
}

func (m *Module) get(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.Secret, error) {
		return m.Service().Get(r.Context(), r.PathValue("name"))
	})(w, r, id)
}

// value answers the secret's value. The edge decided the route already; Service.Value decides
// again (the same decision, for every caller of the Go API) and records the read.
func (m *Module) value(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	rd := Reader{Identity: id, Origin: api.Origin{Secure: r.TLS != nil}, RequestID: m.core.HTTP.RequestID(w)}
	if a, err := netip.ParseAddr(api.SourceOf(r)); err == nil {
		rd.Origin.Addr = a
	}
	v, err := m.Service().Value(ctx, r.PathValue("name"), rd)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	m.core.HTTP.JSON(w, http.StatusOK, v)
	return nil
}

func (m *Module) put(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.SecretPutRequest) (pub.Secret, error) {
		return m.Service().Put(ctx, r.PathValue("name"), req.Value, PutOptions{Description: req.Description, CAS: req.CAS})
	})(w, r, id)
}

func (m *Module) delete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var cas *uint64
	if v := r.URL.Query().Get("cas"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fault.New(fault.Invalid, "cas must be a version (a whole number), not %s", state.Shorten(v))
		}
		cas = &n
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.Service().Delete(ctx, r.PathValue("name"), cas); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
