package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

func init() { pageSets = append(pageSets, (*Module).hookRoutes) }

// Bounds of what the webhook pages show.
const (
	deliveriesPerPage = 50
	maxPayloadShown   = 64 << 10 // bytes of a delivery's payload shown (it is at most 1 MiB)
)

// hookRoutes are a repository's webhook pages and forms, each with the action of the API
// route that reads or changes the same hooks (server/git/hooks: CodeCommit's triggers) on
// repo/{name}. Reading needs GetRepositoryTriggers, as the API's: a hook's URL may carry a
// token of its receiver's.
func (m *Module) hookRoutes() []api.Route {
	rt := func(method, pattern, action string, h api.HandlerFunc) api.Route {
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: action, Resource: "repo/{name}", Handle: h}
	}
	return []api.Route{
		rt("GET", "/ui/repos/{name}/hooks", "codecommit:GetRepositoryTriggers", m.hooksPage),
		rt("POST", "/ui/repos/{name}/hooks", "codecommit:PutRepositoryTriggers", m.hookCreate),
		rt("GET", "/ui/repos/{name}/hooks/{id}", "codecommit:GetRepositoryTriggers", m.hookPage),
		rt("POST", "/ui/repos/{name}/hooks/{id}/delete", "codecommit:PutRepositoryTriggers", m.hookDelete),
		rt("GET", "/ui/repos/{name}/hooks/{id}/deliveries/{delivery}", "codecommit:GetRepositoryTriggers", m.deliveryPage),
		rt("POST", "/ui/repos/{name}/hooks/{id}/deliveries/{delivery}/redeliver", "codecommit:TestRepositoryTriggers", m.redeliver),
	}
}

// hookURL is the console's address of a hook's page, or of a page under it (rest).
func hookURL(repo, hookID, rest string) string {
	u := repoURL(repo, "", "", "") + "/hooks/" + url.PathEscape(hookID)
	if rest != "" {
		u += "/" + rest
	}
	return u
}

// hookRow is a hook in the list with its newest delivery.
type hookRow struct {
	pub.RepoHook
	Href string
	Last *deliveryRow
}

// deliveryRow is a delivery as a table shows it: its last attempt picked out.
type deliveryRow struct {
	pub.RepoHookDelivery
	LastStatus int
	LastError  string
	Tried      bool
}

func rowOf(d pub.RepoHookDelivery) deliveryRow {
	row := deliveryRow{RepoHookDelivery: d}
	if n := len(d.Attempts); n > 0 {
		row.LastStatus, row.LastError, row.Tried = d.Attempts[n-1].Status, d.Attempts[n-1].Error, true
	}
	return row
}

// hooksData is the webhooks page's: the hooks and the create form (what was typed but the
// secret when the service refused it).
type hooksData struct {
	repoFrame
	Hooks        []hookRow
	Types        []string
	CanPut       bool
	FormURL      string
	FormEvents   map[string]bool
	MaxHooks     int
	MaxSecret    int
	AllowPrivate bool
}

// hooksPage lists a repository's webhooks with each one's newest delivery.
func (m *Module) hooksPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderHooks(w, r, id, http.StatusOK, hooksData{FormEvents: map[string]bool{hooks.TypePush: true}})
}

func (m *Module) renderHooks(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d hooksData) error {
	ctx, cancel, _, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return err
	}
	defer cancel()
	list, err := m.git.Hooks.List(ctx, f.Repo.Name)
	if err != nil {
		return err
	}
	for _, h := range list {
		row := hookRow{RepoHook: h, Href: hookURL(f.Repo.Name, h.ID, "")}
		last, _, err := m.git.Hooks.DeliveryPage(ctx, f.Repo.Name, h.ID, "", 1)
		if err != nil {
			return err
		}
		if len(last) == 1 {
			lr := rowOf(last[0])
			row.Last = &lr
		}
		d.Hooks = append(d.Hooks, row)
	}
	d.Types = hooks.Types
	d.CanPut = m.core.HTTP.Allowed(r, id, "codecommit:PutRepositoryTriggers", "repo/"+f.Repo.Name)
	d.MaxHooks, d.MaxSecret, d.AllowPrivate = hooks.MaxHooksPerRepo, hooks.MaxSecret, m.git.Hooks.AllowPrivate
	f.FormError = d.FormError
	d.repoFrame = f
	return m.render(w, status, "repo_hooks", frame(r, id.Token.User, "Webhooks of "+f.Repo.Name, d))
}

// hookCreate adds a hook from the form and goes to its page. The secret is sealed by the
// service and never shown again, nor sent back in a refused form.
func (m *Module) hookCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	name := r.PathValue("name")
	req := pub.RepoHookRequest{URL: strings.TrimSpace(r.PostFormValue("url")), Secret: r.PostFormValue("secret"), Events: r.PostForm["events"]}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	h, err := m.git.Hooks.Create(ctx, name, req)
	if err != nil {
		if !formFailed(err) {
			return err
		}
		d := hooksData{FormURL: req.URL, FormEvents: map[string]bool{}}
		for _, e := range req.Events {
			d.FormEvents[e] = true
		}
		d.FormError = errText(err)
		return m.renderHooks(w, r, id, formStatus(err), d)
	}
	return seeOther(w, r, hookURL(name, h.ID, ""))
}

// hookData is a hook's page: the hook, a page of its deliveries (newest first) and its forms.
type hookData struct {
	repoFrame
	Hook                    pub.RepoHook
	Deliveries              []deliveryRow
	Next                    string
	CanPut, CanRedeliver    bool
	HookURL                 string
	Delivery                *deliveryRow // the delivery page's
	Payload                 string
	PayloadCut, PayloadNone bool
}

// hookFrame reads the repository's frame and the hook of the path, in the request's read
// context (returned, with its cancel).
func (m *Module) hookFrame(r *http.Request, id *auth.Identity) (context.Context, context.CancelFunc, hookData, error) {
	ctx, cancel, _, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return nil, nil, hookData{}, err
	}
	list, err := m.git.Hooks.List(ctx, f.Repo.Name)
	if err != nil {
		cancel()
		return nil, nil, hookData{}, err
	}
	d := hookData{repoFrame: f}
	for _, h := range list {
		if h.ID == r.PathValue("id") {
			d.Hook = h
		}
	}
	if d.Hook.ID == "" {
		cancel()
		return nil, nil, hookData{}, fault.New(fault.NotFound, "repository %s has no hook %s: it was deleted, or never was; see its webhooks", f.Repo.Name, state.Shorten(r.PathValue("id")))
	}
	res := "repo/" + f.Repo.Name
	d.CanPut = m.core.HTTP.Allowed(r, id, "codecommit:PutRepositoryTriggers", res)
	d.CanRedeliver = m.core.HTTP.Allowed(r, id, "codecommit:TestRepositoryTriggers", res)
	d.HookURL = hookURL(f.Repo.Name, d.Hook.ID, "")
	return ctx, cancel, d, nil
}

// hookPage shows a hook and a page of its deliveries (?before= the last one of the previous
// page).
func (m *Module) hookPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, d, err := m.hookFrame(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	list, next, err := m.git.Hooks.DeliveryPage(ctx, d.Repo.Name, d.Hook.ID, r.URL.Query().Get("before"), deliveriesPerPage)
	if err != nil {
		return err
	}
	for _, dl := range list {
		d.Deliveries = append(d.Deliveries, rowOf(dl))
	}
	if next != "" {
		d.Next = d.HookURL + "?" + url.Values{"before": {next}}.Encode()
	}
	return m.render(w, http.StatusOK, "repo_hook", frame(r, id.Token.User, "Webhook of "+d.Repo.Name, d))
}

// hookDelete removes a hook; its pending deliveries are not sent.
func (m *Module) hookDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	name := r.PathValue("name")
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.git.Hooks.Delete(ctx, name, r.PathValue("id")); err != nil {
		return err
	}
	return seeOther(w, r, repoURL(name, "", "", "")+"/hooks")
}

// deliveryPage shows one delivery: its attempts and its payload (the first maxPayloadShown
// bytes, indented, escaped by the template).
func (m *Module) deliveryPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, d, err := m.hookFrame(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	dl, err := m.git.Hooks.Delivery(ctx, d.Repo.Name, d.Hook.ID, r.PathValue("delivery"))
	if err != nil {
		return err
	}
	row := rowOf(dl)
	d.Delivery = &row
	d.Payload, d.PayloadCut = payloadText(dl.Payload, maxPayloadShown)
	d.PayloadNone = len(dl.Payload) == 0
	return m.render(w, http.StatusOK, "repo_hook_delivery", frame(r, id.Token.User, "Delivery "+dl.ID, d))
}

// payloadText is a payload as text to show: indented when it is JSON, cut to limit bytes on a
// character's boundary.
func payloadText(body []byte, limit int) (string, bool) {
	var buf bytes.Buffer
	if json.Indent(&buf, body, "", "  ") == nil {
		body = buf.Bytes()
	}
	if len(body) <= limit {
		return strings.ToValidUTF8(string(body), "\uFFFD"), false
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return strings.ToValidUTF8(string(body[:cut]), "\uFFFD"), true
}

// redeliver queues a delivery's payload again, as a new delivery to its hook, and goes to it.
func (m *Module) redeliver(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	name, hookID := r.PathValue("name"), r.PathValue("id")
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	out, err := m.git.Hooks.Redeliver(ctx, name, r.PathValue("delivery"))
	if err != nil {
		return err
	}
	if out.HookID != "" {
		hookID = out.HookID
	}
	return seeOther(w, r, hookURL(name, hookID, "deliveries/"+url.PathEscape(out.ID)))
}
