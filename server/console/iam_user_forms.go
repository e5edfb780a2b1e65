package console

import (
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// The user page's credential and profile forms: edit (display name, email), set a password, add
// and remove SSH keys, turn MFA off. Each is the API's change of the same name, on the user of
// the path.

// iamUserEdit changes the user's display name and email (iam:UpdateUser); a refused value is
// shown again, as typed, next to the form.
func (m *Module) iamUserEdit(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	dn, email := r.PostFormValue("display_name"), r.PostFormValue("email")
	req := pub.UserUpdateRequest{DisplayName: &dn, Email: &email}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.acl.Identity().UpdateUser(ctx, r.PathValue("name"), req); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderUser(w, r, id, formStatus(err), userData{Failed: "edit", Error: errText(err), Edit: req})
	}
	return seeOther(w, r, "/ui/iam/users/"+esc(r.PathValue("name")))
}

// iamUserPassword sets the user's password (iam:ChangePassword). An administrator sets another
// user's without knowing the old one; a user changing their own gives the current one, and the
// service's refusal of a wrong one shows next to the form. The user's other sessions end. A
// password is never sent back.
func (m *Module) iamUserPassword(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	req := pub.PasswordRequest{Password: r.PostFormValue("password"), CurrentPassword: r.PostFormValue("current_password")}
	if req.Password != r.PostFormValue("confirm") {
		return m.renderUser(w, r, id, http.StatusBadRequest, userData{Failed: "password", Error: "the two new passwords differ: type the same one twice"})
	}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.acl.Identity().SetPassword(ctx, r.PathValue("name"), req, id); err != nil {
		// The service's Forbidden here is a wrong current password, which the form can fix.
		if !formFailed(err) && fault.CodeOf(err) != fault.Forbidden {
			return err
		}
		status := formStatus(err)
		if fault.CodeOf(err) == fault.Forbidden {
			status = http.StatusForbidden
		}
		return m.renderUser(w, r, id, status, userData{Failed: "password", Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/users/"+esc(r.PathValue("name")))
}

// iamUserKeyAdd adds the pasted authorized_keys line as the user's SSH key
// (iam:UploadSSHPublicKey); a refused line is shown again (a public key is no secret) with the
// service's message.
func (m *Module) iamUserKeyAdd(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	req := pub.SSHKeyAddRequest{PublicKey: r.PostFormValue("public_key")}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := m.acl.Identity().AddSSHKey(ctx, r.PathValue("name"), req); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderUser(w, r, id, formStatus(err), userData{Failed: "key", Error: errText(err), Key: req.PublicKey})
	}
	return seeOther(w, r, "/ui/iam/users/"+esc(r.PathValue("name")))
}

// iamUserKeyRemove removes the user's SSH key of the form's fingerprint
// (iam:DeleteSSHPublicKey).
func (m *Module) iamUserKeyRemove(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	return m.userChange(w, r, id, "key", func(name string) error {
		return m.acl.Identity().RemoveSSHKey(ctx, name, r.PostFormValue("fingerprint"))
	}, "")
}

// iamUserMFADisable turns the user's MFA off, removing the device and its recovery codes
// (iam:DeactivateMFADevice): an administrator's reset for a user who lost their device, or the
// user's own when their session was opened with MFA (the self-service policy's condition).
func (m *Module) iamUserMFADisable(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	return m.userChange(w, r, id, "mfa", func(name string) error { return m.acl.Identity().DisableMFA(ctx, name) }, "")
}
