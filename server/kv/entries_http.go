package kv

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

// routes are the store's endpoints: any token reads, a management token writes.
func (m *Module) routes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/v1/kv", Access: api.AnyToken, Action: "kv:ListKeys", Resource: "key/*", Handle: m.list},
		{Method: "GET", Pattern: "/v1/kv/{key...}", Access: api.AnyToken, Action: "kv:GetKey", Resource: "key/{key...}", Handle: m.get},
		{Method: "PUT", Pattern: "/v1/kv/{key...}", Access: api.Management, Action: "kv:PutKey", Resource: "key/{key...}", Handle: m.put},
		{Method: "DELETE", Pattern: "/v1/kv/{key...}", Access: api.Management, Action: "kv:DeleteKey", Resource: "key/{key...}", Handle: m.delete},
	}
}

func (m *Module) list(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.KVEntry, string, error) {
		return m.Entries().List(r.Context(), r.URL.Query().Get("prefix"), p)
	}, func(items []pub.KVEntry, next string) pub.KVList { return pub.KVList{Entries: items, Next: next} })(w, r, id)
}

func (m *Module) get(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.KVEntry, error) {
		return m.Entries().Get(r.Context(), r.PathValue("key"))
	})(w, r, id)
}

func (m *Module) put(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, req pub.KVPutRequest) (pub.KVEntry, error) {
		return m.Entries().Put(ctx, r.PathValue("key"), req.Value, req.CAS)
	})(w, r, id)
}

func (m *Module) delete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var cas *uint64
	if v := r.URL.Query().Get("cas"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fault.New(fault.Invalid, "cas must be a modify index (a whole number), not %s", state.Shorten(v))
		}
		cas = &n
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.Entries().Delete(ctx, r.PathValue("key"), cas); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
