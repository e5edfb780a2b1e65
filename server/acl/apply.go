package acl

import (
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// msgBootstrapped is the refusal of a second bootstrap, answered by the FSM and, without a
// proposal, by the HTTP route once the server knows the cluster was bootstrapped.
const msgBootstrapped = "ACL bootstrap already done (at index %d): ask an operator with a management token to `slipway token create` one for you"

// tokenRecord is the stored token a command creates: its time is the proposer's, its create
// index the command's.
func tokenRecord(p Token, index uint64, now time.Time) state.Token {
	tk := state.Token{
		AccessorID: p.AccessorID, SecretHash: p.SecretHash, Name: p.Name, Type: p.Type,
		Policies: p.Policies, CreateTime: now, CreateIndex: index,
		User: p.User, Role: p.Role, Source: p.Source, MFA: p.MFA, Scope: p.Scope,
	}
	if p.MFATime != 0 {
		at := time.Unix(0, p.MFATime).UTC()
		tk.MFATime = &at
	}
	if p.ExpirationTime != 0 {
		exp := time.Unix(0, p.ExpirationTime).UTC()
		tk.ExpirationTime = &exp
	}
	return tk
}

// applyBootstrap creates the first management token and marks the cluster bootstrapped; a
// second bootstrap is a conflict. It returns the stored state.Token.
func applyBootstrap(tx *state.Tx, index uint64, c *command.Command, p BootstrapPayload) (any, error) {
	if at := tx.ACLBootstrapIndex(); at != 0 {
		return nil, fault.New(fault.Conflict, msgBootstrapped, at)
	}
	tk := tokenRecord(p.Token, index, c.Time)
	if err := tx.CreateToken(tk); err != nil {
		return nil, err
	}
	return tk, tx.SetACLBootstrapIndex(index)
}

// applyCreateToken stores a token; an accessor or secret hash already present is a conflict. It
// returns the stored state.Token.
func applyCreateToken(tx *state.Tx, index uint64, c *command.Command, p CreateTokenPayload) (any, error) {
	if p.Token.User != "" {
		if _, err := getUser(tx, p.Token.User); err != nil {
			return nil, err
		}
	}
	if p.Token.Role != "" {
		if _, err := getRole(tx, p.Token.Role); err != nil {
			return nil, err
		}
	}
	for _, name := range p.Token.Policies {
		if err := policyExists(tx, name); err != nil {
			return nil, err
		}
	}
	tk := tokenRecord(p.Token, index, c.Time)
	return tk, tx.CreateToken(tk)
}

// applyRevokeToken deletes a token; a missing one is not found.
func applyRevokeToken(tx *state.Tx, _ uint64, _ *command.Command, p RevokeTokenPayload) (any, error) {
	return nil, tx.DeleteToken(p.AccessorID)
}
