package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/deploy"
)

// loginCSRFCookie holds the sign-in form's CSRF token before there is a session (a double
// submit: the form's hidden field must equal the cookie), so no other site can sign a browser
// in to an account of its choosing.
const loginCSRFCookie = "slipway_login_csrf"

// routes are the console's pages. Sign-in and its assets are public; everything else is a
// Console route: the edge checks the session cookie and, for a form, its CSRF token, then the
// route's action by the user's policies.
func (m *Module) routes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/{$}", Access: api.Public, Handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
			http.Redirect(w, r, "/ui/", http.StatusFound)
			return nil
		}},
		{Method: "GET", Pattern: "/ui/assets/{file}", Access: api.Public, Handle: m.asset},
		{Method: "GET", Pattern: "/ui/login", Access: api.Public, Handle: m.loginPage},
		{Method: "POST", Pattern: "/ui/login", Access: api.Public, Handle: m.login},
		{Method: "POST", Pattern: "/ui/logout", Access: api.Console, Action: "console:SignOut", Resource: "session/self", Handle: m.logout},
		{Method: "GET", Pattern: "/ui/{$}", Access: api.Console, Action: "console:GetOverview", Resource: "page/overview", Handle: m.overview},
	}
}

// asset serves one of the embedded static files.
func (m *Module) asset(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	name := r.PathValue("file")
	b, err := fs.ReadFile(assetFS, "assets/"+name)
	if err != nil || strings.Contains(name, "/") {
		return fault.New(fault.NotFound, "no such console file: %s", name)
	}
	securityHeaders(w)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	_, _ = w.Write(b)
	return nil
}

// loginForm is the sign-in page's data.
type loginForm struct {
	User, Next, Error, LoginCSRF string
	AskCode                      bool
}

// safeNext keeps a post-sign-in destination inside the console.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || u.User != nil || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	clean := path.Clean(u.Path)
	if clean != "/ui" && !strings.HasPrefix(clean, "/ui/") {
		return "/ui/"
	}
	if clean == "/ui" || (strings.HasSuffix(u.Path, "/") && !strings.HasSuffix(clean, "/")) {
		clean += "/"
	}
	out := url.URL{Path: clean, RawQuery: u.RawQuery}
	return out.String()
}

// loginCSRF returns the request's sign-in CSRF token, setting a new one when there is none.
func loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCSRFCookie); err == nil && len(c.Value) >= 22 {
		return c.Value
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: v, Path: "/ui/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return v
}

func (m *Module) loginPage(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	f := loginForm{Next: safeNext(r.URL.Query().Get("next")), LoginCSRF: loginCSRF(w, r)}
	return m.render(w, http.StatusOK, "login", page{Title: "Sign in", Data: f})
}

// login signs a user in with the identity service's rules (lockout, MFA) and sets the session
// cookie: HttpOnly, SameSite=Strict, Secure over TLS, expiring with the session.
func (m *Module) login(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return fault.New(fault.Invalid, "the sign-in form could not be read: %v", err)
	}
	f := loginForm{User: r.PostFormValue("user"), Next: safeNext(r.PostFormValue("next")), LoginCSRF: loginCSRF(w, r)}
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		f.Error = "The sign-in form expired: sign in again."
		return m.render(w, http.StatusForbidden, "login", page{Title: "Sign in", Data: f})
	}
	req := pub.LoginRequest{User: f.User, Password: r.PostFormValue("password")}
	if code := strings.TrimSpace(r.PostFormValue("code")); code != "" {
		if len(code) == 6 {
			req.Code = code
		} else {
			req.RecoveryCode = code
		}
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, nil)
	if err != nil {
		return err
	}
	defer cancel()
	tk, err := m.acl.SignIn(ctx, w, r, req)
	if err != nil {
		status := http.StatusUnauthorized
		switch {
		case acl.IsMFARequired(err):
			f.AskCode, f.Error = true, "Enter the code from your authenticator app (or a recovery code)."
		case fault.CodeOf(err) == fault.Unauthorized || fault.CodeOf(err) == fault.Forbidden || fault.CodeOf(err) == fault.TooMany || fault.CodeOf(err) == fault.Invalid:
			f.Error = errText(err)
			f.AskCode = req.Code != "" || req.RecoveryCode != ""
			if fault.CodeOf(err) == fault.Forbidden {
				status = http.StatusForbidden
			} else if fault.CodeOf(err) == fault.TooMany {
				status = http.StatusTooManyRequests
			}
		default:
			return err
		}
		return m.render(w, status, "login", page{Title: "Sign in", Data: f})
	}
	cookie := &http.Cookie{Name: api.ConsoleCookie, Value: tk.SecretID, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
	if tk.ExpirationTime != nil {
		cookie.Expires = *tk.ExpirationTime
	}
	http.SetCookie(w, cookie)
	http.SetCookie(w, api.ConsoleSeenCookie(tk.SecretID, m.core.Now(), r.TLS != nil))
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
	return nil
}

// errText is an error's message for a page: the fault's own words.
func errText(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// logout ends the session on every server (it is revoked in the replicated state) and clears the
// cookie.
func (m *Module) logout(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.acl.Identity().Logout(ctx, id); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: api.ConsoleCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, api.ConsoleSignIn, http.StatusSeeOther)
	return nil
}

// overviewData is the overview page's: each part shown only when the user may read it.
type overviewData struct {
	Servers                               []pub.ClusterServer
	ServersDenied, HostsDenied            bool
	HostsOnline, HostsOffline, HostsTotal int
	DeploymentsDenied                     bool
	Active, Failed                        []pub.Deployment
}

// overview shows the cluster at a glance: servers and leader, hosts online and offline, active
// deployments and recent failures.
func (m *Module) overview(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	k := m.core.HTTP
	var d overviewData
	if d.ServersDenied = !k.Allowed(r, id, "operator:GetStatus", "cluster"); !d.ServersDenied {
		s, err := k.Servers()
		if err != nil {
			return err
		}
		d.Servers = s
	}
	if d.HostsDenied = !k.Allowed(r, id, "hosts:ListHosts", "host/*"); !d.HostsDenied {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		l, err := k.Hosts().List(ctx)
		if err != nil {
			return err
		}
		for _, h := range l.Hosts {
			d.HostsTotal++
			if h.Status == pub.HostOnline {
				d.HostsOnline++
			} else {
				d.HostsOffline++
			}
		}
	}
	if d.DeploymentsDenied = !k.Allowed(r, id, "codedeploy:ListDeployments", "deployment/*"); !d.DeploymentsDenied {
		var err error
		deps := m.deploy.Deployments()
		if d.Active, _, err = deps.Query(deploy.DeploymentQuery{Status: deploy.DeploymentInProgress, Limit: 20}); err != nil {
			return err
		}
		if d.Failed, _, err = deps.Query(deploy.DeploymentQuery{Status: deploy.DeploymentFailed, Limit: 5}); err != nil {
			return err
		}
	}
	return m.render(w, http.StatusOK, "overview", frame(r, id.Token.User, "Overview", d))
}
