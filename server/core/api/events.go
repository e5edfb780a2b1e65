package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Events is the change feed the API streams.
type Events interface {
	Subscribe(buffer int) (<-chan fsm.Event, func())
}

// coreSecretKinds are the core's changes only management tokens may watch; services add theirs
// (Config.SecretEventKinds).
var coreSecretKinds = []string{"host-token"}

// secretKind reports whether only management tokens may watch changes of kind.
func (s *Server) secretKind(kind string) bool {
	return slices.Contains(coreSecretKinds, kind) || slices.Contains(s.cfg.SecretEventKinds, kind)
}

// eventsUpgrader upgrades a /v1/events request to its websocket.
var eventsUpgrader = websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 32 << 10}

// Bounds on what a stream's client sends: the filters of /v1/events, and the messages a client
// may send on a stream (it only ever needs to send close and pong frames).
const (
	maxEventKinds    = 32
	maxResourceLen   = 256
	maxClientMessage = 4 << 10
)

// validEventFilter bounds the filters of /v1/events.
func validEventFilter(kinds map[string]bool, resource string) error {
	if len(kinds) > maxEventKinds {
		return fault.New(fault.Invalid, "kind lists %d kinds; at most %d may be given", len(kinds), maxEventKinds)
	}
	for k := range kinds {
		if err := state.ValidateName("event kind", k); err != nil {
			return err
		}
	}
	return state.ValidateText("resource", resource, maxResourceLen)
}

// events streams committed changes over a websocket as JSON messages (fsm.Event), optionally
// only of some kinds (?kind=deployment,host) and one resource (?resource=ID). The stream is live:
// it starts at the next change. A client too slow to keep up is disconnected and may reconnect.
// The stream is closed (1008, with the reason) when its token is revoked, through any server,
// or expires.
// Each stream holds one of its token's Limits.MaxStreamsPerToken slots on this server until it
// ends.
func (s *Server) events(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if s.cfg.Events == nil {
		return fault.New(fault.Unavailable, "this server has no change feed")
	}
	kinds := map[string]bool{}
	for _, k := range strings.Split(r.URL.Query().Get("kind"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			kinds[k] = true
		}
	}
	resource := r.URL.Query().Get("resource")
	if err := validEventFilter(kinds, resource); err != nil {
		return err
	}
	release, err := s.openStream(id)
	if err != nil {
		return err
	}
	defer release()
	ch, stop := s.cfg.Events.Subscribe(4096)
	defer stop()
	// Subscribed first, checked second: a revocation committed before the subscription is seen
	// here, one committed after it arrives on ch.
	if why := s.streamEnd(id); why != "" {
		return fault.New(fault.Unauthorized, "%s", why)
	}
	ctx, cancel := s.untilExpiry(r.Context(), id)
	defer cancel()
	ws, err := eventsUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil
	}
	defer func() { _ = ws.Close() }()
	ws.SetReadLimit(maxClientMessage)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too slow: reconnect"), time.Now().Add(time.Second))
				return nil
			}
			if e.Kind == "token" && e.Op == "revoke" && id.HostToken == nil && id.Host == nil && e.Resource == id.Token.AccessorID {
				closeStream(ws, reasonRevoked)
				return nil
			}
			if (len(kinds) > 0 && !kinds[e.Kind]) || (resource != "" && e.Resource != resource) || (s.secretKind(e.Kind) && !id.Management()) {
				continue
			}
			_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := ws.WriteJSON(e); err != nil {
				return nil
			}
		case <-ping.C:
			_ = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
		case <-gone:
			return nil
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errTokenExpired) {
				closeStream(ws, reasonExpired)
			}
			return nil
		}
	}
}
