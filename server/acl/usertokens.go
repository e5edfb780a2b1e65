package acl

import (
	"context"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// CreateUserToken makes a personal access token of a user: it acts as the user, narrowed by the
// optional policy, until its TTL ends.
func (s *Identity) CreateUserToken(ctx context.Context, user string, req pub.UserTokenCreateRequest) (pub.Token, error) {
	name := req.Name
	if name == "" {
		name = user + " token"
	}
	if err := state.ValidateLabel("token name", name, true); err != nil {
		return pub.Token{}, err
	}
	if _, err := s.User(user); err != nil {
		return pub.Token{}, err
	}
	tk := Token{AccessorID: uuid.NewString(), Name: name, Type: pub.TokenTypeUser, User: user}
	if req.Policy != "" {
		doc, _, err := ParseDocument("token scope", req.Policy)
		if err != nil {
			return pub.Token{}, err
		}
		tk.Scope = doc
	}
	if req.TTL != "" {
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return pub.Token{}, fault.New(fault.Invalid, "ttl %s is not a positive duration such as 30m, 24h or 720h", state.Shorten(req.TTL))
		}
		tk.ExpirationTime = s.core.Now().Add(ttl).UnixNano()
	}
	secret := auth.NewSecret()
	tk.SecretHash = auth.HashSecret(secret)
	res, err := propose(ctx, s, CmdCreateToken, CreateTokenPayload{Token: tk})
	if err != nil {
		return pub.Token{}, err
	}
	return created(res, secret)
}

// ListUserTokens lists a user's tokens and sessions (never their secrets).
func (s *Identity) ListUserTokens(_ context.Context, user string) ([]pub.Token, error) {
	out := []pub.Token{}
	err := s.view(func(tx *state.Tx) error {
		if _, err := getUser(tx, user); err != nil {
			return err
		}
		return tx.EachToken(func(tk state.Token) bool {
			if tk.User == user {
				out = append(out, View(tk))
			}
			return true
		})
	})
	return out, err
}

// isServiceToken reports whether a token type is a principal of its own (not a user's or a
// role's).
func isServiceToken(typ string) bool {
	return typ == pub.TokenTypeManagement || typ == pub.TokenTypeClient
}

// TokenTypeSession is a user's sign-in session.
const TokenTypeSession = pub.TokenTypeSession
