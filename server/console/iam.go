package console

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

func init() { pageSets = append(pageSets, (*Module).iamRoutes) }

// iamPageSize is how many users, groups, policies or roles one list page shows.
const iamPageSize = 100

// iamSuggestions is how many names a form's datalist offers at most (groups and policies have
// no limit on their number): the field takes any name, and the service's "not found" shows next
// to it.
const iamSuggestions = 1000

// iamRoutes are the identity pages: users, groups, policies, roles and the signed-in user's MFA
// enrolment. Each route names the IAM API's action for the same question or change, so the edge
// authorizes it by the user's policies; a form naming its target in the body (the group to add a
// user to, the policy to attach) resolves the resource from the form.
func (m *Module) iamRoutes() []api.Route {
	formRes := func(field, kind string) func(r *http.Request) (string, error) {
		return func(r *http.Request) (string, error) {
			r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
			v := r.PostFormValue(field)
			if v == "" || strings.ContainsAny(v, "/*") {
				return kind + "/*", nil
			}
			return kind + "/" + v, nil
		}
	}
	return []api.Route{
		{Method: "GET", Pattern: "/ui/iam/users", Access: api.Console, Action: "iam:ListUsers", Resource: "user/*", Handle: m.iamUsers},
		{Method: "POST", Pattern: "/ui/iam/users", Access: api.Console, Action: "iam:CreateUser", Resource: "user/*", Handle: m.iamUserCreate},
		{Method: "GET", Pattern: "/ui/iam/users/{name}", Access: api.Console, Action: "iam:GetUser", Resource: "user/{name}", Handle: m.iamUser},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/unlock", Access: api.Console, Action: "iam:UnlockUser", Resource: "user/{name}", Handle: m.iamUserUnlock},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/delete", Access: api.Console, Action: "iam:DeleteUser", Resource: "user/{name}", Handle: m.iamUserDelete},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/groups", Access: api.Console, Action: "iam:AddUserToGroup", Resource: "group/*", ResolveResource: formRes("group", "group"), Handle: m.iamUserAddGroup},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/attach", Access: api.Console, Action: "iam:AttachPolicy", Resource: "policy/*", ResolveResource: formRes("policy", "policy"), Handle: m.iamAttach("user", true)},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/detach", Access: api.Console, Action: "iam:DetachPolicy", Resource: "policy/*", ResolveResource: formRes("policy", "policy"), Handle: m.iamAttach("user", false)},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/edit", Access: api.Console, Action: "iam:UpdateUser", Resource: "user/{name}", Handle: m.iamUserEdit},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/password", Access: api.Console, Action: "iam:ChangePassword", Resource: "user/{name}", Handle: m.iamUserPassword},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/ssh-keys", Access: api.Console, Action: "iam:UploadSSHPublicKey", Resource: "user/{name}", Handle: m.iamUserKeyAdd},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/ssh-keys/remove", Access: api.Console, Action: "iam:DeleteSSHPublicKey", Resource: "user/{name}", Handle: m.iamUserKeyRemove},
		{Method: "POST", Pattern: "/ui/iam/users/{name}/mfa/disable", Access: api.Console, Action: "iam:DeactivateMFADevice", Resource: "user/{name}", Handle: m.iamUserMFADisable},

		{Method: "GET", Pattern: "/ui/iam/groups", Access: api.Console, Action: "iam:ListGroups", Resource: "group/*", Handle: m.iamGroups},
		{Method: "POST", Pattern: "/ui/iam/groups", Access: api.Console, Action: "iam:CreateGroup", Resource: "group/*", Handle: m.iamGroupCreate},
		{Method: "GET", Pattern: "/ui/iam/groups/{name}", Access: api.Console, Action: "iam:GetGroup", Resource: "group/{name}", Handle: m.iamGroup},
		{Method: "POST", Pattern: "/ui/iam/groups/{name}/members", Access: api.Console, Action: "iam:AddUserToGroup", Resource: "group/{name}", Handle: m.iamGroupMember(true)},
		{Method: "POST", Pattern: "/ui/iam/groups/{name}/members/remove", Access: api.Console, Action: "iam:RemoveUserFromGroup", Resource: "group/{name}", Handle: m.iamGroupMember(false)},
		{Method: "POST", Pattern: "/ui/iam/groups/{name}/attach", Access: api.Console, Action: "iam:AttachPolicy", Resource: "policy/*", ResolveResource: formRes("policy", "policy"), Handle: m.iamAttach("group", true)},
		{Method: "POST", Pattern: "/ui/iam/groups/{name}/detach", Access: api.Console, Action: "iam:DetachPolicy", Resource: "policy/*", ResolveResource: formRes("policy", "policy"), Handle: m.iamAttach("group", false)},
		{Method: "POST", Pattern: "/ui/iam/groups/{name}/delete", Access: api.Console, Action: "iam:DeleteGroup", Resource: "group/{name}", Handle: m.iamGroupDelete},

		{Method: "GET", Pattern: "/ui/iam/policies", Access: api.Console, Action: "iam:ListPolicies", Resource: "policy/*", Handle: m.iamPolicies},
		{Method: "POST", Pattern: "/ui/iam/policies", Access: api.Console, Action: "iam:CreatePolicy", Resource: "policy/*", Handle: m.iamPolicyCreate},
		{Method: "GET", Pattern: "/ui/iam/policies/{name}", Access: api.Console, Action: "iam:GetPolicy", Resource: "policy/{name}", Handle: m.iamPolicy},
		{Method: "POST", Pattern: "/ui/iam/policies/{name}", Access: api.Console, Action: "iam:CreatePolicyVersion", Resource: "policy/{name}", Handle: m.iamPolicyUpdate},
		{Method: "POST", Pattern: "/ui/iam/policies/{name}/delete", Access: api.Console, Action: "iam:DeletePolicy", Resource: "policy/{name}", Handle: m.iamPolicyDelete},

		{Method: "GET", Pattern: "/ui/iam/roles", Access: api.Console, Action: "iam:ListRoles", Resource: "role/*", Handle: m.iamRoles},
		{Method: "POST", Pattern: "/ui/iam/roles", Access: api.Console, Action: "iam:CreateRole", Resource: "role/*", Handle: m.iamRoleCreate},
		{Method: "GET", Pattern: "/ui/iam/roles/{name}", Access: api.Console, Action: "iam:GetRole", Resource: "role/{name}", Handle: m.iamRole},
		{Method: "POST", Pattern: "/ui/iam/roles/{name}/delete", Access: api.Console, Action: "iam:DeleteRole", Resource: "role/{name}", Handle: m.iamRoleDelete},

		{Method: "GET", Pattern: "/ui/iam/mfa", Access: api.Console, Action: "iam:GetUser", Resource: "user/*", ResolveResource: m.sessionUser, Handle: m.iamMFA},
		{Method: "POST", Pattern: "/ui/iam/mfa", Access: api.Console, Action: "iam:EnableMFADevice", Resource: "user/*", ResolveResource: m.sessionUser, Handle: m.iamMFAEnroll},
		{Method: "POST", Pattern: "/ui/iam/mfa/confirm", Access: api.Console, Action: "iam:ConfirmMFADevice", Resource: "user/*", ResolveResource: m.sessionUser, Handle: m.iamMFAConfirm},
		{Method: "POST", Pattern: "/ui/iam/mfa/disable", Access: api.Console, Action: "iam:DeactivateMFADevice", Resource: "user/*", ResolveResource: m.sessionUser, Handle: m.iamMFADisable},
	}
}

// sessionUser names the signed-in user as a resource, so the MFA pages are authorized on the
// user's own name (the self-service policy every sign-in session has allows it).
func (m *Module) sessionUser(r *http.Request) (string, error) {
	id, err := auth.Resolve(m.core.State, api.ConsoleSecret(r), m.core.Now())
	if err != nil {
		return "", fault.New(fault.Unauthorized, "your console session ended: sign in again at %s", api.ConsoleSignIn)
	}
	return "user/" + id.Token.User, nil
}

// pageOf is a list page's position: the cursor from the query and the page size.
func pageOf(r *http.Request) api.Page {
	return api.Page{Limit: iamPageSize, After: r.URL.Query().Get("after")}
}

// writeCtx is the context of a console form's change, the caller's as the API would set it.
func (m *Module) writeCtx(r *http.Request, id *auth.Identity) (context.Context, context.CancelFunc, error) {
	return m.core.HTTP.WriteContext(r, id)
}

// readForm reads a console form, bounded.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return fault.New(fault.Invalid, "the form could not be read: %v", err)
	}
	return nil
}

// formFailed reports whether err is one a form shows next to its fields (the request was
// wrong, or the thing is not there or already is), rather than an error page.
func formFailed(err error) bool {
	switch fault.CodeOf(err) {
	case fault.Invalid, fault.Conflict, fault.NotFound:
		return true
	}
	return false
}

// formStatus is the status a re-rendered form answers with for err.
func formStatus(err error) int {
	switch fault.CodeOf(err) {
	case fault.Conflict:
		return http.StatusConflict
	case fault.NotFound:
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// seeOther redirects a form's browser to a page after a change.
func seeOther(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// suggest pages through a list with list and returns the names keep accepts, at most
// iamSuggestions of them, for a form's datalist.
func suggest[T any](ctx context.Context, list func(context.Context, api.Page) ([]T, string, error), name func(T) string, keep func(string) bool) ([]string, error) {
	var out []string
	p := api.Page{Limit: iamPageSize}
	for {
		items, next, err := list(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if n := name(it); keep(n) {
				if out = append(out, n); len(out) == iamSuggestions {
					return out, nil
				}
			}
		}
		if next == "" || next == p.After {
			return out, nil
		}
		p.After = next
	}
}

// lines splits a textarea's value into its non-empty entries, one a line or comma-separated.
func lines(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// esc is a path segment, escaped.
func esc(s string) string { return url.PathEscape(s) }

// The sortable columns of the users, groups, policies and roles lists.
var (
	userColumns = map[string]func(a, b pub.User) int{
		"name":    func(a, b pub.User) int { return strings.Compare(a.Name, b.Name) },
		"mfa":     func(a, b pub.User) int { return compareBool(a.MFAEnabled, b.MFAEnabled) },
		"created": func(a, b pub.User) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) },
	}
	iamGroupColumns = map[string]func(a, b pub.IAMGroup) int{
		"name":    func(a, b pub.IAMGroup) int { return strings.Compare(a.Name, b.Name) },
		"members": func(a, b pub.IAMGroup) int { return cmp.Compare(len(a.Members), len(b.Members)) },
	}
	policyColumns = map[string]func(a, b pub.Policy) int{
		"name":    func(a, b pub.Policy) int { return strings.Compare(a.Name, b.Name) },
		"kind":    func(a, b pub.Policy) int { return compareBool(a.Managed, b.Managed) },
		"version": func(a, b pub.Policy) int { return cmp.Compare(a.Version, b.Version) },
	}
	roleColumns = map[string]func(a, b pub.Role) int{
		"name": func(a, b pub.Role) int { return strings.Compare(a.Name, b.Name) },
		"mfa":  func(a, b pub.Role) int { return compareBool(a.RequireMFA, b.RequireMFA) },
	}
)

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// policyPanel is what the "attached" component draws: a user's or group's attached policies,
// the detach and attach forms the signed-in user may use, and a refusal of either.
type policyPanel struct {
	Base      string // the page's path: the forms post to Base/attach and Base/detach
	Attached  []string
	CanDetach map[string]bool // by attached policy
	CanAttach bool
	Suggest   []string // every policy name, for the attach field
	Failed    string   // "attach" or "detach" when the service refused that form
	Error     string
	CSRF      string
	Empty     string // what to say when nothing is attached
}

// PolicyPanel is the user page's policies part.
func (d userData) PolicyPanel(csrf string) policyPanel {
	return policyPanel{Base: "/ui/iam/users/" + d.User.Name, Attached: d.User.Policies, CanDetach: d.CanDetach, CanAttach: d.CanAttach,
		Suggest: d.Policies, Failed: d.Failed, Error: d.Error, CSRF: csrf,
		Empty: "No policy attached: the user may do only what their groups allow."}
}

// PolicyPanel is the group page's policies part.
func (d iamGroupData) PolicyPanel(csrf string) policyPanel {
	return policyPanel{Base: "/ui/iam/groups/" + d.Group.Name, Attached: d.Group.Policies, CanDetach: d.CanDetach, CanAttach: d.CanAttach,
		Suggest: d.Policies, Failed: d.Failed, Error: d.Error, CSRF: csrf,
		Empty: "No policy attached: members get nothing from this group."}
}
