package api

import (
	"context"
	"errors"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Live streams (GET /v1/events, GET /v1/deployments/{id}/watch) end as soon as the token that
// opened them stops being valid, on whichever server holds them: a revocation is a committed
// token.revoke that every server applies and publishes, and each stream watches for its own
// token's (see streamEnd); an expiry ends it by a timer set at its expiration time.

// Reasons sent in the websocket close frame (code 1008, policy violation).
const (
	reasonRevoked = "token revoked: authenticate again with a valid token"
	reasonExpired = "token expired: authenticate again with a valid token"
)

var errTokenExpired = errors.New("token expired")

// streamEnd says why a stream opened with id must end now ("" while it may go on): its token
// was revoked (it is no longer in this server's state) or has expired.
func (s *Server) streamEnd(id *auth.Identity) string {
	if id == nil || id.Host != nil || id.HostToken != nil || id.Token.AccessorID == "" {
		return ""
	}
	if id.Token.Expired(s.cfg.Now()) {
		return reasonExpired
	}
	var gone bool
	_ = s.cfg.State.View(func(tx *state.Tx) error {
		_, err := tx.GetToken(id.Token.AccessorID)
		gone = fault.CodeOf(err) == fault.NotFound
		return nil
	})
	if gone {
		return reasonRevoked
	}
	return ""
}

// untilExpiry returns a context that ends with cause errTokenExpired when id's token expires
// (measured with the API's clock), or ctx itself for a token that never does.
func (s *Server) untilExpiry(ctx context.Context, id *auth.Identity) (context.Context, context.CancelFunc) {
	if id == nil || id.Token.ExpirationTime == nil {
		return context.WithCancel(ctx)
	}
	left := id.Token.ExpirationTime.Sub(s.cfg.Now())
	return context.WithDeadlineCause(ctx, time.Now().Add(left), errTokenExpired)
}

// closeStream ends a websocket stream with a close frame naming why.
func closeStream(ws *websocket.Conn, reason string) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, reason), time.Now().Add(time.Second))
}
