package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

func formatUint(v uint64) string { return strconv.FormatUint(v, 10) }

// Event is one committed change, as GET /v1/events streams it.
type Event struct {
	Index    uint64    `json:"index"`
	Kind     string    `json:"kind"`
	Op       string    `json:"op"`
	Resource string    `json:"resource"`
	Time     time.Time `json:"time"`
}

// Events streams committed changes from any server, of the given kinds (all when empty) and
// resource ("" for all), calling fn for each until fn fails or ctx ends.
func (c *Client) Events(ctx context.Context, kinds []string, resource string, fn func(Event) error) error {
	q := url.Values{}
	if len(kinds) > 0 {
		q.Set("kind", strings.Join(kinds, ","))
	}
	if resource != "" {
		q.Set("resource", resource)
	}
	ws, err := c.dialWS(ctx, "/v1/events", q)
	if err != nil {
		return err
	}
	defer func() { _ = ws.Close() }()
	for {
		var e Event
		if err := ws.ReadJSON(&e); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return c.transportErr(err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// dialWS opens an authenticated websocket to an escaped path; it is closed when ctx ends.
func (c *Client) dialWS(ctx context.Context, path string, q url.Values) (*websocket.Conn, error) {
	u := c.url(path)
	u.RawQuery = q.Encode()
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set("Authorization", "Bearer "+c.token)
	}
	dialer := *websocket.DefaultDialer
	dialer.TLSClientConfig = c.tls
	ws, resp, err := dialer.DialContext(ctx, u.String(), hdr)
	if resp != nil && resp.Body != nil {
		if err != nil && resp.StatusCode >= 400 {
			defer func() { _ = resp.Body.Close() }()
			return nil, decodeError(resp)
		}
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, c.transportErr(err)
	}
	go func() { <-ctx.Done(); _ = ws.Close() }()
	return ws, nil
}
