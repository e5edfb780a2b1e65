package console

import (
	"bytes"
	"encoding/json"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// policiesData is the policies list's, with the create form (a document in a textarea).
type policiesData struct {
	Policies  []pub.Policy
	Next      string
	CanCreate bool
	Form      pub.PolicyPutRequest
	Error     string // the parser's message for the document, or the name's
}

func (m *Module) iamPolicies(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderPolicies(w, r, id, http.StatusOK, policiesData{})
}

func (m *Module) renderPolicies(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d policiesData) error {
	l, next, err := m.acl.Identity().ListPolicies(r.Context(), pageOf(r))
	if err != nil {
		return err
	}
	d.Policies, d.Next = l, next
	d.CanCreate = m.core.HTTP.Allowed(r, id, "iam:CreatePolicy", "policy/*")
	return m.render(w, status, "iam_policies", frame(r, id.Token.User, "Policies", d))
}

// iamPolicyCreate creates a policy from the form; a document the parser refuses is shown again
// with the parser's message (its line and what to fix) next to the textarea.
func (m *Module) iamPolicyCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	req := pub.PolicyPutRequest{Name: r.PostFormValue("name"), Document: r.PostFormValue("document")}
	if d := r.PostFormValue("description"); d != "" {
		req.Description = &d
	}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.acl.Identity().CreatePolicy(ctx, req); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderPolicies(w, r, id, formStatus(err), policiesData{Form: req, Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/policies/"+esc(req.Name))
}

// policyData is a policy's page: its document, indented.
type policyData struct {
	Policy   pub.Policy
	Document string
}

func (m *Module) iamPolicy(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	p, err := m.acl.Identity().GetPolicy(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	if json.Indent(&doc, p.Document, "", "  ") != nil {
		doc.Reset()
		doc.Write(p.Document)
	}
	return m.render(w, http.StatusOK, "iam_policy", frame(r, id.Token.User, "Policy "+p.Name, policyData{Policy: p, Document: doc.String()}))
}

// rolesData is the roles list's.
type rolesData struct {
	Roles []pub.Role
	Next  string
}

func (m *Module) iamRoles(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	l, next, err := m.acl.Identity().ListRoles(r.Context(), pageOf(r))
	if err != nil {
		return err
	}
	return m.render(w, http.StatusOK, "iam_roles", frame(r, id.Token.User, "Roles", rolesData{Roles: l, Next: next}))
}

func (m *Module) iamRole(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	role, err := m.acl.Identity().GetRole(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return m.render(w, http.StatusOK, "iam_role", frame(r, id.Token.User, "Role "+role.Name, role))
}
