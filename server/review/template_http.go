package review

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// templateRoutes are the approval rule templates' endpoints, authorized by CodeCommit's action
// names: on approval-template/NAME for the templates themselves (an account-level resource),
// on repo/NAME for associating, disassociating and listing a repository's. Reads take any
// token; writes are Management routes. CodeCommit's separate actions for a template's content
// and description are separate routes.
func (m *Module) templateRoutes() []api.Route {
	const tpl = "approval-template/{name}"
	return []api.Route{
		{Method: "POST", Pattern: "/v1/approval-templates", Access: api.Management, Action: "codecommit:CreateApprovalRuleTemplate", Resource: "approval-template/*", Handle: m.templateCreate, ResolveResource: m.resolveTemplateCreate},
		{Method: "GET", Pattern: "/v1/approval-templates", Access: api.AnyToken, Action: "codecommit:ListApprovalRuleTemplates", Resource: "approval-template/*", Handle: m.templateList},
		{Method: "GET", Pattern: "/v1/approval-templates/{name}", Access: api.AnyToken, Action: "codecommit:GetApprovalRuleTemplate", Resource: tpl, Handle: m.templateGet},
		{Method: "PUT", Pattern: "/v1/approval-templates/{name}/content", Access: api.Management, Action: "codecommit:UpdateApprovalRuleTemplateContent", Resource: tpl, Handle: m.templateContent},
		{Method: "PUT", Pattern: "/v1/approval-templates/{name}/description", Access: api.Management, Action: "codecommit:UpdateApprovalRuleTemplateDescription", Resource: tpl, Handle: m.templateDescription},
		{Method: "DELETE", Pattern: "/v1/approval-templates/{name}", Access: api.Management, Action: "codecommit:DeleteApprovalRuleTemplate", Resource: tpl, Handle: m.templateDelete},
		{Method: "GET", Pattern: "/v1/repos/{name}/approval-templates", Access: api.AnyToken, Action: "codecommit:ListAssociatedApprovalRuleTemplatesForRepository", Resource: "repo/{name}", Handle: m.repoTemplates},
		{Method: "PUT", Pattern: "/v1/repos/{name}/approval-templates/{template}", Access: api.Management, Action: "codecommit:AssociateApprovalRuleTemplateWithRepository", Resource: "repo/{name}", Handle: m.templateAssociate},
		{Method: "DELETE", Pattern: "/v1/repos/{name}/approval-templates/{template}", Access: api.Management, Action: "codecommit:DisassociateApprovalRuleTemplateFromRepository", Resource: "repo/{name}", Handle: m.templateDisassociate},
	}
}

// resolveTemplateCreate names the template the body creates, so a policy may allow creating
// some names only.
func (m *Module) resolveTemplateCreate(r *http.Request) (string, error) {
	var t pub.ApprovalTemplate
	if err := m.core.HTTP.PeekJSON(r, &t); err != nil {
		return "", err
	}
	if !validTemplateName(t.Name) {
		return "approval-template/*", nil // the handler refuses the name
	}
	return "approval-template/" + t.Name, nil
}

func (m *Module) templateCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusCreated, func(ctx context.Context, _ *http.Request, t pub.ApprovalTemplate) (pub.ApprovalTemplate, error) {
		return m.Service().CreateTemplate(ctx, actor(id), t)
	})(w, r, id)
}

func (m *Module) templateList(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.List(m.core.HTTP, func(r *http.Request, p api.Page) ([]pub.ApprovalTemplate, string, error) {
		return m.Service().templatesPage(r.Context(), p)
	}, func(items []pub.ApprovalTemplate, next string) pub.ApprovalTemplateList {
		return pub.ApprovalTemplateList{Templates: items, Next: next}
	})(w, r, id)
}

func (m *Module) templateGet(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.ApprovalTemplate, error) {
		return m.Service().Template(r.Context(), r.PathValue("name"))
	})(w, r, id)
}

func (m *Module) templateContent(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, c pub.ApprovalTemplateContent) (pub.ApprovalTemplate, error) {
		content := TemplateContent{Approvals: c.Approvals, Pool: c.Pool, Branches: c.Branches}
		return m.Service().updateTemplate(ctx, TemplateUpdatePayload{Name: r.PathValue("name"), Content: &content, Actor: actor(id)})
	})(w, r, id)
}

func (m *Module) templateDescription(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Write(m.core.HTTP, http.StatusOK, func(ctx context.Context, r *http.Request, d pub.ApprovalTemplateDescription) (pub.ApprovalTemplate, error) {
		return m.Service().updateTemplate(ctx, TemplateUpdatePayload{Name: r.PathValue("name"), Description: &d.Description, Actor: actor(id)})
	})(w, r, id)
}

func (m *Module) templateDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Service().DeleteTemplate(ctx, actor(id), r.PathValue("name"))
	})(w, r, id)
}

func (m *Module) repoTemplates(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Get(m.core.HTTP, func(r *http.Request) (pub.ApprovalTemplateList, error) {
		list, err := m.Service().RepoTemplates(r.Context(), r.PathValue("name"))
		return pub.ApprovalTemplateList{Templates: list}, err
	})(w, r, id)
}

func (m *Module) templateAssociate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Service().Associate(ctx, actor(id), r.PathValue("template"), r.PathValue("name"))
	})(w, r, id)
}

func (m *Module) templateDisassociate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return api.Remove(m.core.HTTP, func(ctx context.Context, r *http.Request) error {
		return m.Service().Disassociate(ctx, actor(id), r.PathValue("template"), r.PathValue("name"))
	})(w, r, id)
}

func validTemplateName(name string) bool { return validateTemplateName(name) == nil }
