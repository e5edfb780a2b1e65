package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
)

// edge is an API handler with its own limits, logger and metrics, served in front of a real
// one-node cluster (with the services' routes of that cluster's server).
type edge struct {
	addr string // host:port
	reg  *prometheus.Registry
	logs *captureLog
}

func newEdge(t *testing.T, c *testutil.Cluster, lim api.Limits) *edge {
	t.Helper()
	node := c.Server(0).Node()
	e := &edge{reg: prometheus.NewRegistry(), logs: &captureLog{}}
	h := api.New(api.Config{Cluster: node, State: node.State(), Events: node.FSM().Events(),
		Logger: slog.New(e.logs), Registry: e.reg, Limits: lim, Routes: c.Server(0).ServiceRoutes()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.addr = strings.TrimPrefix(srv.URL, "http://")
	return e
}

// gauge reads a gauge of the edge's registry.
func (e *edge) gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// captureLog keeps every record logged through it.
type captureLog struct {
	mu    sync.Mutex
	lines []string
}

func (h *captureLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureLog) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.Key + "=" + a.Value.String(); return true })
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	return nil
}
func (h *captureLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureLog) WithGroup(string) slog.Handler      { return h }

func (h *captureLog) matching(sub string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// slowBody opens a connection, sends a POST's headers announcing a 100-byte body and one byte
// of it, and then stalls.
func slowBody(addr, path string) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: slipway\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", path); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// readUntilClosed reads an answer until the server closes the connection. The client-side
// deadline only keeps a broken server from hanging the test.
func readUntilClosed(conn net.Conn) (string, error) {
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		return string(got), fmt.Errorf("the server did not close the connection: %w (read %q)", err, got)
	}
	return string(got), nil
}

// TestSlowBodyIsCut: a client that sends headers and one byte of its body, then stalls, gets a
// 408 and its connection closed, on a public route, an authenticated one and an unknown path.
func TestSlowBodyIsCut(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	e := newEdge(t, c, api.Limits{BodyReadTimeout: 200 * time.Millisecond, BodyIdleTimeout: 200 * time.Millisecond})
	for _, tc := range []struct{ path, auth, want string }{
		{"/v1/acl/bootstrap", "", "HTTP/1.1 408"},
		{"/v1/apps", testutil.ManagementToken, "HTTP/1.1 408"},
		{"/v1/no-such-endpoint", "", "HTTP/1.1 404"}, // answered at once, and not kept waiting for the body
	} {
		t.Run(tc.path, func(t *testing.T) {
			conn, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			hdr := ""
			if tc.auth != "" {
				hdr = "Authorization: Bearer " + tc.auth + "\r\n"
			}
			if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: slipway\r\n%sContent-Length: 100\r\n\r\n{", tc.path, hdr); err != nil {
				t.Fatal(err)
			}
			got, err := readUntilClosed(conn)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("answer %q; want %s", got, tc.want)
			}
		})
	}
}

// TestUnauthenticatedRequestsCapped: 300 slow bodies on the public bootstrap route. The first
// 8 (the cap) are held; the other 292 are refused at once with 503 and Retry-After, while the 8
// are still held; when the held ones end, their slots are free again.
func TestUnauthenticatedRequestsCapped(t *testing.T) {
	const limit, total = 8, 300
	c := testutil.NewCluster(t, 1)
	e := newEdge(t, c, api.Limits{MaxUnauthenticated: limit, BodyReadTimeout: 5 * time.Minute, BodyIdleTimeout: 5 * time.Minute})
	inFlight := func() float64 { return e.gauge(t, "slipway_http_unauthenticated_in_flight") }
	var held []net.Conn
	for i := 0; i < limit; i++ {
		conn, err := slowBody(e.addr, "/v1/acl/bootstrap")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		held = append(held, conn)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		if n := inFlight(); n != limit {
			return fmt.Errorf("%v unauthenticated requests in flight; want %d", n, limit)
		}
		return nil
	})

	answers := make([]string, total-limit)
	errs := make([]error, total-limit)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := slowBody(e.addr, "/v1/acl/bootstrap")
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = conn.Close() }()
			answers[i], errs[i] = readUntilClosed(conn)
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if !strings.HasPrefix(a, "HTTP/1.1 503") || !strings.Contains(a, "Retry-After: 1") || !strings.Contains(a, "--max-unauthenticated-requests") {
			t.Fatalf("request %d over the cap: %q; want 503 with Retry-After naming the limit", i, a)
		}
	}
	// The held requests have minutes left: they were all still held while the rest was refused.
	if n := inFlight(); n != limit {
		t.Fatalf("%v requests in flight after the refusals; want the %d held ones", n, limit)
	}
	for _, conn := range held {
		_ = conn.Close()
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		if n := inFlight(); n != 0 {
			return fmt.Errorf("%v requests in flight after their clients left; want 0", n)
		}
		return nil
	})
	status, eb, _ := call(t, "POST", "http://"+e.addr+"/v1/acl/bootstrap", "", nil, nil)
	if status != http.StatusConflict {
		t.Fatalf("bootstrap after the slots were freed: %d %+v; want it served (409, already done)", status, eb)
	}
}

// TestUnauthenticatedSlotsFreedByTimeout: slow bodies that fill the cap are cut by the body read
// timeout, which gives their slots back.
func TestUnauthenticatedSlotsFreedByTimeout(t *testing.T) {
	const limit = 4
	c := testutil.NewCluster(t, 1)
	e := newEdge(t, c, api.Limits{MaxUnauthenticated: limit, BodyReadTimeout: 300 * time.Millisecond, BodyIdleTimeout: 300 * time.Millisecond})
	for round := 0; round < 2; round++ {
		var conns []net.Conn
		for i := 0; i < limit; i++ {
			conn, err := slowBody(e.addr, "/v1/acl/bootstrap")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			conns = append(conns, conn)
		}
		for i, conn := range conns {
			got, err := readUntilClosed(conn)
			if err != nil {
				t.Fatal(err)
			}
			// Round 2 can only be served if round 1's slots came back.
			if !strings.HasPrefix(got, "HTTP/1.1 408") {
				t.Fatalf("round %d request %d: %q; want 408 after the read timeout", round, i, got)
			}
		}
		testutil.Eventually(t, 30*time.Second, func() error {
			if n := e.gauge(t, "slipway_http_unauthenticated_in_flight"); n != 0 {
				return fmt.Errorf("%v in flight", n)
			}
			return nil
		})
	}
}

// dialEvents opens an event stream; on a refused handshake it returns the answer's status, body
// and Retry-After header instead of the stream.
func dialEvents(addr, token string) (ws *websocket.Conn, status int, body, retryAfter string, err error) {
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/events", http.Header{"Authorization": {"Bearer " + token}})
	if resp != nil {
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		status, body, retryAfter = resp.StatusCode, string(raw), resp.Header.Get("Retry-After")
	}
	return ws, status, body, retryAfter, err
}

// TestStreamsPerToken: a read-only token opens its limit of event streams; one more gets 429
// naming the limit; another token is not affected; closing a stream frees a slot.
func TestStreamsPerToken(t *testing.T) {
	const limit = 3
	c := testutil.NewCluster(t, 1)
	e := newEdge(t, c, api.Limits{MaxStreamsPerToken: limit})
	ctx := context.Background()
	reader, err := c.Client(0).TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	var open []*websocket.Conn
	for i := 0; i < limit; i++ {
		ws, _, _, _, err := dialEvents(e.addr, reader.SecretID)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		defer func() { _ = ws.Close() }()
		open = append(open, ws)
	}
	_, status, body, retry, err := dialEvents(e.addr, reader.SecretID)
	if err == nil || status != http.StatusTooManyRequests {
		t.Fatalf("stream %d: err %v status %d; want 429", limit+1, err, status)
	}
	if !strings.Contains(body, "--max-streams-per-token") || !strings.Contains(body, pub.CodeTooMany) || retry == "" {
		t.Fatalf("429 answer %q (Retry-After %q) does not name the limit", body, retry)
	}
	other, _, _, _, err := dialEvents(e.addr, testutil.ManagementToken)
	if err != nil {
		t.Fatalf("another token's stream refused: %v", err)
	}
	_ = other.Close()
	_ = open[0].Close()
	testutil.Eventually(t, 30*time.Second, func() error {
		ws, _, _, _, err := dialEvents(e.addr, reader.SecretID)
		if err != nil {
			return fmt.Errorf("no slot freed after a stream closed: %w", err)
		}
		return ws.Close()
	})
}

// TestFailedAuthLimitedPerAddress: 5,000 wrong tokens from one address draw 429s with
// Retry-After and a warning naming the address, written a few times, not thousands; the
// address's valid token still works, another address is not limited, and the same limit applies
// to host secrets and registration tokens.
func TestFailedAuthLimitedPerAddress(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	// The default burst (20), refilled over an hour rather than the default 10 s: the checks
	// after the flood must find the address still limited however slowly the machine runs them
	// (at 2 failures given back a second, half a second of delay let one through).
	e := newEdge(t, c, api.Limits{AuthFailureWindow: time.Hour})
	base := "http://" + e.addr
	var mu sync.Mutex
	counts := map[int]int{}
	var badRetry []string
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1250; i++ {
				req, _ := http.NewRequest("GET", base+"/v1/tokens/self", nil)
				req.Header.Set("Authorization", "Bearer slw_wrong-"+strconv.Itoa(i))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					mu.Lock()
					counts[-1]++
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				if resp.StatusCode == http.StatusTooManyRequests {
					if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 {
						badRetry = append(badRetry, resp.Header.Get("Retry-After"))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("answers by status: %v", counts)
	if counts[http.StatusTooManyRequests] == 0 || counts[-1] != 0 || counts[http.StatusOK] != 0 {
		t.Fatalf("answers by status %v; want 401s then 429s, no errors", counts)
	}
	if counts[http.StatusUnauthorized] >= counts[http.StatusTooManyRequests] {
		t.Fatalf("answers by status %v; want most of 5,000 quick failures refused with 429", counts)
	}
	if len(badRetry) > 0 {
		t.Fatalf("429s without a Retry-After of whole seconds: %q", badRetry[:min(5, len(badRetry))])
	}
	warned := e.logs.matching("address=127.0.0.1")
	if len(warned) == 0 || !strings.HasPrefix(warned[0], "WARN") {
		t.Fatalf("no warning naming the address; log: %v", e.logs.matching(""))
	}
	if len(warned)*100 > counts[http.StatusTooManyRequests] {
		t.Fatalf("%d warnings for %d refusals: logging is not limited", len(warned), counts[http.StatusTooManyRequests])
	}

	// Every kind of credential meets the same limit from this address.
	for _, rt := range []struct{ method, path string }{{"GET", "/v1/agent/session"}, {"POST", "/v1/agent/register"}, {"GET", "/metrics"}} {
		status, eb, _ := call(t, rt.method, base+rt.path, "slwr_wrong", nil, nil)
		if status != http.StatusTooManyRequests || eb.Error.Code != pub.CodeTooMany || !strings.Contains(eb.Error.Message, "limits.auth_failures") {
			t.Fatalf("%s %s with a wrong secret from a limited address: %d %+v; want 429 naming the limit", rt.method, rt.path, status, eb)
		}
	}
	// A valid token from the limited address still works.
	if status, eb, _ := call(t, "GET", base+"/v1/tokens/self", testutil.ManagementToken, nil, nil); status != http.StatusOK {
		t.Fatalf("valid token from the limited address: %d %+v", status, eb)
	}
	// Another address has its own budget: its valid token works and its wrong one gets 401.
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	for token, want := range map[string]int{testutil.ManagementToken: http.StatusOK, "slw_wrong": http.StatusUnauthorized} {
		req, _ := http.NewRequest("GET", base+"/v1/tokens/self", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := other.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("from 127.0.0.2: status %d; want %d", resp.StatusCode, want)
		}
	}
}
