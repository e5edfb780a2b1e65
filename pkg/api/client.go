package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultAddress is the address the client uses when none is configured (slipway dev's default).
const DefaultAddress = "http://127.0.0.1:7400"

// Config configures a Client.
type Config struct {
	// Address is the base URL of any server, e.g. "https://10.0.0.5:7400", or several separated
	// by commas. Requests go to the first; a deployment watch that loses its server goes on
	// with the others (and with the servers the cluster lists). A bare host:port gets "https://"
	// in front when TLS is set, "http://" otherwise. With TLS set, an http:// address is refused
	// (ErrPlainHTTPWithTLS) unless its host is loopback, so that a client configured for TLS
	// never sends its token across the network in clear.
	Address string
	// Token is the bearer secret sent with every request.
	Token string
	// HTTPClient is used for requests; nil means a client with sane timeouts.
	HTTPClient *http.Client
	// TLS verifies https:// servers and holds the client certificate for servers that require
	// one (build it with tlsutil.ClientConfig). nil means the system's roots and no client
	// certificate. The default HTTP client and every websocket (events, deployment watch) use it;
	// with HTTPClient set, give its transport the same configuration: when TLS is nil, websockets
	// take the TLSClientConfig of HTTPClient's *http.Transport.
	TLS *tls.Config
	// RetryFor bounds how long a request that met "no leader" or a dropped connection is retried.
	// Zero means 30 seconds; a negative value disables retries.
	RetryFor time.Duration
	// ReconnectFor bounds how long a deployment watch that lost its server keeps trying the
	// others before it gives up with a *ServersLostError. Zero means one minute; a negative value
	// disables reconnecting.
	ReconnectFor time.Duration
}

// Client talks to a Slipway cluster over /v1. It is safe for concurrent use.
//
// Writes are sent with a fresh Idempotency-Key and retried with the same key while the cluster
// has no leader or the connection drops, so a retried write is applied at most once. A refused
// connection, an unknown host name or a failed TLS handshake (a *TLSError) is not retried: the
// error comes back at once.
type Client struct {
	base     *url.URL
	addrs    []*url.URL // every configured address, base first
	token    string
	hc       *http.Client
	tls      *tls.Config // for websockets; nil: Go's defaults
	retryFor time.Duration

	reconnectFor time.Duration
}

// ErrPlainHTTPWithTLS is why NewClient refuses an http:// address to a host that is not loopback
// when Config.TLS is set.
var ErrPlainHTTPWithTLS = errors.New("plain http:// address to a host that is not loopback, while TLS is configured")

// NewClient returns a client for cfg.
func NewClient(cfg Config) (*Client, error) {
	raw := strings.TrimSpace(cfg.Address)
	if raw == "" {
		raw = DefaultAddress
	}
	var addrs []*url.URL
	for _, a := range strings.Split(raw, ",") {
		if strings.TrimSpace(a) == "" {
			continue
		}
		u, err := parseAddress(a, cfg.TLS != nil)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, u)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("invalid address %q: want a URL such as https://10.0.0.5:7400 or http://127.0.0.1:7400", cfg.Address)
	}
	u := addrs[0]
	hc := cfg.HTTPClient
	tlsCfg := cfg.TLS
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			TLSClientConfig:       tlsCfg,
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
		}}
	}
	if t, ok := hc.Transport.(*http.Transport); ok && tlsCfg == nil {
		tlsCfg = t.TLSClientConfig
	}
	retry := cfg.RetryFor
	if retry == 0 {
		retry = 30 * time.Second
	}
	reconnect := cfg.ReconnectFor
	if reconnect == 0 {
		reconnect = time.Minute
	}
	return &Client{base: u, addrs: addrs, token: cfg.Token, hc: hc, tls: tlsCfg, retryFor: retry, reconnectFor: reconnect}, nil
}

// parseAddress checks one server address (see Config.Address) and returns its base URL.
func parseAddress(addr string, withTLS bool) (*url.URL, error) {
	addr = strings.TrimSpace(addr)
	given := addr
	if !strings.Contains(addr, "://") {
		if withTLS {
			addr = "https://" + addr
		} else {
			addr = "http://" + addr
		}
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("invalid address %q: want a URL such as https://10.0.0.5:7400 or http://127.0.0.1:7400", given)
	}
	if u.Scheme == "http" && withTLS && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("address %s: %w (a CA or a client certificate is given): the token would cross the network unencrypted; use the server's https:// address", addr, ErrPlainHTTPWithTLS)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// isLoopback reports whether host (a name or an IP, without port) is localhost or a loopback
// address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Address returns the base URL the client talks to.
func (c *Client) Address() string { return c.base.String() }

// QueryOptions tune a read.
type QueryOptions struct {
	Consistent bool   // linearizable read through the leader
	Limit      int    // page size for lists; 0 means the server default
	Next       string // page token from a previous list answer
}

func (q *QueryOptions) values() url.Values {
	v := url.Values{}
	if q == nil {
		return v
	}
	if q.Consistent {
		v.Set("consistent", "true")
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Next != "" {
		v.Set("next", q.Next)
	}
	return v
}

// request describes one API call.
type request struct {
	method string
	path   string
	query  url.Values
	in     any       // JSON-encoded body, or nil
	body   io.Reader // raw body (not retried), used instead of in
	out    any       // decoded answer, or nil
	rawOut io.Writer // raw answer, used instead of out
	// trailer, with rawOut, receives the answer's HTTP trailers once the body has been read.
	trailer *http.Header
}

func (c *Client) do(ctx context.Context, r request) error {
	var payload []byte
	if r.in != nil {
		b, err := json.Marshal(r.in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		payload = b
	}
	idem := ""
	if r.method != http.MethodGet && r.method != http.MethodHead {
		idem = newKey()
	}
	deadline := time.Now().Add(c.retryFor)
	backoff := 50 * time.Millisecond
	maybeApplied := false // a write attempt reached the server and its answer was lost
	for {
		err := c.once(ctx, r, payload, idem)
		if idem != "" && sentButLost(err) {
			maybeApplied = true
		}
		// Once a write may have been applied, a refused connection is a server restarting, not a
		// wrong address: keep retrying with the same key, which returns the first outcome.
		again := retryable(err) || (maybeApplied && errors.Is(err, syscall.ECONNREFUSED))
		if err == nil || r.body != nil || c.retryFor < 0 || !again || time.Now().After(deadline) {
			return c.outcomeUnknown(err, maybeApplied)
		}
		select {
		case <-ctx.Done():
			return c.outcomeUnknown(err, maybeApplied)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// outcomeUnknown turns the last error of a write into a timeout error when an earlier attempt
// reached the server and lost its answer, and the last attempt did not learn the outcome (it
// could not connect, or the cluster had no leader): the write may or may not have been applied.
func (c *Client) outcomeUnknown(err error, maybeApplied bool) error {
	if err == nil || !maybeApplied {
		return err
	}
	switch ErrorCode(err) {
	case "", CodeNoLeader, CodeUnavailable:
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf(
			"the connection to %s dropped after the request was sent, and retrying did not get an answer (%v): the change may or may not have been applied; check before repeating it",
			c.base.Host, err)}
	}
	return err
}

// sentButLost reports a transport failure after the request may have reached the server (as
// opposed to a failure to connect at all).
func sentButLost(err error) bool {
	var te *transportError
	if !errors.As(err, &te) {
		return false
	}
	if te.written {
		return true // written in full on some connection, whatever the last attempt met
	}
	var tlsErr *TLSError
	if errors.As(err, &tlsErr) {
		return false // the handshake failed: no request was sent
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var dnsErr *net.DNSError
	return !errors.As(err, &dnsErr)
}

func (c *Client) once(ctx context.Context, r request, payload []byte, idem string) error {
	// r.path is already escaped (IDs go through url.PathEscape); keep Path and RawPath in step so
	// that an escaped byte such as %2F is sent as is rather than escaped a second time.
	if _, err := url.PathUnescape(r.path); err != nil {
		return fmt.Errorf("build request: bad path %q: %w", r.path, err)
	}
	u := c.url(r.path)
	u.RawQuery = r.query.Encode()
	body := r.body
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	} else if r.body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	// net/http sends a request with an Idempotency-Key again on a new connection when a reused
	// one dies before the answer, and then reports only the last attempt's error (say, a refused
	// dial once the server is dead): the trace remembers that a request was written at all.
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	}))
	resp, err := c.hc.Do(req)
	if err != nil {
		te := c.transportErr(err)
		te.written = wrote.Load()
		return te
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	switch {
	case r.rawOut != nil:
		if _, err := io.Copy(r.rawOut, resp.Body); err != nil {
			return fmt.Errorf("read answer: %w", err)
		}
		if r.trailer != nil {
			*r.trailer = resp.Trailer
		}
	case r.out != nil:
		if err := json.NewDecoder(resp.Body).Decode(r.out); err != nil {
			return fmt.Errorf("decode answer from %s: %w", c.base.Host, err)
		}
	}
	return nil
}

type transportError struct {
	err  error
	addr string
	// written is set when the request was written out in full on some connection, even if a
	// later attempt of the transport failed to connect: the server may have acted on it.
	written bool
}

func (e *transportError) Error() string {
	var te *TLSError
	if errors.As(e.err, &te) {
		return te.Error()
	}
	return fmt.Sprintf("cannot reach slipway at %s: %v (is the server running? set --addr or SLIPWAY_ADDR)", e.addr, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// transportErr wraps an error met on the way to the server: a TLS failure becomes a *TLSError
// (inside a transportError, so callers that test for transport failures still see one).
func (c *Client) transportErr(err error) *transportError {
	if te := classifyTLS(c.base.Host, err); te != nil {
		return &transportError{err: te, addr: c.base.Host}
	}
	return &transportError{err: err, addr: c.base.Host}
}

func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		// Nothing listening at the address, or a name that does not resolve, will not change
		// within the retry window as a rule; answer at once so a mistyped --addr or a stopped
		// server is reported right away instead of after RetryFor.
		var dnsErr *net.DNSError
		var tlsErr *TLSError
		if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dnsErr) || errors.As(err, &tlsErr) {
			return false
		}
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	code := ErrorCode(err)
	return code == CodeNoLeader || code == CodeUnavailable
}

func decodeError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb ErrorBody
	if err := json.Unmarshal(data, &eb); err == nil && eb.Error.Code != "" {
		return &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	msg := strings.TrimSpace(string(data))
	if resp.StatusCode == http.StatusBadRequest && strings.Contains(msg, "HTTP request to an HTTPS server") {
		msg = "the server speaks HTTPS: use an https:// address in --addr or SLIPWAY_ADDR"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Status: resp.StatusCode, Code: codeForStatus(resp.StatusCode), Message: msg}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	case http.StatusGatewayTimeout:
		return CodeTimeout
	case http.StatusTooManyRequests:
		return CodeTooMany
	case http.StatusRequestTimeout:
		return CodeSlowRequest
	default:
		return CodeInternal
	}
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// url joins an already-escaped path to the base address.
func (c *Client) url(escaped string) *url.URL {
	u := *c.base
	p, err := url.PathUnescape(escaped)
	if err != nil {
		p = escaped
	}
	u.Path = c.base.Path + p
	u.RawPath = c.base.EscapedPath() + escaped
	return &u
}

func (c *Client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}
