package fleet

import (
	"context"
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

// MaxTokenUses bounds a registration token's max_uses (a larger fleet needs no single token for
// all of it).
const MaxTokenUses = 1_000_000

// RegistrationTokens is the registration tokens' Go API: an agent registers a host with one.
// Its fields are its dependencies; CAPin may be empty.
type RegistrationTokens struct {
	// Cluster replicates the commands (the node's Raft member).
	Cluster command.Proposer
	// State is this server's state.
	State Reader
	// Now is the clock: of default expirations and of a token's status.
	Now func() time.Time
	// CAPin is the cluster CA's pin, shown with a token when it is created so an agent can
	// trust the servers ("" when the server runs without TLS).
	CAPin string
}

// Create creates a registration token and returns it with its secret (shown this once) and
// the CA pin. Its tags, allowed tag patterns, max_uses (0-MaxTokenUses, 0: no limit) and ttl
// (a positive duration, "" for pub.DefaultHostTokenTTL, pub.HostTokenTTLNever for none) are
// checked in that order before anything is proposed. A retry of a request already applied (the
// same idempotency key in ctx) is a conflict: the secret cannot be shown again.
func (s *RegistrationTokens) Create(ctx context.Context, req pub.HostTokenCreateRequest) (pub.HostToken, error) {
	if err := state.ValidateTags(req.Tags); err != nil {
		return pub.HostToken{}, err
	}
	if err := state.ValidateAllowTags(req.AllowTags); err != nil {
		return pub.HostToken{}, err
	}
	if req.MaxUses < 0 || req.MaxUses > MaxTokenUses {
		return pub.HostToken{}, fault.New(fault.Invalid, "max_uses %d is out of range: give 1-%d, or 0 for no limit", req.MaxUses, MaxTokenUses)
	}
	secret := RegistrationPrefix + auth.NewSecret()[len(auth.SecretPrefix):]
	p := command.HostTokenCreate{AccessorID: uuid.NewString(), SecretHash: auth.HashSecret(secret), Tags: req.Tags,
		AllowTags: req.AllowTags, MaxUses: req.MaxUses}
	switch req.TTL {
	case pub.HostTokenTTLNever:
	case "":
		p.ExpirationTime = s.Now().Add(pub.DefaultHostTokenTTL).UnixNano()
	default:
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return pub.HostToken{}, fault.New(fault.Invalid, "ttl %q is not a positive duration such as 1h or 24h (for a token that never expires, say %q)", state.Clip(req.TTL), pub.HostTokenTTLNever)
		}
		p.ExpirationTime = s.Now().Add(ttl).UnixNano()
	}
	res, err := command.Propose(ctx, s.Cluster, command.HostTokenCreateCmd, s.Now(), p)
	if err != nil {
		return pub.HostToken{}, err
	}
	ht, err := command.Data[state.HostToken](res)
	if err != nil {
		return pub.HostToken{}, err
	}
	if ht.SecretHash != auth.HashSecret(secret) {
		return pub.HostToken{}, fault.New(fault.Conflict, "this request was already applied; its registration token was shown once: create another")
	}
	out := s.view(ht)
	out.Token = secret
	out.CAPin = s.CAPin
	return out, nil
}

// List returns up to limit registration tokens after the accessor after, without their
// secrets, and the cursor of the next page ("" at the end).
func (s *RegistrationTokens) List(ctx context.Context, after string, limit int) (out []pub.HostToken, next string, err error) {
	err = s.State.View(func(tx *state.Tx) error {
		list, n, err := tx.HostTokens().List(after, limit)
		for _, ht := range list {
			out = append(out, s.view(ht))
		}
		next = n
		return err
	})
	return out, next, err
}

// Get returns the registration token with this accessor, without its secret.
func (s *RegistrationTokens) Get(ctx context.Context, accessor string) (view pub.HostToken, err error) {
	err = s.State.View(func(tx *state.Tx) error {
		ht, err := tx.HostTokens().Get(accessor)
		view = s.view(ht)
		return err
	})
	return view, err
}

// Revoke deletes a registration token; a registration presented with it afterwards, on any
// server, is refused (the FSM checks the token at apply).
func (s *RegistrationTokens) Revoke(ctx context.Context, accessor string) error {
	_, err := command.Propose(ctx, s.Cluster, command.HostTokenRevokeCmd, s.Now(), command.HostTokenRevoke{AccessorID: accessor})
	return err
}

// view shows a registration token without its secret.
func (s *RegistrationTokens) view(ht state.HostToken) pub.HostToken {
	status := pub.HostTokenActive
	switch {
	case ht.Expired(s.Now()):
		status = pub.HostTokenExpired
	case ht.UsedUp():
		status = pub.HostTokenUsedUp
	}
	return pub.HostToken{AccessorID: ht.AccessorID, Tags: ht.Tags, AllowTags: ht.AllowTags, MaxUses: ht.MaxUses, Uses: ht.Uses,
		CreateTime: ht.CreateTime, ExpirationTime: ht.ExpirationTime, ExpiresAt: ht.ExpirationTime, Status: status}
}
