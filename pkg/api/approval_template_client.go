package api

import (
	"context"
	"net/http"
	"net/url"
)

// ApprovalTemplateList is the answer of GET /v1/approval-templates (a page, in name order) and
// of GET /v1/repos/{name}/approval-templates (every template associated with the repository).
type ApprovalTemplateList struct {
	Templates []ApprovalTemplate `json:"templates"`
	Next      string             `json:"next,omitempty"`
}

// ApprovalTemplateContent is the body of PUT /v1/approval-templates/{name}/content: the
// template's rule, replaced whole (Branches empty: every branch).
type ApprovalTemplateContent struct {
	Approvals int      `json:"approvals"`
	Pool      []string `json:"pool"`
	Branches  []string `json:"branches,omitempty"`
}

// ApprovalTemplateDescription is the body of PUT /v1/approval-templates/{name}/description.
type ApprovalTemplateDescription struct {
	Description string `json:"description"`
}

func templatePath(name string) string { return "/v1/approval-templates/" + url.PathEscape(name) }

// ApprovalTemplateCreate creates an approval rule template (codecommit:CreateApprovalRuleTemplate).
func (c *Client) ApprovalTemplateCreate(ctx context.Context, t ApprovalTemplate) (*ApprovalTemplate, error) {
	var out ApprovalTemplate
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/approval-templates", in: t, out: &out})
	return &out, err
}

// ApprovalTemplateGet reads a template with the repositories it is associated with.
func (c *Client) ApprovalTemplateGet(ctx context.Context, name string, q *QueryOptions) (*ApprovalTemplate, error) {
	var out ApprovalTemplate
	err := c.do(ctx, request{method: http.MethodGet, path: templatePath(name), query: q.values(), out: &out})
	return &out, err
}

// ApprovalTemplateList lists the templates a page at a time, in name order.
func (c *Client) ApprovalTemplateList(ctx context.Context, q *QueryOptions) (*ApprovalTemplateList, error) {
	var out ApprovalTemplateList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/approval-templates", query: q.values(), out: &out})
	return &out, err
}

// ApprovalTemplateUpdateContent replaces a template's rule (approvals, pool, branches).
func (c *Client) ApprovalTemplateUpdateContent(ctx context.Context, name string, content ApprovalTemplateContent) (*ApprovalTemplate, error) {
	var out ApprovalTemplate
	err := c.do(ctx, request{method: http.MethodPut, path: templatePath(name) + "/content", in: content, out: &out})
	return &out, err
}

// ApprovalTemplateUpdateDescription replaces a template's description.
func (c *Client) ApprovalTemplateUpdateDescription(ctx context.Context, name, description string) (*ApprovalTemplate, error) {
	var out ApprovalTemplate
	err := c.do(ctx, request{method: http.MethodPut, path: templatePath(name) + "/description", in: ApprovalTemplateDescription{Description: description}, out: &out})
	return &out, err
}

// ApprovalTemplateDelete deletes a template and its associations.
func (c *Client) ApprovalTemplateDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: templatePath(name)})
}

// ApprovalTemplateAssociate associates a template with a repository
// (codecommit:AssociateApprovalRuleTemplateWithRepository, decided on the repository).
func (c *Client) ApprovalTemplateAssociate(ctx context.Context, name, repo string) error {
	return c.do(ctx, request{method: http.MethodPut, path: repoPath(repo) + "/approval-templates/" + url.PathEscape(name)})
}

// ApprovalTemplateDisassociate removes a template's association with a repository.
func (c *Client) ApprovalTemplateDisassociate(ctx context.Context, name, repo string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: repoPath(repo) + "/approval-templates/" + url.PathEscape(name)})
}

// RepoApprovalTemplates lists the templates associated with a repository, in name order.
func (c *Client) RepoApprovalTemplates(ctx context.Context, repo string, q *QueryOptions) (*ApprovalTemplateList, error) {
	var out ApprovalTemplateList
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(repo) + "/approval-templates", query: q.values(), out: &out})
	return &out, err
}
