package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// bodyServer serves a handler that reads the whole body through the API's body bounds and
// answers with the number of bytes read, or with the read error as the API would.
func bodyServer(t *testing.T, lim Limits, maxBody int64) string {
	t.Helper()
	s := New(Config{Limits: lim, MaxBodyBytes: maxBody})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.boundBody(w, r)
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			if fault.CodeOf(err) == fault.SlowRequest {
				abandonBody(w, r)
			}
			writeError(w, err)
			return
		}
		_, _ = fmt.Fprintf(w, "%d", n)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// rawRequest sends a request line, headers and the first part of a body, and returns the
// connection for the rest.
func rawRequest(t *testing.T, addr string, length int, first []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_, err = fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n", length)
	if err == nil {
		_, err = conn.Write(first)
	}
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// awaitClosed reads the answer until the server closes the connection and returns it. The
// client-side deadline only keeps a broken server from hanging the test.
func awaitClosed(t *testing.T, conn net.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("the server did not close the connection of a stalled body: %v (read %q)", err, got)
	}
	return string(got)
}

func TestStalledBodiesAreCut(t *testing.T) {
	addr := bodyServer(t, Limits{BodyReadTimeout: 200 * time.Millisecond, BodyIdleTimeout: 300 * time.Millisecond}, 1024)
	cases := []struct {
		name   string
		length int
		first  []byte
		want   string
	}{
		// A JSON-sized body: one byte, then nothing. The hard deadline cuts it.
		{"small body stalls after one byte", 100, []byte("{"), "did not arrive within 200ms"},
		// An upload: 4 KiB arrive, then nothing. No byte for the idle timeout cuts it.
		{"large body stalls after 4 KiB", 1 << 20, bytes.Repeat([]byte("x"), 4<<10), "stalled: no bytes arrived for 300ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := awaitClosed(t, rawRequest(t, addr, tc.length, tc.first))
			if !strings.HasPrefix(got, "HTTP/1.1 408") || !strings.Contains(got, tc.want) || !strings.Contains(got, "request_timeout") {
				t.Fatalf("answer %q; want 408 request_timeout saying %q", got, tc.want)
			}
		})
	}
}

// A large upload that keeps making progress is not cut, however long it takes in all: it runs
// past BodyReadTimeout many times over and past BodyIdleTimeout twice, with no pause as long as
// BodyIdleTimeout: each read moves the deadline.
func TestSteadyUploadOutlastsReadTimeout(t *testing.T) {
	const idle = time.Second
	addr := bodyServer(t, Limits{BodyReadTimeout: 100 * time.Millisecond, BodyIdleTimeout: idle}, 1024)
	const chunks, size = 40, 4 << 10
	conn := rawRequest(t, addr, chunks*size, nil)
	start := time.Now()
	chunk := bytes.Repeat([]byte("y"), size)
	for i := 0; i < chunks; i++ {
		if _, err := conn.Write(chunk); err != nil {
			t.Fatalf("write chunk %d: %v", i, err)
		}
		time.Sleep(50 * time.Millisecond) // a slow client, pacing its upload
	}
	if time.Since(start) < 2*idle {
		t.Fatal("the upload did not outlast the idle timeout; the test proves nothing")
	}
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != fmt.Sprint(chunks*size) {
		t.Fatalf("status %d body %q; want 200 with %d bytes read", resp.StatusCode, body, chunks*size)
	}
}

// A handler that keeps working after it read its body is not cut by the body deadline: the
// deadline is cleared at the end of the body, and the request's context stays alive.
func TestDeadlineClearedAfterBody(t *testing.T) {
	s := New(Config{Limits: Limits{BodyReadTimeout: 100 * time.Millisecond, BodyIdleTimeout: 100 * time.Millisecond}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.boundBody(w, r)
		if _, err := io.ReadAll(r.Body); err != nil {
			writeError(w, err)
			return
		}
		select { // outlive the body deadlines several times over
		case <-time.After(500 * time.Millisecond):
		case <-r.Context().Done():
			http.Error(w, "context cancelled after the body was read", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "done")
	}))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "done" {
		t.Fatalf("status %d body %q; want 200 done", resp.StatusCode, body)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type captureHandler struct {
	mu    sync.Mutex
	lines []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.lines = append(h.lines, r)
	h.mu.Unlock()
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) count() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.lines) }

// withMessage counts the lines whose message contains sub.
func (h *captureHandler) withMessage(sub string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.lines {
		if strings.Contains(r.Message, sub) {
			n++
		}
	}
	return n
}

func TestFailLimiterBudgetAndRefill(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	logs := &captureHandler{}
	l := newFailLimiter(20, 10*time.Second, 100, clk.Now, slog.New(logs))
	a := netip.MustParsePrefix("192.0.2.7/32")
	for i := 0; i < 20; i++ {
		if w, _ := l.fail(a); w != 0 {
			t.Fatalf("failure %d refused (wait %s); the first 20 are within the budget", i+1, w)
		}
	}
	w, _ := l.fail(a)
	if w <= 0 || w > 500*time.Millisecond {
		t.Fatalf("21st failure: wait %s; want a refusal with the time one attempt takes to come back (500ms)", w)
	}
	if limited, _ := l.limited(a); !limited {
		t.Fatal("the address is not reported limited")
	}
	if other := netip.MustParsePrefix("192.0.2.8/32"); func() time.Duration { w, _ := l.fail(other); return w }() != 0 {
		t.Fatal("another address was refused: budgets are per address")
	}
	clk.Add(500 * time.Millisecond) // one attempt back
	if w, _ := l.fail(a); w != 0 {
		t.Fatalf("after the refill time, an attempt is refused (wait %s)", w)
	}
	if w, _ := l.fail(a); w == 0 {
		t.Fatal("the refill gave back more than one attempt")
	}
	if logs.count() != 1 {
		t.Fatalf("%d log lines for one address within one window; want 1", logs.count())
	}
	clk.Add(10 * time.Second)
	for i := 0; i < 21; i++ {
		l.fail(a)
	}
	if logs.count() != 2 {
		t.Fatalf("%d log lines after a second window of refusals; want 2", logs.count())
	}
}

// The limiter remembers at most max addresses, and writes at most logBurst lines per window
// however many addresses are refused.
func TestFailLimiterBounded(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	logs := &captureHandler{}
	l := newFailLimiter(1, 10*time.Second, 50, clk.Now, slog.New(logs))
	for i := 0; i < 1000; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32)
		l.fail(p)
		l.fail(p) // over the budget of 1: refused and logged, within the log budget
	}
	if l.size() > 50 {
		t.Fatalf("limiter remembers %d addresses; its bound is 50", l.size())
	}
	if logs.count() > logBurst {
		t.Fatalf("%d log lines for 1000 refused addresses in one window; at most %d may be written", logs.count(), logBurst)
	}
	clk.Add(10 * time.Second)
	p := netip.MustParsePrefix("198.51.100.1/32")
	l.fail(p)
	l.fail(p)
	last := logs.lines[logs.count()-1]
	found := false
	last.Attrs(func(a slog.Attr) bool {
		found = found || (a.Key == "lines_suppressed" && a.Value.Int64() > 0)
		return true
	})
	if !found {
		t.Fatal("the next line after suppressed ones does not say how many were suppressed")
	}
}

// TestFailLimiterGlobalBudget: rotating addresses (every /64 of an IPv6 /48, more than the
// table keeps) gains no more failed attempts than the server's global budget of 10 times the
// per-address burst per window; refusals past it say so and are logged once per window; the
// budget comes back with time; and a fresh address is never reported limited, so a valid
// credential it sends is still looked up again after a consistent read.
func TestFailLimiterGlobalBudget(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	logs := &captureHandler{}
	const burst, window = 2, 10 * time.Second
	l := newFailLimiter(burst, window, 100, clk.Now, slog.New(logs))
	prefix := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, byte(i >> 8), byte(i)}), 64)
	}
	allowed, global := 0, 0
	for i := 0; i < 5000; i++ {
		for j := 0; j < burst; j++ {
			w, g := l.fail(prefix(i))
			if w == 0 {
				allowed++
			} else if g {
				global++
			}
		}
	}
	if allowed > 10*burst {
		t.Fatalf("%d failed attempts answered 401 from 5,000 rotating addresses; the global budget is %d per window", allowed, 10*burst)
	}
	if allowed < 10*burst || global == 0 {
		t.Fatalf("%d attempts within budget, %d refused by the global budget; want %d, then refusals", allowed, global, 10*burst)
	}
	if l.size() > 100 {
		t.Fatalf("limiter remembers %d addresses; its bound is 100", l.size())
	}
	if n := logs.withMessage("many addresses"); n != 1 {
		t.Fatalf("%d log lines about the global budget within one window; want 1", n)
	}
	if limited, _ := l.limited(prefix(9999)); limited {
		t.Fatal("an address never seen is reported limited: its valid credential would not be looked up again")
	}
	clk.Add(window / (10 * burst)) // one global attempt back
	if w, _ := l.fail(prefix(10000)); w != 0 {
		t.Fatalf("after the global refill time a new address is refused (wait %s)", w)
	}
	if w, g := l.fail(prefix(10001)); w == 0 || !g {
		t.Fatalf("the global refill gave back more than one attempt (wait %s, global %v)", w, g)
	}
}

func TestClientKey(t *testing.T) {
	cases := map[string]string{
		"192.0.2.1:5555":                 "192.0.2.1/32",
		"[2001:db8:1:2:3:4:5:6]:443":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443":     "2001:db8:1:2::/64", // same /64: one budget
		"[::ffff:192.0.2.1]:80":          "192.0.2.1/32",
		"[fe80::1%eth0]:80":              "fe80::/64",
		"not-an-address":                 "invalid Prefix",
		"@":                              "invalid Prefix",
		"[2001:db8:1:3::1]:443":          "2001:db8:1:3::/64",
		"127.0.0.1:1":                    "127.0.0.1/32",
		"[::1]:1":                        "::/64",
		"192.0.2.1":                      "192.0.2.1/32",
		"[2001:db8:ffff:ffff:1::1]:1234": "2001:db8:ffff:ffff::/64",
	}
	for in, want := range cases {
		if got := clientKey(&http.Request{RemoteAddr: in}).String(); got != want {
			t.Errorf("clientKey(%q) = %s; want %s", in, got, want)
		}
	}
}

func TestStreamLimiter(t *testing.T) {
	l := newStreamLimiter(2)
	a := &auth.Identity{Token: state.Token{AccessorID: "a", Name: "reader"}}
	b := &auth.Identity{Token: state.Token{AccessorID: "b"}}
	r1, err1 := l.acquire(a)
	_, err2 := l.acquire(a)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	_, err := l.acquire(a)
	if fault.CodeOf(err) != fault.TooMany || !strings.Contains(err.Error(), "--max-streams-per-token") {
		t.Fatalf("third stream: %v; want too_many_requests naming the flag", err)
	}
	if _, err := l.acquire(b); err != nil {
		t.Fatalf("another token is limited by the first's streams: %v", err)
	}
	r1()
	r1() // giving a slot back twice frees one slot only
	if l.count("a") != 1 {
		t.Fatalf("token a holds %d streams; want 1", l.count("a"))
	}
	if _, err := l.acquire(a); err != nil {
		t.Fatalf("a freed slot was not given back: %v", err)
	}
}
