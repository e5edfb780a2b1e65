package hooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// MaxSecret bounds a hook's secret.
const MaxSecret = 256

// Service is the hooks' registration, Go API and HTTP API. The git module makes it and
// registers it inside its own Register (Register below), with a Resolver over its state.
type Service struct {
	// AllowPrivate lets deliveries reach loopback, private and link-local addresses (config
	// webhooks.allow_private_destinations; `slipway dev` sets it). Off, such a destination is
	// refused when dialled, whatever its URL's host resolves to.
	AllowPrivate bool

	core    *module.Core
	resolve Resolver
}

// New returns the hooks over a resolver of repository names.
func New(resolve Resolver) *Service { return &Service{resolve: resolve} }

// Register declares the hooks' commands, buckets, routes and the leader's delivery task, as
// part of the calling module (git).
func (s *Service) Register(r *module.Registry, core *module.Core) {
	s.core = core
	r.Commands(CommandRange)
	module.Handle(r, cmdCreate, s.applyCreate)
	module.Handle(r, cmdDelete, s.applyDelete)
	module.Handle(r, cmdAttempts, s.applyAttempts)
	module.Handle(r, cmdRedeliver, s.applyRedeliver)
	r.Buckets(Buckets()...)
	r.SecretEvents("hook") // a hook's URL may carry a token of its own
	r.Routes(s.routes()...)
	r.Leader("hooks", s.deliver)
}

// view resolves a repository after a read barrier and runs fn on its ID.
func (s *Service) view(ctx context.Context, repo string, fn func(tx *state.Tx, repoID string) error) error {
	if err := s.core.Cluster.ConsistentRead(ctx); err != nil {
		return err
	}
	return s.core.State.View(func(tx *state.Tx) error {
		id, err := s.resolve(tx, repo)
		if err != nil {
			return err
		}
		return fn(tx, id)
	})
}

func hookView(h Hook, repo string) pub.RepoHook {
	return pub.RepoHook{ID: h.ID, Repository: repo, URL: h.URL, Events: h.Events, CreateTime: h.CreateTime, Dropped: h.Dropped}
}

// Create adds a hook to repo. The secret is sealed before it is proposed and never shown again.
func (s *Service) Create(ctx context.Context, repo string, req pub.RepoHookRequest) (pub.RepoHook, error) {
	events, err := checkHook(req.URL, req.Events)
	if err != nil {
		return pub.RepoHook{}, err
	}
	if req.Secret == "" || len(req.Secret) > MaxSecret {
		return pub.RepoHook{}, fault.New(fault.Invalid, "a hook needs a secret of 1 to %d bytes (--secret): the receiver checks each delivery's X-Slipway-Signature-256 with it", MaxSecret)
	}
	var repoID string
	if err := s.view(ctx, repo, func(_ *state.Tx, id string) error { repoID = id; return nil }); err != nil {
		return pub.RepoHook{}, err
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return pub.RepoHook{}, err
	}
	h := Hook{ID: hex.EncodeToString(raw), RepoID: repoID, URL: req.URL, Events: events}
	if h.Secret, err = s.core.Keyring.Seal([]byte(req.Secret), secretAAD(repoID, h.ID)); err != nil {
		return pub.RepoHook{}, err
	}
	_, err = command.Propose(ctx, s.core.Cluster, cmdCreate, s.core.Now(), CreatePayload{Repo: repo, Hook: h})
	if err != nil {
		return pub.RepoHook{}, err
	}
	if err := s.core.Cluster.ConsistentRead(ctx); err != nil {
		return pub.RepoHook{}, err
	}
	h.CreateTime = s.core.Now().UTC()
	var out pub.RepoHook
	err = s.core.State.View(func(tx *state.Tx) error {
		got, ok := getHook(tx, repoID, h.ID)
		if ok {
			h = got
		}
		out = hookView(h, repo)
		return nil
	})
	return out, err
}

// List returns repo's hooks, without their secrets.
func (s *Service) List(ctx context.Context, repo string) ([]pub.RepoHook, error) {
	out := []pub.RepoHook{}
	err := s.view(ctx, repo, func(tx *state.Tx, id string) error {
		for _, h := range repoHooks(tx, id) {
			out = append(out, hookView(h, repo))
		}
		return nil
	})
	return out, err
}

// Delete removes a hook and its deliveries (pending ones are not sent).
func (s *Service) Delete(ctx context.Context, repo, id string) error {
	_, err := command.Propose(ctx, s.core.Cluster, cmdDelete, s.core.Now(), DeletePayload{Repo: repo, ID: id})
	return err
}

func deliveryView(d Delivery, withBody bool) pub.RepoHookDelivery {
	v := pub.RepoHookDelivery{ID: d.ID, HookID: d.HookID, Event: d.Event, EventID: d.EventID, State: d.State, CreateTime: d.CreateTime, RedeliveryOf: d.RedeliveryOf, Attempts: []pub.RepoHookAttempt{}}
	if d.State == StatePending && !d.NextAttempt.IsZero() {
		t := d.NextAttempt
		v.NextAttempt = &t
	}
	for _, a := range d.Attempts {
		v.Attempts = append(v.Attempts, pub.RepoHookAttempt(a))
	}
	if withBody {
		v.Payload = d.Body
	}
	return v
}

// Deliveries returns a hook's kept deliveries, newest first, with their attempts (and their
// bodies when withBody).
func (s *Service) Deliveries(ctx context.Context, repo, hookID string, withBody bool) ([]pub.RepoHookDelivery, error) {
	out := []pub.RepoHookDelivery{}
	err := s.view(ctx, repo, func(tx *state.Tx, id string) error {
		if _, ok := getHook(tx, id, hookID); !ok {
			return fault.New(fault.NotFound, "repository %s has no hook %s: see slipway repo hook list --repo %s", state.Shorten(repo), state.Shorten(hookID), state.Shorten(repo))
		}
		ids := hookDeliveryIDs(tx, hookID)
		for i := len(ids) - 1; i >= 0; i-- {
			if d, ok := getDelivery(tx, ids[i]); ok {
				out = append(out, deliveryView(d, withBody))
			}
		}
		return nil
	})
	return out, err
}

// Redeliver queues a delivery's body again, as a new delivery to the same hook, and returns it.
func (s *Service) Redeliver(ctx context.Context, repo, delivery string) (pub.RepoHookDelivery, error) {
	res, err := command.Propose(ctx, s.core.Cluster, cmdRedeliver, s.core.Now(), RedeliverPayload{Repo: repo, Delivery: delivery})
	if err != nil {
		return pub.RepoHookDelivery{}, err
	}
	var r RedeliverResult
	if err := json.Unmarshal(res.Data, &r); err != nil {
		return pub.RepoHookDelivery{}, fault.New(fault.Internal, "decode the redelivery: %v", err)
	}
	if err := s.core.Cluster.ConsistentRead(ctx); err != nil {
		return pub.RepoHookDelivery{}, err
	}
	var out pub.RepoHookDelivery
	err = s.core.State.View(func(tx *state.Tx) error {
		d, ok := getDelivery(tx, r.ID)
		if !ok {
			out = pub.RepoHookDelivery{ID: r.ID, State: StatePending, RedeliveryOf: delivery, Attempts: []pub.RepoHookAttempt{}}
			return nil
		}
		out = deliveryView(d, false)
		return nil
	})
	return out, err
}

// Stream returns up to limit events after sequence number after, in order (Since).
func (s *Service) Stream(after uint64, limit int) []Body {
	var out []Body
	_ = s.core.State.View(func(tx *state.Tx) error { out = Since(tx, after, limit); return nil })
	return out
}

// routes are /v1/repos/{name}/hooks and the redelivery, authorized as CodeCommit's triggers.
// Reading needs a management token too: a hook's URL often carries a token of its own.
func (s *Service) routes() []api.Route {
	const res = "repo/{name}"
	return []api.Route{
		{Method: "POST", Pattern: "/v1/repos/{name}/hooks", Access: api.Management, Action: "codecommit:PutRepositoryTriggers", Resource: res, Handle: s.httpCreate},
		{Method: "GET", Pattern: "/v1/repos/{name}/hooks", Access: api.Management, Action: "codecommit:GetRepositoryTriggers", Resource: res, Handle: s.httpList},
		{Method: "DELETE", Pattern: "/v1/repos/{name}/hooks/{id}", Access: api.Management, Action: "codecommit:PutRepositoryTriggers", Resource: res, Handle: s.httpDelete},
		{Method: "GET", Pattern: "/v1/repos/{name}/hooks/{id}/deliveries", Access: api.Management, Action: "codecommit:GetRepositoryTriggers", Resource: res, Handle: s.httpDeliveries},
		{Method: "POST", Pattern: "/v1/repos/{name}/deliveries/{delivery}/redeliver", Access: api.Management, Action: "codecommit:TestRepositoryTriggers", Resource: res, Handle: s.httpRedeliver},
	}
}

func (s *Service) httpCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(s.core.HTTP, http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.RepoHookRequest) (pub.RepoHook, error) {
		return s.Create(ctx, r.PathValue("name"), req)
	})(w, r, id)
}

func (s *Service) httpList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(s.core.HTTP, func(r *http.Request) (pub.RepoHookList, error) {
		hs, err := s.List(r.Context(), r.PathValue("name"))
		return pub.RepoHookList{Hooks: hs}, err
	})(w, r, id)
}

func (s *Service) httpDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(s.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return s.Delete(ctx, r.PathValue("name"), r.PathValue("id"))
	})(w, r, id)
}

func (s *Service) httpDeliveries(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(s.core.HTTP, func(r *http.Request) (pub.RepoHookDeliveryList, error) {
		ds, err := s.Deliveries(r.Context(), r.PathValue("name"), r.PathValue("id"), r.URL.Query().Get("payload") == "1")
		return pub.RepoHookDeliveryList{Deliveries: ds}, err
	})(w, r, id)
}

func (s *Service) httpRedeliver(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := s.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	out, err := s.Redeliver(ctx, r.PathValue("name"), r.PathValue("delivery"))
	if err != nil {
		return err
	}
	s.core.HTTP.JSON(w, http.StatusCreated, out)
	return nil
}

// Delivery settings, variables for tests.
var (
	RetryBase   = 10 * time.Second // the wait after a first failed attempt, doubled after each
	RetryMax    = 15 * time.Minute // the longest wait between attempts
	RetryWindow = 3 * time.Hour    // a delivery still failing this long after it was queued is given up
	Timeout     = 10 * time.Second // one attempt, dial to answer
	Poll        = 250 * time.Millisecond
	MaxAnswer   = int64(64 << 10)
)
