package console

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// rolesData is the roles list's, with the create form: trust entries and policies one a line,
// as the API takes them (`user/NAME`, `group/NAME`, ...).
type rolesData struct {
	Roles     []pub.Role
	Sort      tableSort
	Next      string
	CanCreate bool
	Form      pub.RoleCreateRequest
	Error     string
}

func (m *Module) iamRoles(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderRoles(w, r, id, http.StatusOK, rolesData{})
}

func (m *Module) renderRoles(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d rolesData) error {
	l, next, err := m.acl.Identity().ListRoles(r.Context(), pageOf(r))
	if err != nil {
		return err
	}
	d.Roles, d.Next = l, next
	d.Sort = sortTable(r, "sort", "name", d.Roles, roleColumns)
	d.CanCreate = m.core.HTTP.Allowed(r, id, "iam:CreateRole", "role/*")
	return m.render(w, status, "iam_roles", frame(r, id.Token.User, "Roles", d))
}

// iamRoleCreate creates a role from the form (iam:CreateRole); a refusal (a bad trust entry, an
// unknown policy, a taken name) is shown next to the form with what was typed.
func (m *Module) iamRoleCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	req := pub.RoleCreateRequest{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Trust: lines(r.PostFormValue("trust")), Policies: lines(r.PostFormValue("policies")),
		MaxSession: r.PostFormValue("max_session"), RequireMFA: r.PostFormValue("require_mfa") != ""}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.acl.Identity().CreateRole(ctx, req); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderRoles(w, r, id, formStatus(err), rolesData{Form: req, Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/roles/"+esc(req.Name))
}

// roleData is a role's page, with the delete form when allowed.
type roleData struct {
	pub.Role
	CanDelete bool
	Error     string
}

func (m *Module) iamRole(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderRole(w, r, id, http.StatusOK, "")
}

func (m *Module) renderRole(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, msg string) error {
	role, err := m.acl.Identity().GetRole(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	d := roleData{Role: role, Error: msg, CanDelete: m.core.HTTP.Allowed(r, id, "iam:DeleteRole", "role/"+role.Name)}
	return m.render(w, status, "iam_role", frame(r, id.Token.User, "Role "+role.Name, d))
}

// iamRoleDelete deletes the role (its sessions end) and goes to the list.
func (m *Module) iamRoleDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.acl.Identity().DeleteRole(ctx, r.PathValue("name")); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderRole(w, r, id, formStatus(err), errText(err))
	}
	return seeOther(w, r, "/ui/iam/roles")
}
