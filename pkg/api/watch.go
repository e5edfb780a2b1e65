package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
)

func formatUint(v uint64) string { return strconv.FormatUint(v, 10) }

// DeploymentWatch streams a deployment's changes and output over a websocket, calling fn for
// each message, until the deployment has finished (nil), fn returns an error, or ctx ends.
func (c *Client) DeploymentWatch(ctx context.Context, id string, fn func(WatchMessage) error) error {
	u := c.url("/v1/deployments/" + url.PathEscape(id) + "/watch")
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set("Authorization", "Bearer "+c.token)
	}
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u.String(), hdr)
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 {
			defer func() { _ = resp.Body.Close() }()
			return decodeError(resp)
		}
		return &transportError{err: err, addr: c.base.Host}
	}
	defer func() { _ = ws.Close() }()
	go func() { <-ctx.Done(); _ = ws.Close() }()
	for {
		var m WatchMessage
		if err := ws.ReadJSON(&m); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if strings.Contains(err.Error(), "use of closed") {
				return ctx.Err()
			}
			return &transportError{err: err, addr: c.base.Host}
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}
