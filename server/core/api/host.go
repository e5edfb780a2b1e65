package api

import (
	"context"
	"net/http"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fleet"
	"github.com/slipwayhq/slipway/server/core/state"
)

// RegistrationPrefix starts every registration token secret.
const RegistrationPrefix = fleet.RegistrationPrefix

// hostsAPI serves the hosts and their registration tokens (the routes of this file): decode,
// call the fleet's Go API (Server.hosts, Server.tokens), answer.
type hostsAPI struct{ *Server }

// newFleet builds the fleet's Go API from the server's configuration.
func newFleet(cfg Config) (*fleet.Hosts, *fleet.RegistrationTokens) {
	var pin string
	if cfg.CA != nil {
		pin = cfg.CA.Pin()
	}
	return &fleet.Hosts{Cluster: cfg.Cluster, State: cfg.State, Now: cfg.Now, Timeout: cfg.HostTimeout, RevisionNames: cfg.RevisionNames},
		&fleet.RegistrationTokens{Cluster: cfg.Cluster, State: cfg.State, Now: cfg.Now, CAPin: pin}
}

func (s hostsAPI) hostTokenCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.HostTokenCreateRequest
	if r.ContentLength != 0 {
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
	}
	ctx, cancel, err := s.Kit().WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	out, err := s.tokens.Create(ctx, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s hostsAPI) hostTokenList(r *http.Request, p Page) ([]pub.HostToken, string, error) {
	return s.tokens.List(r.Context(), p.After, p.Limit)
}

func (s hostsAPI) hostTokenGet(r *http.Request) (pub.HostToken, error) {
	return s.tokens.Get(r.Context(), r.PathValue("accessor"))
}

// hostTokenRevoke deletes a registration token (fleet.RegistrationTokens.Revoke).
func (s hostsAPI) hostTokenRevoke(ctx context.Context, r *http.Request) error {
	return s.tokens.Revoke(ctx, r.PathValue("accessor"))
}

// hostList answers a page of hosts in name order, filtered by ?tag=KEY=VALUE (repeatable: every
// one must match) and ?status=online|offline.
func (s hostsAPI) hostList(r *http.Request, p Page) ([]pub.Host, string, error) {
	q := fleet.HostQuery{Status: r.URL.Query().Get("status"), After: p.After, Limit: p.Limit}
	for _, kv := range r.URL.Query()["tag"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, "", fault.New(fault.Invalid, "tag %s must be KEY=VALUE", state.Shorten(kv))
		}
		if q.Tags == nil {
			q.Tags = map[string]string{}
		}
		if old, dup := q.Tags[k]; dup && old != v {
			return nil, "", fault.New(fault.Invalid, "tag %s is given twice with different values (%s and %s): no host has both", state.Shorten(k), state.Shorten(old), state.Shorten(v))
		}
		q.Tags[k] = v
	}
	return s.hosts.Query(r.Context(), q)
}

func (s hostsAPI) hostGet(r *http.Request) (pub.Host, error) {
	return s.hosts.Get(r.Context(), r.PathValue("name"))
}

func (s hostsAPI) hostDelete(ctx context.Context, r *http.Request) error {
	return s.hosts.Delete(ctx, r.PathValue("name"))
}

func (s hostsAPI) hostTag(ctx context.Context, r *http.Request, req pub.HostTagRequest) (pub.Host, error) {
	return s.hosts.Tag(ctx, r.PathValue("name"), req.Set, req.Remove)
}
