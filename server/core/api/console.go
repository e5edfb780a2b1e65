package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// The web console's session rules, enforced at the edge for every Console route:
//
//   - the credential is the ConsoleCookie, holding the secret of a sign-in session (a token of
//     type session, made by signing in; a personal or service token is refused), so signing out
//     (revoking it) ends it on every server at once, and its expiry is the session's;
//   - a reader without a valid session is sent to the sign-in page (303, coming back after);
//   - every request that is not GET or HEAD carries the session's CSRF token (ConsoleCSRF) in the
//     form field "csrf" or the header X-CSRF-Token; a request without it is refused with 403 and
//     audited as denied, before any policy;
//   - then the route's action and resource are authorized by the user's policies, as for the API.

// ConsoleCookie is the console's session cookie.
const ConsoleCookie = "slipway_session"

// ConsoleIdleTimeout ends a console session its user has not used for this long (the absolute
// bound is the session's own expiry).
const ConsoleIdleTimeout = time.Hour

// consoleSeenCookie carries when the session was last used, with a MAC keyed by the session's
// secret (which only its browser and the request hold), so every server checks it alike and
// nothing is stored.
const consoleSeenCookie = "slipway_seen"

// ConsoleSeenCookie is the cookie saying the session secret was used at t.
func ConsoleSeenCookie(secret string, t time.Time, tls bool) *http.Cookie {
	ts := strconv.FormatInt(t.Unix(), 10)
	return &http.Cookie{Name: consoleSeenCookie, Value: ts + "." + seenMAC(secret, ts), Path: "/", HttpOnly: true, Secure: tls,
		SameSite: http.SameSiteStrictMode, Expires: t.Add(ConsoleIdleTimeout)}
}

func seenMAC(secret, ts string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("slipway console seen\x00" + ts))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// consoleIdle reports whether the request's session was last used over ConsoleIdleTimeout ago
// (or carries no valid record of its last use).
func consoleIdle(r *http.Request, secret string, now time.Time) bool {
	c, err := r.Cookie(consoleSeenCookie)
	if err != nil {
		return true
	}
	ts, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(seenMAC(secret, ts))) {
		return true
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	return err != nil || now.Sub(time.Unix(sec, 0)) > ConsoleIdleTimeout
}

// ConsoleSignIn is the console's sign-in page.
const ConsoleSignIn = "/ui/login"

// ConsoleSecret returns the session secret the request's console cookie holds ("" for none).
func ConsoleSecret(r *http.Request) string {
	c, err := r.Cookie(ConsoleCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// ConsoleCSRF is the CSRF token of a console session: derived from its secret, so every server
// computes the same one and nothing is stored; it tells nothing of the secret.
func ConsoleCSRF(secret string) string {
	sum := sha256.Sum256([]byte("slipway console csrf\x00" + secret))
	return hex.EncodeToString(sum[:16])
}

// credentialOf is the secret a request presents for an access level.
func credentialOf(r *http.Request, a Access) string {
	if a == Console {
		return ConsoleSecret(r)
	}
	if a == GitBasic {
		return basicSecret(r)
	}
	return bearer(r)
}

// resolveConsole authenticates a console request by its cookie: a sign-in session's secret.
func resolveConsole(st auth.Reader, r *http.Request, now time.Time) (*auth.Identity, error) {
	secret := ConsoleSecret(r)
	if secret == "" {
		return nil, fault.New(fault.Unauthorized, "sign in first: %s", ConsoleSignIn)
	}
	id, err := auth.Resolve(st, secret, now)
	if err != nil {
		return nil, fault.New(fault.Unauthorized, "your console session ended (signed out, expired or revoked): sign in again at %s", ConsoleSignIn)
	}
	if id.Token.Type != pub.TokenTypeSession {
		return nil, fault.New(fault.Unauthorized, "the console takes a sign-in session, not a %s token: sign in at %s", id.Token.Type, ConsoleSignIn)
	}
	if consoleIdle(r, secret, now) {
		return nil, fault.New(fault.Unauthorized, "your console session was idle for over %s: sign in again at %s", ConsoleIdleTimeout, ConsoleSignIn)
	}
	return id, nil
}

// checkCSRF refuses a console request that changes something without the session's CSRF token.
func checkCSRF(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		got = r.PostFormValue("csrf")
	}
	want := ConsoleCSRF(ConsoleSecret(r))
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fault.New(fault.Forbidden, "the form's CSRF token is missing or not this session's: reload the page and submit it again")
	}
	return nil
}

// toSignIn sends a console reader to the sign-in page, to come back to where they were.
func toSignIn(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if !strings.HasPrefix(next, "/ui/") {
		next = "/ui/"
	}
	http.Redirect(w, r, ConsoleSignIn+"?next="+url.QueryEscape(next), http.StatusSeeOther)
}
