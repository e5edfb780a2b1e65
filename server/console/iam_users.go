package console

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// usersData is the users list's: a page of users, the create form and whether it is shown.
type usersData struct {
	Users     []pub.User
	Sort      tableSort
	Next      string
	CanCreate bool
	Form      pub.UserCreateRequest
	Error     string
}

func (m *Module) iamUsers(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderUsers(w, r, id, http.StatusOK, usersData{})
}

func (m *Module) renderUsers(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d usersData) error {
	l, next, err := m.acl.Identity().ListUsers(r.Context(), pageOf(r))
	if err != nil {
		return err
	}
	d.Users, d.Next = l, next
	d.Sort = sortTable(r, "sort", "name", d.Users, userColumns)
	d.CanCreate = m.core.HTTP.Allowed(r, id, "iam:CreateUser", "user/*")
	return m.render(w, status, "iam_users", frame(r, id.Token.User, "Users", d))
}

// iamUserCreate creates a user from the form (name, display name, email, password).
func (m *Module) iamUserCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	req := pub.UserCreateRequest{Name: r.PostFormValue("name"), DisplayName: r.PostFormValue("display_name"),
		Email: r.PostFormValue("email"), Password: r.PostFormValue("password")}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.acl.Identity().CreateUser(ctx, req); err != nil {
		if !formFailed(err) {
			return err
		}
		req.Password = "" // never sent back
		return m.renderUsers(w, r, id, formStatus(err), usersData{Form: req, Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/users/"+esc(req.Name))
}

// userData is a user's page: the user, their tokens (never secrets) and SSH keys, and what the
// signed-in user may change. Failed names the form whose change the service refused (its
// message, Error, shows next to that form); the failed edit form keeps what was typed in Edit.
type userData struct {
	User                    pub.User
	Self                    bool // the signed-in user's own page: a password change asks for the current one
	Tokens                  []pub.Token
	TokensDenied            bool
	Keys                    []pub.SSHKey
	Groups, Policies        []string // suggestions for the group and policy fields
	CanAddGroup, CanAttach  bool
	Locked                  bool
	CanUnlock, CanDelete    bool
	CanUpdate, CanPassword  bool
	CanAddKey, CanRemoveKey bool
	CanDisableMFA           bool
	CanDetach               map[string]bool // by attached policy
	Edit                    pub.UserUpdateRequest
	Key                     string // the refused SSH key line, shown again
	Failed, Error           string
}

func (m *Module) iamUser(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderUser(w, r, id, http.StatusOK, userData{})
}

func (m *Module) renderUser(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d userData) error {
	ids, k := m.acl.Identity(), m.core.HTTP
	name := r.PathValue("name")
	u, err := ids.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	res := "user/" + name
	d.User, d.Self, d.CanDetach = u, name == id.Token.User, map[string]bool{}
	if d.Failed != "edit" {
		d.Edit = pub.UserUpdateRequest{DisplayName: &u.DisplayName, Email: &u.Email}
	}
	for _, p := range u.Policies {
		d.CanDetach[p] = k.Allowed(r, id, "iam:DetachPolicy", "policy/"+p)
	}
	d.Locked = u.LockedUntil != nil && u.LockedUntil.After(m.core.Now())
	if d.TokensDenied = !k.Allowed(r, id, "iam:ListTokens", res); !d.TokensDenied {
		if d.Tokens, err = ids.ListUserTokens(r.Context(), name); err != nil {
			return err
		}
		for i := range d.Tokens {
			d.Tokens[i].SecretID = "" // a list never shows a secret
		}
	}
	if k.Allowed(r, id, "iam:ListSSHPublicKeys", res) {
		if d.Keys, err = ids.ListSSHKeys(r.Context(), name); err != nil {
			return err
		}
	}
	d.CanUnlock = k.Allowed(r, id, "iam:UnlockUser", res)
	d.CanDelete = k.Allowed(r, id, "iam:DeleteUser", res)
	d.CanUpdate = k.Allowed(r, id, "iam:UpdateUser", res)
	d.CanPassword = k.Allowed(r, id, "iam:ChangePassword", res)
	d.CanAddKey = k.Allowed(r, id, "iam:UploadSSHPublicKey", res)
	d.CanRemoveKey = k.Allowed(r, id, "iam:DeleteSSHPublicKey", res)
	d.CanDisableMFA = u.MFAEnabled && k.Allowed(r, id, "iam:DeactivateMFADevice", res)
	if k.Allowed(r, id, "iam:AddUserToGroup", "group/*") || k.Allowed(r, id, "iam:ListGroups", "group/*") {
		d.Groups, err = suggest(r.Context(), ids.ListGroups, func(g pub.IAMGroup) string { return g.Name }, func(g string) bool {
			return !contains(u.Groups, g) && k.Allowed(r, id, "iam:AddUserToGroup", "group/"+g)
		})
		if err != nil {
			return err
		}
	}
	if k.Allowed(r, id, "iam:AttachPolicy", "policy/*") || k.Allowed(r, id, "iam:ListPolicies", "policy/*") {
		d.Policies, err = suggest(r.Context(), ids.ListPolicies, func(p pub.Policy) string { return p.Name }, func(p string) bool {
			return !contains(u.Policies, p) && k.Allowed(r, id, "iam:AttachPolicy", "policy/"+p)
		})
		if err != nil {
			return err
		}
	}
	d.CanAddGroup = len(d.Groups) > 0 || k.Allowed(r, id, "iam:AddUserToGroup", "group/*")
	d.CanAttach = len(d.Policies) > 0 || k.Allowed(r, id, "iam:AttachPolicy", "policy/*")
	return m.render(w, status, "iam_user", frame(r, id.Token.User, "User "+name, d))
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// userChange runs a change on the user of the path and goes back to their page (or shows the
// failure on it, next to the form named form).
func (m *Module) userChange(w http.ResponseWriter, r *http.Request, id *auth.Identity, form string, change func(name string) error, after string) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	if err := change(r.PathValue("name")); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderUser(w, r, id, formStatus(err), userData{Failed: form, Error: errText(err)})
	}
	if after == "" {
		after = "/ui/iam/users/" + esc(r.PathValue("name"))
	}
	return seeOther(w, r, after)
}

func (m *Module) iamUserUnlock(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	return m.userChange(w, r, id, "unlock", func(name string) error { return m.acl.Identity().Unlock(ctx, name) }, "")
}

func (m *Module) iamUserDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	return m.userChange(w, r, id, "delete", func(name string) error { return m.acl.Identity().DeleteUser(ctx, name) }, "/ui/iam/users")
}

func (m *Module) iamUserAddGroup(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	return m.userChange(w, r, id, "group", func(name string) error {
		return m.acl.Identity().SetMember(ctx, r.PostFormValue("group"), name, true)
	}, "")
}

// iamAttach attaches (or detaches) the form's policy to the user or group of the path.
func (m *Module) iamAttach(kind string, attach bool) func(http.ResponseWriter, *http.Request, *auth.Identity) error {
	return func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
		ctx, cancel, err := m.writeCtx(r, id)
		if err != nil {
			return err
		}
		defer cancel()
		do := func(name string) error {
			req := pub.PolicyAttachRequest{User: name}
			if kind == "group" {
				req = pub.PolicyAttachRequest{Group: name}
			}
			return m.acl.Identity().Attach(ctx, r.PostFormValue("policy"), req, attach)
		}
		form := "attach"
		if !attach {
			form = "detach"
		}
		if kind == "group" {
			return m.groupChange(w, r, id, form, do, "")
		}
		return m.userChange(w, r, id, form, do, "")
	}
}
