package console

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/review"
)

func init() { pageSets = append(pageSets, (*Module).approvalTemplateRoutes) }

// approvalTemplateRoutes are the approval rule templates' pages and forms, each with the action
// of the review API's route for the same read or change (server/review/template_http.go): on
// approval-template/NAME for a template, on the repository (repo/NAME, named by the form) for
// associating and disassociating. Creating resolves the form's name, as the API resolves the
// body's, so a policy may allow some names only.
func (m *Module) approvalTemplateRoutes() []api.Route {
	const tpl = "approval-template/{name}"
	rt := func(method, pattern, action, res string, h api.HandlerFunc) api.Route {
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: action, Resource: res, Handle: h}
	}
	create := rt("POST", "/ui/approval-templates", "codecommit:CreateApprovalRuleTemplate", "approval-template/*", m.approvalTemplateCreate)
	create.ResolveResource = formResource("name", "approval-template")
	associate := rt("POST", "/ui/approval-templates/{name}/associate", "codecommit:AssociateApprovalRuleTemplateWithRepository", "repo/*", m.approvalTemplateAssociate(true))
	associate.ResolveResource = formResource("repo", "repo")
	disassociate := rt("POST", "/ui/approval-templates/{name}/disassociate", "codecommit:DisassociateApprovalRuleTemplateFromRepository", "repo/*", m.approvalTemplateAssociate(false))
	disassociate.ResolveResource = formResource("repo", "repo")
	return []api.Route{
		rt("GET", "/ui/approval-templates", "codecommit:ListApprovalRuleTemplates", "approval-template/*", m.approvalTemplatesPage),
		create,
		rt("GET", "/ui/approval-templates/{name}", "codecommit:GetApprovalRuleTemplate", tpl, m.approvalTemplatePage),
		rt("POST", "/ui/approval-templates/{name}", "codecommit:UpdateApprovalRuleTemplateContent", tpl, m.approvalTemplateUpdate),
		rt("POST", "/ui/approval-templates/{name}/delete", "codecommit:DeleteApprovalRuleTemplate", tpl, m.approvalTemplateDelete),
		associate,
		disassociate,
	}
}

// formResource names a route's resource KIND/VALUE from a form's field, KIND/* when the field
// is empty or names no single thing (the handler refuses it then).
func formResource(field, kind string) func(r *http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" || strings.ContainsAny(v, "/*?[") {
			return kind + "/*", nil
		}
		return kind + "/" + v, nil
	}
}

// templateForm is what an approval rule template's form holds: the template as typed, the
// approvals kept as text so a refused form shows them as they were.
type templateForm struct {
	Name, Description, Approvals string
	Pool, Branches               []string
	Error                        string
}

func formOf(t pub.ApprovalTemplate) templateForm {
	return templateForm{Name: t.Name, Description: t.Description, Approvals: strconv.Itoa(t.Approvals), Pool: t.Pool, Branches: t.Branches}
}

// readTemplateForm reads a template's form into the template the Go API takes.
func readTemplateForm(w http.ResponseWriter, r *http.Request) (pub.ApprovalTemplate, templateForm, error) {
	if err := readForm(w, r); err != nil {
		return pub.ApprovalTemplate{}, templateForm{}, err
	}
	f := templateForm{Name: strings.TrimSpace(r.PostFormValue("name")), Description: r.PostFormValue("description"),
		Approvals: strings.TrimSpace(r.PostFormValue("approvals")), Pool: lines(r.PostFormValue("pool")), Branches: lines(r.PostFormValue("branches"))}
	n, err := strconv.Atoi(f.Approvals)
	if err != nil {
		f.Error = "Approvals is a number of approvals, from 1 to " + strconv.Itoa(review.MaxTemplateApprovals) + "."
	}
	return pub.ApprovalTemplate{Name: f.Name, Description: f.Description, Approvals: n, Pool: f.Pool, Branches: f.Branches}, f, nil
}

// approvalTemplatesData is the templates list's, with the create form.
type approvalTemplatesData struct {
	Templates []pub.ApprovalTemplate
	Sort      tableSort
	CanCreate bool
	Form      templateForm
	Max       int
}

var approvalTemplateColumns = map[string]func(a, b pub.ApprovalTemplate) int{
	"name":      func(a, b pub.ApprovalTemplate) int { return strings.Compare(a.Name, b.Name) },
	"approvals": func(a, b pub.ApprovalTemplate) int { return cmp.Compare(a.Approvals, b.Approvals) },
	"repos":     func(a, b pub.ApprovalTemplate) int { return cmp.Compare(len(a.Repositories), len(b.Repositories)) },
	"modified":  func(a, b pub.ApprovalTemplate) int { return a.ModifyTime.Compare(b.ModifyTime) },
}

// approvalTemplatesPage lists every template (at most review.MaxTemplates exist).
func (m *Module) approvalTemplatesPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderApprovalTemplates(w, r, id, http.StatusOK, approvalTemplatesData{Form: templateForm{Approvals: "1"}})
}

func (m *Module) renderApprovalTemplates(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d approvalTemplatesData) error {
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	list, err := m.review.Service().Templates(r.Context())
	if err != nil {
		return err
	}
	d.Templates = list
	d.Sort = sortTable(r, "sort", "name", d.Templates, approvalTemplateColumns)
	d.CanCreate = m.core.HTTP.Allowed(r, id, "codecommit:CreateApprovalRuleTemplate", "approval-template/*")
	d.Max = review.MaxTemplates
	return m.render(w, status, "approval_templates", frame(r, id.Token.User, "Approval rule templates", d))
}

// approvalTemplateCreate creates a template from the form and goes to its page, where it is
// associated with repositories; a refusal is shown in the form with what was typed.
func (m *Module) approvalTemplateCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	t, f, err := readTemplateForm(w, r)
	if err != nil {
		return err
	}
	if f.Error == "" {
		ctx, cancel, werr := m.writeCtx(r, id)
		if werr != nil {
			return werr
		}
		_, err = m.review.Service().CreateTemplate(ctx, id.Token.User, t)
		cancel()
		if err == nil {
			return seeOther(w, r, "/ui/approval-templates/"+esc(t.Name))
		}
		if !formFailed(err) {
			return err
		}
		f.Error = errText(err)
	}
	return m.renderApprovalTemplates(w, r, id, formStatus(err), approvalTemplatesData{Form: f})
}

// approvalTemplateData is a template's page: the template, the repositories it is associated
// with, and the edit, associate and delete forms the user may use.
type approvalTemplateData struct {
	Template                        pub.ApprovalTemplate
	Form                            templateForm
	CanUpdate, CanDelete            bool
	CanAssociate, CanDisassociate   bool
	Repos                           []string // suggestions for the associate field
	Repo, AssocError, DeleteError   string
	MaxPool, MaxBranches, MaxAssocs int
}

func (m *Module) approvalTemplatePage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderApprovalTemplate(w, r, id, http.StatusOK, approvalTemplateData{})
}

func (m *Module) renderApprovalTemplate(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d approvalTemplateData) error {
	if err := m.core.HTTP.ReadBarrier(r); err != nil {
		return err
	}
	t, err := m.review.Service().Template(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	d.Template = t
	if d.Form.Name == "" {
		d.Form = formOf(t)
	}
	k, res := m.core.HTTP, "approval-template/"+t.Name
	d.CanUpdate = k.Allowed(r, id, "codecommit:UpdateApprovalRuleTemplateContent", res)
	d.CanDelete = k.Allowed(r, id, "codecommit:DeleteApprovalRuleTemplate", res)
	d.CanAssociate = k.Allowed(r, id, "codecommit:AssociateApprovalRuleTemplateWithRepository", "repo/*")
	d.CanDisassociate = k.Allowed(r, id, "codecommit:DisassociateApprovalRuleTemplateFromRepository", "repo/*")
	if d.CanAssociate && k.Allowed(r, id, "codecommit:ListRepositories", "repo/*") {
		assoc := map[string]bool{}
		for _, n := range t.Repositories {
			assoc[n] = true
		}
		d.Repos, err = suggest(r.Context(), m.git.Repos().List, func(p pub.Repository) string { return p.Name }, func(n string) bool { return !assoc[n] })
		if err != nil {
			return err
		}
	}
	d.MaxPool, d.MaxBranches, d.MaxAssocs = review.MaxTemplatePool, review.MaxTemplateBranches, review.MaxTemplateAssociations
	return m.render(w, status, "approval_template", frame(r, id.Token.User, "Approval rule template "+t.Name, d))
}

// approvalTemplateUpdate replaces the template's rule (approvals, pool, branches) and its
// description. The route is CodeCommit's content action; a changed description is a second
// action (UpdateApprovalRuleTemplateDescription), decided here and audited when denied.
func (m *Module) approvalTemplateUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	t, f, err := readTemplateForm(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	t.Name, f.Name = name, name
	if f.Error == "" {
		ctx, cancel, werr := m.writeCtx(r, id)
		if werr != nil {
			return werr
		}
		defer cancel()
		svc := m.review.Service()
		was, rerr := svc.Template(ctx, name)
		if rerr != nil {
			return rerr
		}
		if t.Description != was.Description {
			if err := m.core.HTTP.Authorize(w, r, id, "codecommit:UpdateApprovalRuleTemplateDescription", "approval-template/"+name); err != nil {
				return err
			}
		}
		if _, err = svc.UpdateTemplate(ctx, id.Token.User, t); err == nil {
			return seeOther(w, r, "/ui/approval-templates/"+esc(name))
		}
		if !formFailed(err) {
			return err
		}
		f.Error = errText(err)
	}
	return m.renderApprovalTemplate(w, r, id, formStatus(err), approvalTemplateData{Form: f})
}

// approvalTemplateDelete deletes the template and its associations, and goes to the list.
func (m *Module) approvalTemplateDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.review.Service().DeleteTemplate(ctx, id.Token.User, r.PathValue("name")); err != nil {
		return err
	}
	return seeOther(w, r, "/ui/approval-templates")
}

// approvalTemplateAssociate associates the template with the form's repository, or
// disassociates it; a refusal (no such repository, the bound) is shown next to the form.
func (m *Module) approvalTemplateAssociate(on bool) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		if err := readForm(w, r); err != nil {
			return err
		}
		name, repo := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("repo"))
		ctx, cancel, err := m.writeCtx(r, id)
		if err != nil {
			return err
		}
		defer cancel()
		svc := m.review.Service()
		if on {
			err = svc.Associate(ctx, id.Token.User, name, repo)
		} else {
			err = svc.Disassociate(ctx, id.Token.User, name, repo)
		}
		if err == nil {
			return seeOther(w, r, "/ui/approval-templates/"+esc(name))
		}
		if !formFailed(err) {
			return err
		}
		return m.renderApprovalTemplate(w, r, id, formStatus(err), approvalTemplateData{Repo: repo, AssocError: errText(err)})
	}
}

// templatesOfRepo is what a repository's protection page shows of the approval rule templates
// associated with it.
type templatesOfRepo struct {
	Templates       []pub.ApprovalTemplate
	TemplatesDenied bool // the user may not list them (the page names the permission)
}

// repoTemplates reads the approval rule templates associated with a repository, when the
// user may list them (codecommit:ListAssociatedApprovalRuleTemplatesForRepository, the API's).
func (m *Module) repoTemplates(r *http.Request, id *auth.Identity, repo string) (templatesOfRepo, error) {
	if !m.core.HTTP.Allowed(r, id, "codecommit:ListAssociatedApprovalRuleTemplatesForRepository", "repo/"+repo) {
		return templatesOfRepo{TemplatesDenied: true}, nil
	}
	list, err := m.review.Service().RepoTemplates(r.Context(), repo)
	return templatesOfRepo{Templates: list}, err
}
