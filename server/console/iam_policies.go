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
	Sort      tableSort
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
	d.Sort = sortTable(r, "sort", "name", d.Policies, policyColumns)
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

// policyData is a policy's page: its document, indented, and the forms for a new version (the
// document in a textarea, kept with the parser's message when refused) and delete, each shown
// when allowed (never for a managed policy). Failed names the form the service refused.
type policyData struct {
	Policy               pub.Policy
	Document             string
	Form                 pub.PolicyPutRequest // the new version's form
	CanUpdate, CanDelete bool
	Failed, Error        string
}

func (m *Module) iamPolicy(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderPolicy(w, r, id, http.StatusOK, policyData{})
}

func (m *Module) renderPolicy(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d policyData) error {
	p, err := m.acl.Identity().GetPolicy(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	if json.Indent(&doc, p.Document, "", "  ") != nil {
		doc.Reset()
		doc.Write(p.Document)
	}
	d.Policy, d.Document = p, doc.String()
	if d.Failed != "update" {
		d.Form = pub.PolicyPutRequest{Description: &p.Description, Document: d.Document}
	}
	k, res := m.core.HTTP, "policy/"+p.Name
	d.CanUpdate = !p.Managed && k.Allowed(r, id, "iam:CreatePolicyVersion", res)
	d.CanDelete = !p.Managed && k.Allowed(r, id, "iam:DeletePolicy", res)
	return m.render(w, status, "iam_policy", frame(r, id.Token.User, "Policy "+p.Name, d))
}

// iamPolicyUpdate replaces the policy's document with the form's, its next version
// (iam:CreatePolicyVersion, as `slipway iam policy update`); a refused document is shown again
// with the parser's message next to the textarea.
func (m *Module) iamPolicyUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	desc := r.PostFormValue("description")
	req := pub.PolicyPutRequest{Description: &desc, Document: r.PostFormValue("document")}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.acl.Identity().UpdatePolicy(ctx, r.PathValue("name"), req); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderPolicy(w, r, id, formStatus(err), policyData{Form: req, Failed: "update", Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/policies/"+esc(r.PathValue("name")))
}

// iamPolicyDelete deletes the customer policy and goes to the list; the service refuses while
// anything has it attached, and its message (what to detach) shows next to the button.
func (m *Module) iamPolicyDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.acl.Identity().DeletePolicy(ctx, r.PathValue("name")); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderPolicy(w, r, id, formStatus(err), policyData{Failed: "delete", Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/policies")
}
