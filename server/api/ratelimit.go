package api

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/fault"
)

// failLimiter limits failed authentications per client address with a token bucket: each
// address may fail burst times, and regains burst attempts per window. It remembers at most max
// addresses, forgetting the least recently seen first, so its memory stays bounded whatever the
// number of addresses an attacker uses. Successful authentications never touch it.
//
// The address is the TCP peer's: behind a reverse proxy every client shares the proxy's address
// and so its budget. X-Forwarded-For is not trusted, since any client can send it. IPv6
// addresses count per /64, the block one subscriber usually holds.
type failLimiter struct {
	burst  float64
	window time.Duration
	max    int
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	entries map[netip.Prefix]*list.Element
	lru     *list.List // of *failEntry, most recently seen at the front

	// Logging is itself limited: one line per address per window, and at most logBurst lines
	// per window in all; lines not written are counted in the next one.
	logTokens  float64
	logRefill  time.Time
	suppressed int
}

type failEntry struct {
	key      netip.Prefix
	tokens   float64
	last     time.Time // when tokens was last brought up to date
	refused  int       // refusals since the last log line about this address
	loggedAt time.Time
}

const logBurst = 10

func newFailLimiter(burst int, window time.Duration, max int, now func() time.Time, log *slog.Logger) *failLimiter {
	return &failLimiter{burst: float64(burst), window: window, max: max, now: now, log: log,
		entries: map[netip.Prefix]*list.Element{}, lru: list.New(), logTokens: logBurst, logRefill: now()}
}

// clientKey is the limiter's key for a request: the peer's IP, or its /64 for IPv6.
func clientKey(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // not an IP (a unix socket, a test): one shared key
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// refill brings e's tokens up to now.
func (l *failLimiter) refill(e *failEntry, now time.Time) {
	if el := now.Sub(e.last); el > 0 {
		e.tokens = min(l.burst, e.tokens+l.burst*float64(el)/float64(l.window))
	}
	e.last = now
}

// wait is how long e must wait for one attempt.
func (l *failLimiter) wait(e *failEntry) time.Duration {
	if e.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - e.tokens) / l.burst * float64(l.window))
}

// limited reports whether key has no failed attempt left now, and how long until it has one.
func (l *failLimiter) limited(key netip.Prefix) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.entries[key]
	if !ok {
		return false, 0
	}
	e := el.Value.(*failEntry)
	l.refill(e, l.now())
	w := l.wait(e)
	return w > 0, w
}

// fail records one failed authentication from key. It returns 0 when the attempt was within the
// budget (answer 401), or how long the address must wait (answer 429 with Retry-After).
func (l *failLimiter) fail(key netip.Prefix) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var e *failEntry
	if el, ok := l.entries[key]; ok {
		l.lru.MoveToFront(el)
		e = el.Value.(*failEntry)
		l.refill(e, now)
	} else {
		for l.lru.Len() >= l.max {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.entries, old.Value.(*failEntry).key)
		}
		e = &failEntry{key: key, tokens: l.burst, last: now}
		l.entries[key] = l.lru.PushFront(e)
	}
	if e.tokens >= 1 {
		e.tokens--
		return 0
	}
	e.refused++
	l.logRefusal(e, now)
	return l.wait(e)
}

// logRefusal writes a warning about an address over its budget: the first refusal, then at most
// one line per window for it, within the global line budget.
func (l *failLimiter) logRefusal(e *failEntry, now time.Time) {
	if !e.loggedAt.IsZero() && now.Sub(e.loggedAt) < l.window {
		return
	}
	if el := now.Sub(l.logRefill); el > 0 {
		l.logTokens = min(logBurst, l.logTokens+logBurst*float64(el)/float64(l.window))
		l.logRefill = now
	}
	if l.logTokens < 1 {
		l.suppressed++
		return
	}
	l.logTokens--
	attrs := []any{"address", e.key.Addr().String(), "refused", e.refused,
		"limit", int(l.burst), "window", l.window.String()}
	if e.key.Bits() == 64 {
		attrs[1] = e.key.String()
	}
	if l.suppressed > 0 {
		attrs = append(attrs, "lines_suppressed", l.suppressed)
		l.suppressed = 0
	}
	l.log.Warn("too many failed authentications from one address; refusing its failed attempts with 429", attrs...)
	e.loggedAt, e.refused = now, 0
}

// size returns how many addresses the limiter remembers.
func (l *failLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// tooManyFailures is the answer to a failed authentication over the address's budget.
func (s *Server) tooManyFailures(wait time.Duration) error {
	lim := s.cfg.Limits
	return withRetryAfter(fault.New(fault.TooMany,
		"too many failed authentications from your address (more than %d per %s; server keys limits.auth_failures and limits.auth_failure_window): check the token or secret you send, and retry after %s",
		lim.AuthFailures, lim.AuthFailureWindow, retryAfterSeconds(wait)+"s"), wait)
}
