package hooks

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// CommandRange is the block of command numbers the hooks own (registered by the git module).
var CommandRange = command.Range{First: 1500, Last: 1519}

// The hooks' commands. Numbers, names, versions and the payloads' JSON are the log format:
// never change them.
var (
	cmdCreate    = command.Define[CreatePayload](1500, "hook.create", 1)
	cmdDelete    = command.Define[DeletePayload](1501, "hook.delete", 1)
	cmdAttempts  = command.Define[AttemptsPayload](1502, "hook.attempts", 1)
	cmdRedeliver = command.Define[RedeliverPayload](1503, "hook.redeliver", 1)
)

// CreatePayload adds Hook to the repository named Repo. Hook.RepoID is the ID the secret was
// sealed for: a repository deleted and made again under the name since is refused.
type CreatePayload struct {
	Repo string `json:"repo"`
	Hook Hook   `json:"hook"`
}

// DeletePayload removes a hook.
type DeletePayload struct {
	Repo string `json:"repo"`
	ID   string `json:"id"`
}

// AttemptsPayload records attempts the leader made (deliver.go).
type AttemptsPayload struct {
	Results []AttemptResult `json:"results"`
}

// AttemptResult is one attempt of one delivery: delivered, given up on (GiveUp: the retry
// window passed), or to be tried again at Next. The leader decides; apply only records, so the
// schedule survives a leader change.
type AttemptResult struct {
	Delivery  string    `json:"delivery"`
	Attempt   Attempt   `json:"attempt"`
	Delivered bool      `json:"delivered,omitempty"`
	GiveUp    bool      `json:"give_up,omitempty"`
	Next      time.Time `json:"next"`
}

// RedeliverPayload queues a delivery's body again as a new delivery to its hook.
type RedeliverPayload struct {
	Repo     string `json:"repo"`
	Delivery string `json:"delivery"`
}

// Resolver finds a repository's ID by its name in apply (the git service's state).
type Resolver func(tx *state.Tx, name string) (id string, err error)

// MaxURL bounds a hook's URL.
const MaxURL = 2048

// checkHook checks a hook's URL (http or https with a host and no credentials) and events, and
// returns the events sorted without duplicates (none: push).
func checkHook(rawURL string, events []string) ([]string, error) {
	if len(rawURL) > MaxURL {
		return nil, fault.New(fault.Invalid, "hook URL is %d bytes; at most %d are allowed", len(rawURL), MaxURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fault.New(fault.Invalid, "hook URL %s: want an http:// or https:// URL with a host, such as https://ci.example.com/slipway", state.Shorten(rawURL))
	}
	if u.User != nil {
		return nil, fault.New(fault.Invalid, "hook URL %s carries credentials, which would be stored in the clear: the receiver checks the X-Slipway-Signature-256 header instead", state.Shorten(u.Redacted()))
	}
	var out []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		if e != "*" && !slices.Contains(Types, e) {
			return nil, fault.New(fault.Invalid, "hook event %s is not one of %s (or *)", state.Shorten(e), strings.Join(Types, ", "))
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		out = []string{TypePush}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Service) applyCreate(tx *state.Tx, _ uint64, c *command.Command, p CreatePayload) (any, error) {
	repoID, err := s.resolve(tx, p.Repo)
	if err != nil {
		return nil, err
	}
	h := p.Hook
	if h.RepoID != repoID {
		return nil, fault.New(fault.Conflict, "repository %s was deleted and made again while the hook was added: add it again", state.Shorten(p.Repo))
	}
	if !isHex(h.ID, 32) || len(h.Secret) == 0 {
		return nil, fault.New(fault.Invalid, "hook: want a 32-hex id and a sealed secret")
	}
	if h.Events, err = checkHook(h.URL, h.Events); err != nil {
		return nil, err
	}
	have := repoHooks(tx, repoID)
	if len(have) >= MaxHooksPerRepo {
		return nil, fault.New(fault.Invalid, "repository %s has %d hooks, the most a repository may have: delete one first (slipway repo hook delete)", p.Repo, len(have))
	}
	if _, ok := getHook(tx, repoID, h.ID); ok {
		return nil, fault.New(fault.Conflict, "hook %s already exists", h.ID)
	}
	h.CreateTime, h.Dropped = c.Time.UTC(), 0
	return nil, putHook(tx, h)
}

func (s *Service) applyDelete(tx *state.Tx, _ uint64, _ *command.Command, p DeletePayload) (any, error) {
	repoID, err := s.resolve(tx, p.Repo)
	if err != nil {
		return nil, err
	}
	if _, ok := getHook(tx, repoID, p.ID); !ok {
		return nil, fault.New(fault.NotFound, "repository %s has no hook %s: see slipway repo hook list --repo %s", state.Shorten(p.Repo), state.Shorten(p.ID), state.Shorten(p.Repo))
	}
	return nil, deleteHook(tx, repoID, p.ID)
}

func (s *Service) applyAttempts(tx *state.Tx, _ uint64, _ *command.Command, p AttemptsPayload) (any, error) {
	for _, r := range p.Results {
		d, ok := getDelivery(tx, r.Delivery)
		if !ok || d.State != StatePending {
			continue // deleted with its hook, or recorded by an earlier leader
		}
		a := r.Attempt
		if len(a.Error) > 512 {
			a.Error = a.Error[:512]
		}
		d.Attempts = append(d.Attempts, a)
		if len(d.Attempts) > MaxAttemptsKept {
			d.Attempts = slices.Delete(d.Attempts, 0, len(d.Attempts)-MaxAttemptsKept)
		}
		switch {
		case r.Delivered:
			d.State, d.NextAttempt = StateDelivered, time.Time{}
		case r.GiveUp:
			d.State, d.NextAttempt = StateFailed, time.Time{}
		default:
			d.NextAttempt = r.Next.UTC()
		}
		if err := putDelivery(tx, d); err != nil {
			return nil, err
		}
		if d.State != StatePending {
			if err := finish(tx, d); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

// RedeliverResult is the answer of hook.redeliver: the new delivery's ID.
type RedeliverResult struct {
	ID string `json:"id"`
}

func (s *Service) applyRedeliver(tx *state.Tx, _ uint64, c *command.Command, p RedeliverPayload) (any, error) {
	repoID, err := s.resolve(tx, p.Repo)
	if err != nil {
		return nil, err
	}
	d, ok := getDelivery(tx, p.Delivery)
	if !ok || d.RepoID != repoID {
		return nil, fault.New(fault.NotFound, "repository %s has no delivery %s (only each hook's last %d are kept): see slipway repo hook deliveries", state.Shorten(p.Repo), state.Shorten(p.Delivery), MaxDeliveriesPerHook)
	}
	h, ok := getHook(tx, repoID, d.HookID)
	if !ok {
		return nil, fault.New(fault.NotFound, "the hook of delivery %s was deleted", p.Delivery)
	}
	if getUint(tx, bucketDeliveries, []byte("queued")) >= MaxQueued || getUint(tx, bucketDeliveries, pendingCountKey(h.ID)) >= MaxPendingPerHook {
		return nil, fault.New(fault.Unavailable, "too many deliveries are pending (%d in all, or %d for this hook, are the most): try again once the receiver catches up", MaxQueued, MaxPendingPerHook)
	}
	before := getUint(tx, bucketDeliveries, []byte("seq"))
	nd := Delivery{Event: d.Event, EventID: d.EventID, Body: d.Body, CreateTime: c.Time.UTC(), RedeliveryOf: d.ID}
	if err := queue(tx, h, nd); err != nil {
		return nil, err
	}
	return RedeliverResult{ID: formatID(before + 1)}, nil
}
