package console

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// groupsData is the groups list's.
type groupsData struct {
	Groups    []pub.IAMGroup
	Sort      tableSort
	Next      string
	CanCreate bool
	Form      pub.IAMGroupCreateRequest
	Error     string
}

func (m *Module) iamGroups(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderGroups(w, r, id, http.StatusOK, groupsData{})
}

func (m *Module) renderGroups(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d groupsData) error {
	l, next, err := m.acl.Identity().ListGroups(r.Context(), pageOf(r))
	if err != nil {
		return err
	}
	d.Groups, d.Next = l, next
	d.Sort = sortTable(r, "sort", "name", d.Groups, iamGroupColumns)
	d.CanCreate = m.core.HTTP.Allowed(r, id, "iam:CreateGroup", "group/*")
	return m.render(w, status, "iam_groups", frame(r, id.Token.User, "Groups", d))
}

func (m *Module) iamGroupCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	req := pub.IAMGroupCreateRequest{Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.acl.Identity().CreateGroup(ctx, req); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderGroups(w, r, id, formStatus(err), groupsData{Form: req, Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/groups/"+esc(req.Name))
}

// iamGroupData is a group's page: members and policies, and what may be changed.
type iamGroupData struct {
	Group                                   pub.IAMGroup
	Policies                                []string // suggestions for the policy field
	CanAdd, CanRemove, CanAttach, CanDelete bool
	CanDetach                               map[string]bool
	Failed, Error                           string // the form the service refused, and its message
}

func (m *Module) iamGroup(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderGroup(w, r, id, http.StatusOK, "", "")
}

func (m *Module) renderGroup(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, form, msg string) error {
	ids, k := m.acl.Identity(), m.core.HTTP
	name := r.PathValue("name")
	g, err := ids.GetGroup(r.Context(), name)
	if err != nil {
		return err
	}
	d := iamGroupData{Group: g, Failed: form, Error: msg, CanDetach: map[string]bool{}}
	d.CanAdd = k.Allowed(r, id, "iam:AddUserToGroup", "group/"+name)
	d.CanRemove = k.Allowed(r, id, "iam:RemoveUserFromGroup", "group/"+name)
	for _, p := range g.Policies {
		d.CanDetach[p] = k.Allowed(r, id, "iam:DetachPolicy", "policy/"+p)
	}
	d.CanDelete = k.Allowed(r, id, "iam:DeleteGroup", "group/"+name)
	if k.Allowed(r, id, "iam:AttachPolicy", "policy/*") || k.Allowed(r, id, "iam:ListPolicies", "policy/*") {
		d.Policies, err = suggest(r.Context(), ids.ListPolicies, func(p pub.Policy) string { return p.Name }, func(p string) bool {
			return !contains(g.Policies, p) && k.Allowed(r, id, "iam:AttachPolicy", "policy/"+p)
		})
		if err != nil {
			return err
		}
	}
	d.CanAttach = len(d.Policies) > 0 || k.Allowed(r, id, "iam:AttachPolicy", "policy/*")
	return m.render(w, status, "iam_group", frame(r, id.Token.User, "Group "+name, d))
}

// groupChange runs a change on the group of the path and goes to after, or back to the group's
// page (or shows the failure on it, next to the form named form).
func (m *Module) groupChange(w http.ResponseWriter, r *http.Request, id *auth.Identity, form string, change func(name string) error, after string) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	if err := change(r.PathValue("name")); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderGroup(w, r, id, formStatus(err), form, errText(err))
	}
	if after == "" {
		after = "/ui/iam/groups/" + esc(r.PathValue("name"))
	}
	return seeOther(w, r, after)
}

// iamGroupDelete deletes the group of the path (its members stay users) and goes to the list.
func (m *Module) iamGroupDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	return m.groupChange(w, r, id, "delete", func(name string) error { return m.acl.Identity().DeleteGroup(ctx, name) }, "/ui/iam/groups")
}

// iamGroupMember adds (or removes) the form's user to the group of the path.
func (m *Module) iamGroupMember(add bool) func(http.ResponseWriter, *http.Request, *auth.Identity) error {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		ctx, cancel, err := m.writeCtx(r, id)
		if err != nil {
			return err
		}
		defer cancel()
		form := "add"
		if !add {
			form = "remove"
		}
		return m.groupChange(w, r, id, form, func(name string) error {
			return m.acl.Identity().SetMember(ctx, name, r.PostFormValue("user"), add)
		}, "")
	}
}
