package console

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/git"
)

func init() { pageSets = append(pageSets, (*Module).protectRoutes) }

// protectRoutes are a repository's branch protection page and its forms, each with the action
// of the API route that reads or changes the same rules (server/git/protect_http.go) on
// repo/{name}.
func (m *Module) protectRoutes() []api.Route {
	rt := func(method, pattern, action string, h api.HandlerFunc) api.Route {
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: action, Resource: "repo/{name}", Handle: h}
	}
	return []api.Route{
		rt("GET", "/ui/repos/{name}/protection", "codecommit:GetBranchProtection", m.protectPage),
		rt("POST", "/ui/repos/{name}/protection", "codecommit:PutBranchProtection", m.protectPut),
		rt("POST", "/ui/repos/{name}/protection/delete", "codecommit:DeleteBranchProtection", m.protectDelete),
	}
}

// protectData is the protection page's: the rules, the add-or-replace form (filled from a rule
// with ?edit=PATTERN, or with what was typed when the service refused it), and the approval
// rule templates associated with the repository.
type protectData struct {
	repoFrame
	Rules             []pub.BranchProtection
	CanPut, CanDelete bool
	Form              pub.BranchProtection
	Editing           bool
	DeleteError       string
	Max               int
	templatesOfRepo
}

// protectPage shows a repository's protection rules.
func (m *Module) protectPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderProtect(w, r, id, http.StatusOK, protectData{})
}

func (m *Module) renderProtect(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d protectData) error {
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	_, cancel, _, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return err
	}
	defer cancel()
	if d.Rules, err = m.git.Repos().Protections(r.Context(), f.Repo.Name); err != nil {
		return err
	}
	res := "repo/" + f.Repo.Name
	d.CanPut = m.core.HTTP.Allowed(r, id, "codecommit:PutBranchProtection", res)
	d.CanDelete = m.core.HTTP.Allowed(r, id, "codecommit:DeleteBranchProtection", res)
	d.Max = git.MaxProtections
	if edit := r.URL.Query().Get("edit"); edit != "" && d.FormError == "" {
		for _, rule := range d.Rules {
			if rule.Pattern == edit {
				d.Form, d.Editing = rule, true
			}
		}
	}
	if d.templatesOfRepo, err = m.repoTemplates(r, id, f.Repo.Name); err != nil {
		return err
	}
	f.FormError = d.FormError
	d.repoFrame = f
	return m.render(w, status, "repo_protect", frame(r, id.Token.User, "Branch protection of "+f.Repo.Name, d))
}

// protectPut adds a rule, or replaces the rule of the same pattern, from the form; a refusal
// (a bad pattern, a rule that protects nothing, too many rules) is shown in the form with what
// was typed.
func (m *Module) protectPut(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	name := r.PathValue("name")
	rule := pub.BranchProtection{Pattern: r.PostFormValue("pattern"), NoForcePush: r.PostFormValue("no_force_push") != "",
		NoDelete: r.PostFormValue("no_delete") != "", RequirePR: r.PostFormValue("require_pr") != "",
		PushPrincipals: lines(r.PostFormValue("push_principals")), RequiredStatuses: lines(r.PostFormValue("required_statuses"))}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.git.Repos().Protect(ctx, name, rule); err != nil {
		if !formFailed(err) {
			return err
		}
		d := protectData{Form: rule, Editing: true}
		d.FormError = errText(err)
		return m.renderProtect(w, r, id, formStatus(err), d)
	}
	return seeOther(w, r, repoURL(name, "", "", "")+"/protection")
}

// protectDelete removes the rule of the form's pattern.
func (m *Module) protectDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	name := r.PathValue("name")
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.git.Repos().Unprotect(ctx, name, r.PostFormValue("pattern")); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderProtect(w, r, id, formStatus(err), protectData{DeleteError: errText(err)})
	}
	return seeOther(w, r, repoURL(name, "", "", "")+"/protection")
}
