package api

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// RegistrationPrefix starts every registration token secret.
const RegistrationPrefix = "slwr_"

// maxHostTokenUses bounds --max-uses (a larger fleet needs no single token for all of it).
const maxHostTokenUses = 1_000_000

func (s hostsAPI) hostTokenCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.HostTokenCreateRequest
	if r.ContentLength != 0 {
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
	}
	if err := state.ValidateTags(req.Tags); err != nil {
		return err
	}
	if err := state.ValidateAllowTags(req.AllowTags); err != nil {
		return err
	}
	if req.MaxUses < 0 || req.MaxUses > maxHostTokenUses {
		return fault.New(fault.Invalid, "max_uses %d is out of range: give 1-%d, or 0 for no limit", req.MaxUses, maxHostTokenUses)
	}
	secret := RegistrationPrefix + auth.NewSecret()[len(auth.SecretPrefix):]
	p := command.HostTokenCreate{AccessorID: uuid.NewString(), SecretHash: auth.HashSecret(secret), Tags: req.Tags,
		AllowTags: req.AllowTags, MaxUses: req.MaxUses}
	switch req.TTL {
	case pub.HostTokenTTLNever:
	case "":
		p.ExpirationTime = s.cfg.Now().Add(pub.DefaultHostTokenTTL).UnixNano()
	default:
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return fault.New(fault.Invalid, "ttl %q is not a positive duration such as 1h or 24h (for a token that never expires, say %q)", state.Clip(req.TTL), pub.HostTokenTTLNever)
		}
		p.ExpirationTime = s.cfg.Now().Add(ttl).UnixNano()
	}
	res, err := s.apply(r, id, command.TypeHostTokenCreate, p)
	if err != nil {
		return err
	}
	var ht state.HostToken
	if err := decodeData(res, &ht); err != nil {
		return err
	}
	if ht.SecretHash != auth.HashSecret(secret) {
		return fault.New(fault.Conflict, "this request was already applied; its registration token was shown once: create another")
	}
	out := s.hostTokenView(ht)
	out.Token = secret
	if s.cfg.CA != nil {
		out.CAPin = s.cfg.CA.Pin()
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// hostTokenView shows a registration token without its secret.
func (s hostsAPI) hostTokenView(ht state.HostToken) pub.HostToken {
	status := pub.HostTokenActive
	switch {
	case ht.Expired(s.cfg.Now()):
		status = pub.HostTokenExpired
	case ht.UsedUp():
		status = pub.HostTokenUsedUp
	}
	return pub.HostToken{AccessorID: ht.AccessorID, Tags: ht.Tags, AllowTags: ht.AllowTags, MaxUses: ht.MaxUses, Uses: ht.Uses,
		CreateTime: ht.CreateTime, ExpirationTime: ht.ExpirationTime, ExpiresAt: ht.ExpirationTime, Status: status}
}

func (s hostsAPI) hostTokenList(r *http.Request, p Page) (out []pub.HostToken, next string, err error) {
	err = s.cfg.State.View(func(tx *state.Tx) error {
		list, n, err := tx.HostTokens().List(p.After, p.Limit)
		for _, ht := range list {
			out = append(out, s.hostTokenView(ht))
		}
		next = n
		return err
	})
	return out, next, err
}

func (s hostsAPI) hostTokenGet(r *http.Request) (view pub.HostToken, err error) {
	err = s.cfg.State.View(func(tx *state.Tx) error {
		ht, err := tx.HostTokens().Get(r.PathValue("accessor"))
		view = s.hostTokenView(ht)
		return err
	})
	return view, err
}

// hostTokenRevoke deletes a registration token; a registration presented with it afterwards, on
// any server, is refused (the FSM checks the token at apply).
func (s hostsAPI) hostTokenRevoke(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if _, err := s.apply(r, id, command.TypeHostTokenRevoke, command.HostTokenRevoke{AccessorID: r.PathValue("accessor")}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// groupNames names the keys of hosts' current revisions (internal IDs, which only the service
// that wrote them can name) through Config.RevisionNames.
func (s hostsAPI) groupNames(tx *state.Tx) map[string]string {
	if s.cfg.RevisionNames == nil {
		return nil
	}
	return s.cfg.RevisionNames(tx)
}

// hostView shows a host; its current revisions are keyed by "app/group" (names, from
// groupNames) or "app" for deployments to named hosts, instead of internal group IDs.
func (s hostsAPI) hostView(h state.Host, names map[string]string) pub.Host {
	status := pub.HostOffline
	if h.Server != "" && s.cfg.Now().Sub(h.LastSeen) < s.cfg.HostTimeout {
		status = pub.HostOnline
	}
	var revs map[string]string
	if len(h.Revisions) > 0 {
		revs = map[string]string{}
		for id, rev := range h.Revisions {
			key := id
			if n, ok := names[id]; ok {
				key = n
			} else if app, ok := strings.CutPrefix(id, "app-"); ok {
				key = app
			}
			revs[key] = rev
		}
	}
	return pub.Host{ID: h.ID, Name: h.Name, Tags: h.Tags, Status: status, Address: h.Address, Hostname: h.Hostname,
		OS: h.OS, Arch: h.Arch, AgentVersion: h.AgentVersion, LastSeen: h.LastSeen, RegisterTime: h.RegisterTime, Revisions: revs}
}

func (s hostsAPI) hostList(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := s.readBarrier(r); err != nil {
		return err
	}
	out := pub.HostList{Hosts: []pub.Host{}}
	err := s.cfg.State.View(func(tx *state.Tx) error {
		hosts, err := tx.ListHosts()
		names := s.groupNames(tx)
		for _, h := range hosts {
			out.Hosts = append(out.Hosts, s.hostView(h, names))
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Slice(out.Hosts, func(i, j int) bool { return out.Hosts[i].Name < out.Hosts[j].Name })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s hostsAPI) hostByName(r *http.Request) (state.Host, error) {
	var h state.Host
	err := s.cfg.State.View(func(tx *state.Tx) error {
		var err error
		h, err = tx.HostByName(r.PathValue("name"))
		return err
	})
	return h, err
}

func (s hostsAPI) hostGet(r *http.Request) (view pub.Host, err error) {
	err = s.cfg.State.View(func(tx *state.Tx) error {
		h, err := tx.HostByName(r.PathValue("name"))
		view = s.hostView(h, s.groupNames(tx))
		return err
	})
	return view, err
}

func (s hostsAPI) hostDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	h, err := s.hostByName(r)
	if err != nil {
		return err
	}
	if _, err := s.apply(r, id, command.TypeHostDelete, command.HostDelete{HostID: h.ID, Tombstone: true}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s hostsAPI) hostTag(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.HostTagRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if err := state.ValidateTags(req.Set); err != nil {
		return err
	}
	for _, k := range req.Remove {
		if err := state.ValidateName("tag key", k); err != nil {
			return err
		}
	}
	if len(req.Remove) > state.MaxTags {
		return fault.New(fault.Invalid, "%d tag keys to remove; the limit is %d", len(req.Remove), state.MaxTags)
	}
	h, err := s.hostByName(r)
	if err != nil {
		return err
	}
	res, err := s.apply(r, id, command.TypeHostTag, command.HostTag{HostID: h.ID, Set: req.Set, Remove: req.Remove, Operator: true})
	if err != nil {
		return err
	}
	var updated state.Host
	if err := decodeData(res, &updated); err != nil {
		return err
	}
	var view pub.Host
	_ = s.cfg.State.View(func(tx *state.Tx) error { view = s.hostView(updated, s.groupNames(tx)); return nil })
	writeJSON(w, http.StatusOK, view)
	return nil
}

// hostsAPI serves the hosts and their registration tokens (the routes of this file).
type hostsAPI struct{ *Server }
