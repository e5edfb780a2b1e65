package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
)

const password = "correct horse battery staple"

// browser is a client that keeps cookies per URL and never follows redirects.
type browser struct {
	t       testing.TB
	cookies map[string]*http.Cookie
}

func newBrowser(t testing.TB) *browser { return &browser{t: t, cookies: map[string]*http.Cookie{}} }

// answer is what a request got: the status, the headers and the body.
type answer struct {
	StatusCode int
	Header     http.Header
}

func (b *browser) do(method, u string, form url.Values) (answer, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return answer{StatusCode: resp.StatusCode, Header: resp.Header}, string(out)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func field(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in %s", page)
	}
	return m[1]
}

// signIn signs b in as user on base and returns the overview's HTML.
func (b *browser) signIn(base, user string) string {
	b.t.Helper()
	_, page := b.do("GET", base+"/ui/login?next=%2Fui%2F", nil)
	resp, _ := b.do("POST", base+"/ui/login", url.Values{"csrf": {field(b.t, page)}, "next": {"/ui/"}, "user": {user}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		b.t.Fatalf("sign in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.do("GET", base+"/ui/", nil)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("overview after sign-in: %d %s", resp.StatusCode, page)
	}
	return page
}

func mustJSON(t testing.TB, c *testutil.Cluster, method, path string, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.URL(0)+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		out, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
}

// TestSessionAndCSRFRules drives the console's sign-in, pages and sign-out over HTTP on a
// three-server cluster: the redirects, the cookie's flags, the security headers, a form without
// its CSRF token refused and audited, sign-out ending the session on every server, and a token
// that is not a sign-in session refused as a cookie.
func TestSessionAndCSRFRules(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	b := newBrowser(t)
	base := c.URL(0)

	if resp, _ := b.do("GET", base+"/", nil); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %d %q; want a redirect to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("GET", base+"/ui/", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login?next=%2Fui%2F" {
		t.Fatalf("GET /ui/ signed out: %d %q; want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := b.do("GET", base+"/ui/login?next=%2Fui%2F", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(page, `name="password"`) {
		t.Fatalf("sign-in page: %d %v", resp.StatusCode, resp.Header)
	}
	// A sign-in form from elsewhere (no matching sign-in CSRF token) is refused.
	resp, page = b.do("POST", base+"/ui/login", url.Values{"csrf": {"forged"}, "user": {"ana"}, "password": {password}})
	if resp.StatusCode != http.StatusForbidden || b.cookies[api.ConsoleCookie] != nil {
		t.Fatalf("forged sign-in: %d", resp.StatusCode)
	}
	// A wrong password is told on the page, the same words as the API's.
	resp, page = b.do("POST", base+"/ui/login", url.Values{"csrf": {field(t, page)}, "user": {"ana"}, "password": {"wrong wrong wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "user name or password is wrong") {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, page)
	}
	page = b.signIn(base, "ana")
	sc := b.cookies[api.ConsoleCookie]
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || sc.Expires.Before(time.Now().Add(time.Hour)) {
		t.Fatalf("session cookie %+v", sc)
	}
	if !strings.Contains(page, "Overview") || !strings.Contains(page, "ana") || !strings.Contains(page, "leader") {
		t.Fatalf("overview: %s", page)
	}
	// The same cookie works on every server.
	if resp, _ := b.do("GET", c.URL(2)+"/ui/", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("overview on server 2: %d", resp.StatusCode)
	}
	// A form without the session's CSRF token is refused, audited, and changes nothing.
	resp, _ = b.do("POST", base+"/ui/logout", url.Values{"csrf": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged sign-out: %d; want 403", resp.StatusCode)
	}
	if resp, _ := b.do("GET", base+"/ui/", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the forged sign-out ended the session: %d", resp.StatusCode)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := c.Client(0).AuditList(t.Context(), pub.AuditFilter{Action: "console:SignOut"}, nil)
		if err != nil {
			return err
		}
		for _, r := range l.Records {
			if r.Outcome == "denied" && r.Principal.Name == "ana" && r.ErrorCode == "forbidden" {
				return nil
			}
		}
		return fmt.Errorf("no denied sign-out in %+v", l.Records)
	})
	// Sign-out ends the session on every server: the old cookie sends its bearer to sign in.
	old := *b.cookies[api.ConsoleCookie]
	resp, _ = b.do("POST", base+"/ui/logout", url.Values{"csrf": {field(t, page)}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != api.ConsoleSignIn || b.cookies[api.ConsoleCookie] != nil {
		t.Fatalf("sign-out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.cookies[api.ConsoleCookie] = &old
	for i := range 3 {
		testutil.Eventually(t, 10*time.Second, func() error {
			if resp, _ := b.do("GET", c.URL(i)+"/ui/", nil); resp.StatusCode != http.StatusSeeOther {
				return fmt.Errorf("server %d took the signed-out cookie: %d", i, resp.StatusCode)
			}
			return nil
		})
	}
	// A session left idle past the idle timeout ends (the record of its last use is MACed with
	// its secret, so it cannot be refreshed without it, nor forged with another).
	fresh := b.signIn(base, "ana")
	_ = fresh
	secret := b.cookies[api.ConsoleCookie].Value
	b.cookies["slipway_seen"] = api.ConsoleSeenCookie(secret, time.Now().Add(-api.ConsoleIdleTimeout-time.Minute), false)
	if resp, _ := b.do("GET", base+"/ui/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an idle session: %d; want the sign-in page", resp.StatusCode)
	}
	b.cookies["slipway_seen"] = api.ConsoleSeenCookie("slw_another-secret", time.Now(), false)
	if resp, _ := b.do("GET", base+"/ui/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a last-use record of another session: %d; want the sign-in page", resp.StatusCode)
	}
	b.cookies["slipway_seen"] = api.ConsoleSeenCookie(secret, time.Now(), false)
	if resp, _ := b.do("GET", base+"/ui/", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("a session in use: %d; want the page", resp.StatusCode)
	}
	// A token that is not a sign-in session is no console cookie.
	b.cookies[api.ConsoleCookie] = &http.Cookie{Name: api.ConsoleCookie, Value: testutil.ManagementToken}
	if resp, _ := b.do("GET", base+"/ui/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a management token as the cookie: %d; want the sign-in page", resp.StatusCode)
	}
}

// TestOverviewShowsOnlyWhatTheUserMayRead: a user with no policies signs in and sees the frame,
// but each part of the overview says which permission it needs instead of its data.
func TestOverviewShowsOnlyWhatTheUserMayRead(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"bo","password":"`+password+`"}`)
	b := newBrowser(t)
	page := b.signIn(c.URL(0), "bo")
	// A page the user may not open is an HTML page naming what was refused, not JSON.
	resp, body := b.do("GET", c.URL(0)+"/ui/hosts", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "not allowed: hosts:ListHosts") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("a forbidden page: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, want := range []string{"do not allow operator:GetStatus", "do not allow hosts:ListHosts", "do not allow codedeploy:ListDeployments"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview of a user without policies lacks %q", want)
		}
	}
	if strings.Contains(page, "leader") {
		t.Error("the servers are shown to a user who may not read them")
	}
}

// TestSignInRedirectStaysInTheConsole: the page a user comes back to after signing in is
// always a console page, whatever next says.
func TestSignInRedirectStaysInTheConsole(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"cy","password":"`+password+`"}`)
	for _, next := range []string{"https://evil.example/ui/", "//evil.example/ui/", "/v1/tokens", "/ui/../v1/x"} {
		b := newBrowser(t)
		_, page := b.do("GET", c.URL(0)+"/ui/login", nil)
		resp, _ := b.do("POST", c.URL(0)+"/ui/login", url.Values{"csrf": {field(t, page)}, "next": {next}, "user": {"cy"}, "password": {password}})
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/") || strings.Contains(loc, "..") {
			t.Errorf("next %q: %d %q", next, resp.StatusCode, loc)
		}
	}
}
