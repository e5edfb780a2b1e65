package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/pkg/api"
)

// dialWS opens a websocket to base+path with a bearer secret; a refused handshake returns the
// HTTP status.
func dialWS(t *testing.T, base, path, secret string) (*websocket.Conn, int) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + path
	ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + secret}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws, http.StatusSwitchingProtocols
}

// awaitClose reads ws until the server closes it and returns the close frame. The read deadline
// only keeps a broken test from hanging; closing is expected within a second.
func awaitClose(t *testing.T, ws *websocket.Conn, what string) *websocket.CloseError {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue // other changes may still arrive first
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: the stream ended without a close frame: %v", what, err)
		}
		return ce
	}
}

func registerHost(t *testing.T, base, token string, reg agentproto.Register) int {
	t.Helper()
	body, _ := json.Marshal(reg)
	req, _ := http.NewRequest("POST", base+"/v1/agent/register", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestRevocationClosesStreamsOnEveryServer: a client token's event and deployment-watch streams
// held by a follower end when the token is revoked through another server, and when a token
// expires; a revoked registration token registers nothing on any server.
func TestRevocationClosesStreamsOnEveryServer(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	leader := c.WaitLeader()
	f := c.Follower()
	other := 3 - leader - f // the third server: neither the leader nor the stream's
	admin := c.Client(leader)

	// A deployment that stays in progress (its host has no agent) to watch.
	reg, err := admin.HostTokenCreate(ctx, api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	h := agentproto.Register{HostID: "h1", Secret: "slwh_h1-secret-0123456789abcdefghijklmnop", Name: "h1", OS: "linux", Arch: "amd64"}
	if st := registerHost(t, c.URL(f), reg.Token, h); st != http.StatusOK {
		t.Fatalf("register: %d", st)
	}
	if _, err := admin.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	bundle, sha := testutil.RandomBundle(t, 1<<10)
	rev, _, err := admin.RevisionPush(ctx, "web", bytes.NewReader(bundle), int64(len(bundle)), sha, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := admin.DeploymentCreate(ctx, api.DeploymentCreateRequest{App: "web", Revision: rev.ID, Hosts: []string{"h1"}})
	if err != nil {
		t.Fatal(err)
	}

	tk, err := admin.TokenCreate(ctx, "watcher", api.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.WaitApplied(c.Server(leader).Node().AppliedIndex())
	events, st := dialWS(t, c.URL(f), "/v1/events", tk.SecretID)
	if events == nil {
		t.Fatalf("events stream on the follower: status %d", st)
	}
	watch, st := dialWS(t, c.URL(f), "/v1/deployments/"+d.ID+"/watch", tk.SecretID)
	if watch == nil {
		t.Fatalf("watch stream on the follower: status %d", st)
	}
	start := time.Now()
	if err := c.Client(other).TokenRevoke(ctx, tk.AccessorID); err != nil {
		t.Fatal(err)
	}
	for name, ws := range map[string]*websocket.Conn{"events": events, "watch": watch} {
		ce := awaitClose(t, ws, name)
		t.Logf("%s stream on the follower closed %s after the revocation was sent", name, time.Since(start))
		if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "revoked") {
			t.Fatalf("%s stream closed with %d %q, want 1008 naming the revocation", name, ce.Code, ce.Text)
		}
	}
	if ws, st := dialWS(t, c.URL(f), "/v1/events", tk.SecretID); ws != nil || st != http.StatusUnauthorized {
		t.Fatalf("a revoked token reopened a stream: status %d", st)
	}

	// A token's expiry ends its stream too.
	short, err := admin.TokenCreate(ctx, "short", api.TokenTypeClient, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.WaitApplied(c.Server(leader).Node().AppliedIndex())
	if ws, st := dialWS(t, c.URL(f), "/v1/events", short.SecretID); ws == nil {
		t.Logf("the 2s token expired before its stream opened (status %d)", st)
	} else if ce := awaitClose(t, ws, "expiring events"); ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "expired") {
		t.Fatalf("expiring stream closed with %d %q, want 1008 naming the expiry", ce.Code, ce.Text)
	}

	// A registration token revoked on one server registers nothing on another.
	if err := c.Client(other).HostTokenRevoke(ctx, reg.AccessorID); err != nil {
		t.Fatal(err)
	}
	h2 := agentproto.Register{HostID: "h2", Secret: "slwh_h2-secret-0123456789abcdefghijklmnop", Name: "h2"}
	for _, i := range []int{f, leader} {
		if st := registerHost(t, c.URL(i), reg.Token, h2); st != http.StatusUnauthorized {
			t.Fatalf("server %d registered with a revoked token: status %d", i, st)
		}
	}
}

// TestDeletedHostSessionClosed: deleting a host through the leader closes its agent session on
// the follower that holds it, and the host can neither reconnect nor register again.
func TestDeletedHostSessionClosed(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	leader := c.WaitLeader()
	f := c.Follower()
	admin := c.Client(leader)
	reg, err := admin.HostTokenCreate(ctx, api.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	h := agentproto.Register{HostID: "gone", Secret: "slwh_gone-secret-0123456789abcdefghijklmnop", Name: "gone", OS: "linux", Arch: "amd64"}
	if st := registerHost(t, c.URL(f), reg.Token, h); st != http.StatusOK {
		t.Fatalf("register: %d", st)
	}
	sess, st := dialWS(t, c.URL(f), "/v1/agent/session", h.Secret)
	if sess == nil {
		t.Fatalf("session on the follower: status %d", st)
	}
	var hello agentproto.Envelope
	if err := sess.ReadJSON(&hello); err != nil || hello.Type != agentproto.TypeHello {
		t.Fatalf("hello: %+v, %v", hello, err)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		got, err := admin.HostGet(ctx, "gone", &api.QueryOptions{Consistent: true})
		if err != nil || got.Status != api.HostOnline {
			return fmt.Errorf("host not online yet: %+v %w", got, err)
		}
		return nil
	})
	start := time.Now()
	if err := admin.HostDelete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	ce := awaitClose(t, sess, "session")
	t.Logf("the deleted host's session on the follower closed %s after the deletion was sent", time.Since(start))
	if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "host deleted") {
		t.Fatalf("session closed with %d %q, want 1008 saying the host was deleted", ce.Code, ce.Text)
	}
	// A server that has not applied the deletion yet would still take the session, and close it
	// when it applies it; once every server has, none takes it.
	c.WaitApplied(c.Server(leader).Node().AppliedIndex())
	for _, i := range c.Running() {
		if ws, st := dialWS(t, c.URL(i), "/v1/agent/session", h.Secret); ws != nil || st != http.StatusUnauthorized {
			t.Fatalf("server %d: the deleted host reconnected (status %d)", i, st)
		}
	}
	if st := registerHost(t, c.URL(f), reg.Token, h); st != http.StatusConflict {
		t.Fatalf("the deleted host registered again with its old identity: status %d", st)
	}
}
