package acl

import (
	"context"
	"errors"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// initialTokenAccessor is the initial management token's fixed accessor, and
// initialTokenRequestID the request ID its command carries: every leader proposes the same
// command, so the cluster applies it once however many leaders try.
const (
	initialTokenAccessor  = "00000000-0000-4000-8000-000000000001"
	initialTokenRequestID = "initial-management-token"
)

// initialManagementToken is the service's leader task: it seeds the initial management token
// from the configured file when there is one and the cluster has not been bootstrapped yet. It
// tries once per leadership; a conflict means another leader (or a bootstrap) came first.
func (m *Module) initialManagementToken(ctx context.Context) {
	if m.initialTokenFile == "" {
		return
	}
	var done bool
	_ = m.core.State.View(func(tx *state.Tx) error { done = tx.ACLBootstrapIndex() != 0; return nil })
	if done {
		return
	}
	log := m.core.Log
	secret, err := config.ReadTokenFile(m.initialTokenFile)
	if err != nil {
		log.Error("cannot read the initial management token", "error", err)
		return
	}
	c, err := CmdBootstrap.New(initialTokenRequestID, m.core.Now(), BootstrapPayload{Token: Token{
		AccessorID: initialTokenAccessor, SecretHash: auth.HashSecret(secret),
		Name: "Initial Management Token", Type: pub.TokenTypeManagement,
	}})
	if err != nil {
		log.Error("initial management token", "error", err)
		return
	}
	var res command.Result
	res, err = m.core.Cluster.Apply(ctx, c)
	switch {
	case err != nil:
		log.Warn("initial management token not set yet", "error", err)
	case res.Err() != nil && !errors.Is(res.Err(), fault.ErrConflict):
		log.Error("initial management token refused", "error", res.Err())
	case res.Err() == nil:
		log.Info("initial management token set")
	}
}
