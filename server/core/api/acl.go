package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// aclBootstrap creates the first management token. It is public, and works once per cluster.
// Once this server knows the cluster was bootstrapped it answers the conflict itself, so that
// unauthenticated callers cannot append entries to the Raft log by repeating the request.
func (s *Server) aclBootstrap(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if r.ContentLength != 0 {
		var req pub.ACLBootstrapRequest
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
	}
	var at uint64
	_ = s.cfg.State.View(func(tx *state.Tx) error { at = tx.ACLBootstrapIndex(); return nil })
	if at != 0 {
		return fault.New(fault.Conflict, "ACL bootstrap already done (at index %d): ask an operator with a management token to `slipway token create` one for you", at)
	}
	secret := auth.NewSecret()
	p := command.ACLBootstrap{Token: command.Token{
		AccessorID: newAccessor(), SecretHash: auth.HashSecret(secret),
		Name: "Bootstrap Token", Type: pub.TokenTypeManagement,
	}}
	res, err := s.apply(r, nil, command.TypeACLBootstrap, p)
	if err != nil {
		return err
	}
	var tk state.Token
	if err := decodeData(res, &tk); err != nil {
		return err
	}
	out, err := createdToken(tk, secret)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func tokenView(tk state.Token) pub.Token {
	t := pub.Token{AccessorID: tk.AccessorID, Name: tk.Name, Type: tk.Type, Policies: tk.Policies,
		CreateTime: tk.CreateTime, CreateIndex: tk.CreateIndex}
	if tk.ExpirationTime != nil {
		exp := tk.ExpirationTime.UTC().Truncate(time.Second)
		t.ExpirationTime = &exp
	}
	return t
}

// createdToken shows a token that this request created, secret included. When the record's hash
// is not the secret's, the command was a replay of an earlier request with the same
// Idempotency-Key, whose secret was only ever shown to that request.
func createdToken(tk state.Token, secret string) (pub.Token, error) {
	if tk.SecretHash != auth.HashSecret(secret) {
		return pub.Token{}, fault.New(fault.Conflict,
			"this request was already applied as token %s, whose secret was shown once and cannot be shown again: revoke it and create a new one", tk.AccessorID)
	}
	out := tokenView(tk)
	out.SecretID = secret
	return out, nil
}

func newAccessor() string { return uuid.NewString() }
