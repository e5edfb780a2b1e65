// Package webhook is what every outbound, signed webhook of Slipway shares: the signature
// (HMAC-SHA256 of the body), the retry schedule (exponential backoff), and an HTTP client with
// the bounds a server needs when users choose where it sends requests: a timeout per request, no
// redirects, a bound on the answer read, and (Options.AllowPrivate false) a dialer that refuses
// loopback, private, link-local and other non-public addresses, checked on the address actually
// dialled, after DNS resolution, so a name that resolves to a public address when the hook is
// made and to 127.0.0.1 later (DNS rebinding) is still refused.
//
// The repositories' webhooks (server/git/hooks) use it; the deployment groups' triggers
// (server/deploy/trigger_deliver.go) predate it and can move onto it.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// SignaturePrefix starts a signature header's value: "sha256=" then the HMAC in lowercase hex.
const SignaturePrefix = "sha256="

// Sign returns "sha256=HEX", the HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return SignaturePrefix + hex.EncodeToString(h.Sum(nil))
}

// Verify reports whether sig (a header's value, "sha256=HEX") is body's signature under
// secret, in constant time.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Backoff is the wait before attempt n+1 after n failed attempts (n >= 1): base doubled per
// attempt, at most max.
func Backoff(base, max time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base << min(n-1, 30)
	if d <= 0 || d > max {
		return max
	}
	return d
}

// Options bound the requests of a Client.
type Options struct {
	// Timeout bounds one request, from dial to the end of the answer read (default 10s).
	Timeout time.Duration
	// MaxAnswer is how many bytes of an answer are read (default 64 KiB); the rest is dropped.
	MaxAnswer int64
	// AllowPrivate lets requests reach loopback, private (RFC 1918, fc00::/7), link-local,
	// CGNAT and unspecified addresses. Off, such a destination is refused at dial time.
	AllowPrivate bool
}

// ErrForbiddenAddress is returned (wrapped) for a destination the client refuses.
var ErrForbiddenAddress = errors.New("destination address is not public")

// Client sends webhook requests.
type Client struct {
	opts Options
	http *http.Client
}

// NewClient returns a client with opts' bounds (zero fields take their defaults).
func NewClient(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxAnswer <= 0 {
		opts.MaxAnswer = 64 << 10
	}
	dialer := &net.Dialer{Timeout: opts.Timeout}
	if !opts.AllowPrivate {
		dialer.Control = refusePrivate
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would hide the destination from the dial check
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Client{opts: opts, http: &http.Client{Transport: tr, Timeout: opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// refusePrivate is the dialer's Control: it sees the resolved address about to be connected.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %s", ErrForbiddenAddress, address)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("%w: %s (set webhooks.allow_private_destinations to send there)", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

// Public reports whether a is a public unicast address: not loopback, private, link-local,
// multicast, unspecified, CGNAT (100.64.0.0/10) or IPv4-mapped one of those.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return false
	}
	return !netip.MustParsePrefix("100.64.0.0/10").Contains(a) && !netip.MustParsePrefix("0.0.0.0/8").Contains(a)
}

// Result is one attempt's outcome.
type Result struct {
	Status   int           // the HTTP status, 0 when no answer came
	Duration time.Duration // from the request's start to the end of the answer read
	Err      error         // nil only for a 2xx answer
}

// Post sends body to url with the given headers (plus Content-Type and User-Agent), reads at
// most MaxAnswer bytes of the answer, and reports the outcome: any answer but 2xx is an error
// naming the status; a redirect is not followed.
func (c *Client) Post(ctx context.Context, url string, header http.Header, body []byte) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: err, Duration: time.Since(start)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Slipway-Hookshot/1")
	resp, err := c.http.Do(req)
	if err != nil {
		return Result{Err: cleanErr(err), Duration: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, c.opts.MaxAnswer))
	_ = resp.Body.Close()
	r := Result{Status: resp.StatusCode, Duration: time.Since(start)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r.Err = fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return r
}

// cleanErr keeps an error short enough to store (url.Error repeats the URL), still wrapping it.
func cleanErr(err error) error {
	s := err.Error()
	if i := strings.Index(s, "\": "); i >= 0 && strings.HasPrefix(s, "Post \"") {
		s = s[i+3:]
	}
	return shortErr{msg: s, err: err}
}

type shortErr struct {
	msg string
	err error
}

func (e shortErr) Error() string { return e.msg }
func (e shortErr) Unwrap() error { return e.err }
