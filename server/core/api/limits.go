package api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Limits bounds what callers can make this server hold. Every limit is per server, not per
// cluster: a client spread over three servers can hold three times as much. Zero fields take the
// defaults named on each.
type Limits struct {
	// BodyReadTimeout bounds how long a small request body may take to arrive, from the moment
	// the handler starts: bodies of at most MaxBodyBytes, and the first MaxBodyBytes of a body
	// of unknown length (default 30 s). Larger bodies with a declared length are bounded by
	// BodyIdleTimeout only, so long uploads work on slow links as long as bytes keep coming.
	BodyReadTimeout time.Duration
	// BodyIdleTimeout bounds how long any request body may make no progress (default 30 s).
	// A body over either bound fails with 408 request_timeout and its connection is closed.
	BodyIdleTimeout time.Duration
	// MaxUnauthenticated caps requests served without a resolved credential at once: calls
	// to public routes other than GET (the ACL bootstrap), and the second, consistent lookup of
	// a secret this server does not know (default 64). Requests over the cap get 503 with
	// Retry-After at once.
	MaxUnauthenticated int
	// MaxStreamsPerToken caps the open event and deployment-watch websockets of one token on
	// this server (default 32); one more gets 429.
	MaxStreamsPerToken int
	// AuthFailures is how many failed authentications one client address may make in a burst
	// (default 20); they are given back at AuthFailures per AuthFailureWindow. Over it, failed
	// attempts get 429 with Retry-After instead of 401; a valid credential still works.
	AuthFailures int
	// AuthFailureWindow is the refill period of AuthFailures (default 10 s).
	AuthFailureWindow time.Duration
	// AuthFailureAddresses caps how many client addresses the failure limiter remembers
	// (default 10,000); the least recently seen is forgotten first.
	AuthFailureAddresses int
}

// Defaults of Limits.
const (
	DefaultBodyReadTimeout      = 30 * time.Second
	DefaultBodyIdleTimeout      = 30 * time.Second
	DefaultMaxUnauthenticated   = 64
	DefaultMaxStreamsPerToken   = 32
	DefaultAuthFailures         = 20
	DefaultAuthFailureWindow    = 10 * time.Second
	DefaultAuthFailureAddresses = 10_000
)

func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.BodyReadTimeout, DefaultBodyReadTimeout)
	def(&l.BodyIdleTimeout, DefaultBodyIdleTimeout)
	def(&l.AuthFailureWindow, DefaultAuthFailureWindow)
	defInt(&l.MaxUnauthenticated, DefaultMaxUnauthenticated)
	defInt(&l.MaxStreamsPerToken, DefaultMaxStreamsPerToken)
	defInt(&l.AuthFailures, DefaultAuthFailures)
	defInt(&l.AuthFailureAddresses, DefaultAuthFailureAddresses)
	return l
}

// retryAfter is an error whose answer carries a Retry-After header.
type retryAfter struct {
	error
	after time.Duration
}

func (e *retryAfter) Unwrap() error { return e.error }

// withRetryAfter attaches a Retry-After of d (rounded up to whole seconds, at least 1) to err.
func withRetryAfter(err error, d time.Duration) error { return &retryAfter{error: err, after: d} }

func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// deadlineBody enforces the body bounds of Limits on one request: before each read it sets the
// connection's read deadline to now+idle, or to the hard deadline when that comes first and
// still applies (at most hardBytes read so far). At the end of the body the deadline is cleared
// (net/http does so too when it starts watching the connection), so that a handler that works
// long after reading its body is not cut.
type deadlineBody struct {
	body        io.ReadCloser
	rc          *http.ResponseController
	idle        time.Duration
	readTimeout time.Duration // what hard was set from, for the error
	hard        time.Time     // zero: none
	hardBytes   int64         // the hard deadline applies while n <= hardBytes
	n           int64
	set         time.Time // the deadline last set
	done        bool
	idleUsed    bool // whether the deadline last set was the idle one
}

// errSlowBody is what a read of a body that missed its deadline returns; the edge answers 408.
func (b *deadlineBody) errSlowBody() error {
	if b.idleUsed {
		return fault.New(fault.SlowRequest, "the request body stalled: no bytes arrived for %s (server flag --body-idle-timeout); the server closed the connection: check the network and send the request again", b.idle)
	}
	return fault.New(fault.SlowRequest, "the request body did not arrive within %s (server flag --body-read-timeout); the server closed the connection: send the body with the request, or check the network", b.readTimeout)
}

// arm sets the read deadline for the next read. It skips the system call when the deadline
// would move later by less than a quarter of the idle time (at most a second), so a fast upload
// does not pay for one per read, and the deadline stays at least 3/4 of it ahead.
func (b *deadlineBody) arm(now time.Time) {
	d, idle := now.Add(b.idle), true
	if !b.hard.IsZero() && b.n <= b.hardBytes && b.hard.Before(d) {
		d, idle = b.hard, false
	}
	if slack := min(time.Second, b.idle/4); !b.set.IsZero() && d.Sub(b.set) >= 0 && d.Sub(b.set) < slack {
		return
	}
	b.set, b.idleUsed = d, idle
	_ = b.rc.SetReadDeadline(d)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	b.arm(time.Now())
	n, err := b.body.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil && isTimeout(err):
		return n, b.errSlowBody()
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.body.Close() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// boundBody installs the body deadlines on a request that has a body, and sets the first
// deadline at once so that a client that sends headers and then stalls is cut even when the
// handler never reads. Requests without a body (websocket upgrades, GETs) are left alone: their
// connection is the server's to watch, and a hijacked one has its deadlines cleared.
func (s *Server) boundBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	lim := s.cfg.Limits
	b := &deadlineBody{body: r.Body, rc: http.NewResponseController(w), idle: lim.BodyIdleTimeout}
	if r.ContentLength < 0 || r.ContentLength <= s.cfg.MaxBodyBytes {
		b.hard, b.hardBytes, b.readTimeout = time.Now().Add(lim.BodyReadTimeout), s.cfg.MaxBodyBytes, lim.BodyReadTimeout
	}
	b.arm(time.Now())
	r.Body = b
}

// abandonBody prepares the answer to a request whose body will not be read: the connection is
// closed after the answer, and the read deadline expires at once, so that the server does not
// wait to drain a body that a slow or hostile client may never send. Requests without a body
// keep their connection.
func abandonBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// semaphore is a non-blocking counting semaphore.
type semaphore struct {
	max   int64
	inUse atomic.Int64
}

func (s *semaphore) tryAcquire() bool {
	if s.inUse.Add(1) > s.max {
		s.inUse.Add(-1)
		return false
	}
	return true
}

func (s *semaphore) release() { s.inUse.Add(-1) }

// unauthenticatedBusy is the answer to a request over Limits.MaxUnauthenticated.
func (s *Server) unauthenticatedBusy() error {
	return withRetryAfter(fault.New(fault.Unavailable,
		"this server is already serving %d requests without a resolved credential, its limit (server flag --max-unauthenticated-requests, key limits.max_unauthenticated): retry in a moment",
		s.cfg.Limits.MaxUnauthenticated), time.Second)
}

// streamLimiter counts the open streams of each token on this server.
type streamLimiter struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

func newStreamLimiter(max int) *streamLimiter {
	return &streamLimiter{max: max, open: map[string]int{}}
}

// acquire takes one stream slot for the token of id and returns the function that gives it back,
// or a 429 naming the limit when the token already holds max streams.
func (l *streamLimiter) acquire(id *auth.Identity) (func(), error) {
	key := id.Token.AccessorID
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.max {
		return nil, withRetryAfter(fault.New(fault.TooMany,
			"token %s (accessor %s) already holds %d open event and watch streams on this server, the limit (server flag --max-streams-per-token, key limits.max_streams_per_token): close streams it no longer needs, such as finished --watch commands, and retry",
			state.Shorten(id.Token.Name), key, l.max), 5*time.Second)
	}
	l.open[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[key]--; l.open[key] <= 0 {
				delete(l.open, key)
			}
		})
	}, nil
}

// openStream takes a stream slot for id's token (Limits.MaxStreamsPerToken), counting a refusal
// in the metrics; the caller defers the returned release.
func (s *Server) openStream(id *auth.Identity) (func(), error) {
	release, err := s.streams.acquire(id)
	if err != nil {
		s.limited.WithLabelValues("streams").Inc()
	}
	return release, err
}

// count returns the streams the token with accessor holds on this server.
func (l *streamLimiter) count(accessor string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[accessor]
}
