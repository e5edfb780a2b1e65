package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/server/core/auth"
)

// watchUpgrader upgrades the watch routes (a deployment's, a build's log): small reads (a client
// only closes), larger writes (pages of lines).
var watchUpgrader = websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 32 << 10}

// Watch is one client's websocket on a watch route, opened by Kit.OpenWatch: it holds one of the
// token's stream slots until End. Its context ends when the client closes the socket, the
// token expires or End is called.
type Watch struct {
	k       *Kit
	id      *auth.Identity
	ws      *websocket.Conn
	ctx     context.Context
	cancel  context.CancelFunc
	release func()
}

// OpenWatch takes a stream slot for id and upgrades the request to a websocket. An error is the
// handler's to answer (no slot left); nil and no error means the upgrade failed and the upgrader
// has answered. The caller sends with Send and must call End.
func (k *Kit) OpenWatch(w http.ResponseWriter, r *http.Request, id *auth.Identity) (*Watch, error) {
	release, err := k.OpenStream(id)
	if err != nil {
		return nil, err
	}
	ws, err := watchUpgrader.Upgrade(w, r, nil)
	if err != nil {
		release()
		return nil, nil //nolint:nilerr // the upgrader has answered the request
	}
	ws.SetReadLimit(MaxClientMessage)
	ctx, cancel := k.UntilExpiry(r.Context(), id)
	go func() { // the client only closes; reading notices it
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				cancel()
				return
			}
		}
	}()
	return &Watch{k: k, id: id, ws: ws, ctx: ctx, cancel: cancel, release: release}, nil
}

// Context ends when the client goes, the token expires or End is called.
func (wt *Watch) Context() context.Context { return wt.ctx }

// Stopped says why the stream must end now ("" while it may go on: Kit.StreamEnd).
func (wt *Watch) Stopped() string { return wt.k.StreamEnd(wt.id) }

// Send writes one message as JSON, bounded by a write deadline; false when the client is gone.
func (wt *Watch) Send(msg any) bool {
	_ = wt.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return wt.ws.WriteJSON(msg) == nil
}

// End closes the stream and frees its slot: with the server's reason when stopped is set, with a
// normal close naming end when the watched thing ended, with the expiry close when err came from
// the token's expiry, and plainly otherwise.
func (wt *Watch) End(stopped, end string, err error) {
	switch {
	case stopped != "":
		closeStream(wt.ws, stopped)
	case end != "":
		_ = wt.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, end), time.Now().Add(time.Second))
	case err != nil && wt.ctx.Err() != nil:
		wt.k.CloseExpired(wt.ctx, wt.ws)
	}
	wt.cancel()
	_ = wt.ws.Close()
	wt.release()
}
