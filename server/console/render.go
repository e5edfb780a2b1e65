package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/server/core/api"
)

// contentSecurityPolicy allows nothing from other hosts and no inline script or style: every
// script and style sheet is one of the console's own files under /ui/assets/.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// components are the shared templates every page may use (templates/_*.html): tables, badges,
// empty states.
var components = func() []string {
	files, _ := fs.Glob(templateFS, "templates/_*.html")
	return files
}()

// parsePages parses every page (templates/NAME.html, but the layout and the components) with
// the layout and the components. A template that does not parse is a
// programming error the tests catch.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"lower":   strings.ToLower,
		"repourl": repoURL,
		"dict":    dict,
	}
	pages := map[string]*template.Template{}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue // the frame, and components every page gets
		}
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, append([]string{"templates/layout.html", f}, components...)...))
	}
	return pages
}

// dict makes a map of its key and value arguments, to hand a component template several
// values: {{template "x" (dict "Form" .Form "CSRF" $csrf)}}. An odd or non-string key is a
// programming error the template's execution reports.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: %d arguments, want key and value pairs", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// page is what every page's template gets: its own data and the frame's.
type page struct {
	Title string
	User  string // signed-in user ("" on the sign-in page)
	CSRF  string // the session's CSRF token, for every form
	Data  any
}

// render writes a page with the console's security headers. It renders into a buffer first, so
// a template error is a 500, never half a page.
func (m *Module) render(w http.ResponseWriter, status int, name string, p page) error {
	var buf bytes.Buffer
	if err := m.pages[name].Execute(&buf, p); err != nil {
		return err
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// securityHeaders are sent with every console answer.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// frame is a page's frame for a signed-in request.
func frame(r *http.Request, user, title string, data any) page {
	return page{Title: title, User: user, CSRF: api.ConsoleCSRF(api.ConsoleSecret(r)), Data: data}
}

// errorTitles name an error page by its status.
var errorTitles = map[int]string{
	http.StatusBadRequest: "That did not work", http.StatusUnauthorized: "Sign in again", http.StatusForbidden: "Not allowed",
	http.StatusNotFound: "Not found", http.StatusConflict: "Already there", http.StatusTooManyRequests: "Too many attempts",
	http.StatusServiceUnavailable: "The cluster is busy",
}

// errorPage answers a console route's error as a page with the error's own message (which
// names what was refused and why, never a policy's contents) and the status the API would use.
func (m *Module) errorPage(w http.ResponseWriter, r *http.Request, status int, err error) {
	title, ok := errorTitles[status]
	if !ok {
		title = "Something went wrong"
	}
	msg := err.Error()
	if status >= 500 {
		msg = "The server could not answer: " + msg
	}
	if err := m.render(w, status, "error", page{Title: title, Data: msg}); err != nil {
		http.Error(w, msg, status)
	}
}
