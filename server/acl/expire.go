package acl

import (
	"context"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Expired tokens (sessions, role credentials, personal tokens with a TTL) authenticate nothing
// from their expiry on; the leader deletes their records a while later, so that signing in every
// day does not grow the state without bound.
const (
	expiredGrace      = time.Hour        // an expired token's record stays this long
	expireInterval    = 10 * time.Minute // how often the leader looks
	maxExpirePerApply = 1000             // records one command deletes at most
)

// CmdTokenExpire deletes the records of tokens that expired before a time the proposer gives.
var CmdTokenExpire = command.Define[TokenExpirePayload](1220, "iam.token.expire", 1)

// TokenExpirePayload deletes up to Max tokens whose expiry is before Before (unix nanos).
type TokenExpirePayload struct {
	Before int64 `json:"before"`
	Max    int   `json:"max"`
}

// applyTokenExpire deletes expired tokens in accessor order and answers how many it deleted.
func applyTokenExpire(tx *state.Tx, _ uint64, _ *command.Command, p TokenExpirePayload) (any, error) {
	before := time.Unix(0, p.Before)
	var gone []string
	if err := tx.EachToken(func(tk state.Token) bool {
		if tk.ExpirationTime != nil && tk.ExpirationTime.Before(before) {
			gone = append(gone, tk.AccessorID)
		}
		return len(gone) < p.Max
	}); err != nil {
		return nil, err
	}
	for _, acc := range gone {
		if err := tx.DeleteToken(acc); err != nil {
			return nil, err
		}
	}
	return len(gone), nil
}

// expireTokens is the leader task that proposes CmdTokenExpire while there is something to
// delete, then every expireInterval.
func (m *Module) expireTokens(ctx context.Context) {
	t := time.NewTicker(expireInterval)
	defer t.Stop()
	for {
		m.expireOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expireOnce deletes every token that expired more than expiredGrace ago, a command at a time.
func (m *Module) expireOnce(ctx context.Context) int {
	total := 0
	for ctx.Err() == nil {
		var due bool
		cutoff := m.core.Now().Add(-expiredGrace)
		_ = m.core.State.View(func(tx *state.Tx) error {
			return tx.EachToken(func(tk state.Token) bool {
				due = tk.ExpirationTime != nil && tk.ExpirationTime.Before(cutoff)
				return !due
			})
		})
		if !due {
			return total
		}
		res, err := command.Propose(ctx, m.core.Cluster, CmdTokenExpire, m.core.Now(), TokenExpirePayload{Before: cutoff.UnixNano(), Max: maxExpirePerApply})
		if err != nil {
			m.core.Log.Warn("deleting expired tokens", "error", err)
			return total
		}
		n, _ := command.Data[int](res)
		total += n
		if n == 0 {
			return total
		}
	}
	return total
}
