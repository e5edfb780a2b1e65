package api

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// failLimiter limits failed authentications per client address with a token bucket: each
// address may fail burst times, and regains burst attempts per window. It remembers at most max
// addresses, forgetting the least recently seen first, so its memory stays bounded whatever the
// number of addresses an attacker uses. Successful authentications never touch it.
//
// A forgotten or new address starts with a full burst, so rotating addresses (an IPv6 /48 holds
// 65,536 /64s, more than max) would make the per-address budget no limit at all. A global bucket
// bounds that: all addresses together may fail globalFactor times burst times per window
// (regained at that rate); past it every failed attempt is refused, whatever its address's own
// budget, until the global bucket refills. Only failures are refused: a valid credential is
// answered as always, and limited never reports an address limited for the global budget, so a
// credential just created through another server is still looked up again.
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

	// The global bucket: failed attempts left to all addresses together (globalFactor times
	// burst per window), and its refusals since its last log line (one line per window).
	global         bucket
	globalRefused  int
	globalLoggedAt time.Time

	// Logging is itself limited: one line per address per window, and at most logBurst lines
	// per window in all (logLines); lines not written are counted in the next one.
	logLines   bucket
	suppressed int
}

type failEntry struct {
	key      netip.Prefix
	bucket       // failed attempts left to this address (burst per window)
	refused  int // refusals since the last log line about this address
	loggedAt time.Time
}

// bucket is the state of a token bucket: the tokens left when it was last brought up to date.
type bucket struct {
	tokens float64
	last   time.Time
}

// refill brings b up to now: it regains capacity tokens per window, up to capacity.
func (b *bucket) refill(now time.Time, capacity float64, window time.Duration) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(capacity, b.tokens+capacity*float64(el)/float64(window))
		b.last = now
	}
}

// wait is how long b, regaining capacity tokens per window, must wait for one token.
func (b *bucket) wait(capacity float64, window time.Duration) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / capacity * float64(window))
}

const (
	logBurst = 10
	// globalFactor is the global failure budget, in per-address bursts.
	globalFactor = 10
)

func newFailLimiter(burst int, window time.Duration, max int, now func() time.Time, log *slog.Logger) *failLimiter {
	t := now()
	return &failLimiter{burst: float64(burst), window: window, max: max, now: now, log: log,
		entries: map[netip.Prefix]*list.Element{}, lru: list.New(), logLines: bucket{tokens: logBurst, last: t},
		global: bucket{tokens: globalFactor * float64(burst), last: t}}
}

// clientKey is the limiter's key for a request: the peer's IP, or its /64 for IPv6.
func clientKey(r *http.Request) netip.Prefix {
	ip, _ := clientAddr(r)
	return addrKey(ip)
}

// addrKey is the limiter's key for a client address (the zero Addr for none).
func addrKey(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{} // not an IP (a unix socket, a test): one shared key
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
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
	e.refill(l.now(), l.burst, l.window)
	w := e.wait(l.burst, l.window)
	return w > 0, w
}

// fail records one failed authentication from key. It returns 0 when the attempt was within the
// budget (answer 401), or how long the address must wait (answer 429 with Retry-After); global
// is true when the address had attempts left and the global budget refused it.
func (l *failLimiter) fail(key netip.Prefix) (wait time.Duration, global bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	gb := globalFactor * l.burst
	l.global.refill(now, gb, l.window)
	var e *failEntry
	if el, ok := l.entries[key]; ok {
		l.lru.MoveToFront(el)
		e = el.Value.(*failEntry)
		e.refill(now, l.burst, l.window)
	} else {
		for l.lru.Len() >= l.max {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.entries, old.Value.(*failEntry).key)
		}
		e = &failEntry{key: key, bucket: bucket{tokens: l.burst, last: now}}
		l.entries[key] = l.lru.PushFront(e)
	}
	if e.tokens >= 1 && l.global.tokens >= 1 {
		e.tokens--
		l.global.tokens--
		return 0, false
	}
	if e.tokens >= 1 {
		l.globalRefused++
		l.logGlobal(e.key, now)
		return l.global.wait(gb, l.window), true
	}
	e.refused++
	l.logRefusal(e, now)
	return e.wait(l.burst, l.window), false
}

// logGlobal writes a warning about failed attempts refused by the global budget: at most one
// line per window, naming the last address and how many were refused since the last line.
func (l *failLimiter) logGlobal(key netip.Prefix, now time.Time) {
	if !l.globalLoggedAt.IsZero() && now.Sub(l.globalLoggedAt) < l.window || !l.takeLogLine(now) {
		return
	}
	addr := key.Addr().String()
	if key.Bits() == 64 {
		addr = key.String()
	}
	l.log.Warn("too many failed authentications from many addresses; refusing failed attempts from every address with 429", l.withSuppressed([]any{
		"refused", l.globalRefused, "limit", int(globalFactor * l.burst), "window", l.window.String(), "last_address", addr})...)
	l.globalLoggedAt, l.globalRefused = now, 0
}

// logRefusal writes a warning about an address over its budget: the first refusal, then at most
// one line per window for it, within the global line budget.
func (l *failLimiter) logRefusal(e *failEntry, now time.Time) {
	if !e.loggedAt.IsZero() && now.Sub(e.loggedAt) < l.window {
		return
	}
	if !l.takeLogLine(now) {
		return
	}
	attrs := []any{"address", e.key.Addr().String(), "refused", e.refused,
		"limit", int(l.burst), "window", l.window.String()}
	if e.key.Bits() == 64 {
		attrs[1] = e.key.String()
	}
	l.log.Warn("too many failed authentications from one address; refusing its failed attempts with 429", l.withSuppressed(attrs)...)
	e.loggedAt, e.refused = now, 0
}

// takeLogLine takes one line from the global log budget (logBurst per window), or counts one
// suppressed line when none is left.
func (l *failLimiter) takeLogLine(now time.Time) bool {
	l.logLines.refill(now, logBurst, l.window)
	if l.logLines.tokens < 1 {
		l.suppressed++
		return false
	}
	l.logLines.tokens--
	return true
}

// withSuppressed adds to a line's attributes how many lines were suppressed before it.
func (l *failLimiter) withSuppressed(attrs []any) []any {
	if l.suppressed > 0 {
		attrs = append(attrs, "lines_suppressed", l.suppressed)
		l.suppressed = 0
	}
	return attrs
}

// size returns how many addresses the limiter remembers.
func (l *failLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// tooManyFailures is the answer to a failed authentication over the address's budget, or over
// the global one (global).
func (s *Server) tooManyFailures(wait time.Duration, global bool) error {
	lim := s.cfg.Limits
	if global {
		return withRetryAfter(fault.New(fault.TooMany,
			"too many failed authentications on this server from many addresses (more than %d per %s in all, %d times limits.auth_failures per limits.auth_failure_window): check the token or secret you send, and retry after %s",
			globalFactor*lim.AuthFailures, lim.AuthFailureWindow, globalFactor, retryAfterSeconds(wait)+"s"), wait)
	}
	return withRetryAfter(fault.New(fault.TooMany,
		"too many failed authentications from your address (more than %d per %s; server keys limits.auth_failures and limits.auth_failure_window): check the token or secret you send, and retry after %s",
		lim.AuthFailures, lim.AuthFailureWindow, retryAfterSeconds(wait)+"s"), wait)
}

// clientAddr is the client's address (IPv4-mapped addresses unmapped, no zone), or false when
// the connection has none (a unix socket, a test).
func clientAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}
