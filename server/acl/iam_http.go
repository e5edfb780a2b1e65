package acl

import (
	"context"
	"net/http"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
)

// iamRoutes are the identity endpoints: users, groups, policies, roles, users' SSH keys and
// tokens. Every one names its IAM action and resource (srn:slipway:iam:user/NAME, ...).
func (m *Module) iamRoutes() []api.Route {
	k := func() *api.Kit { return m.core.HTTP }
	id := func() *Identity { return m.Identity() }
	name := func(r *http.Request) string { return r.PathValue("name") }
	return []api.Route{
		// Users.
		{Method: "POST", Pattern: "/v1/iam/users", Access: api.Management, Action: "iam:CreateUser", Resource: "user/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.UserCreateRequest) (pub.User, error) {
				return id().CreateUser(ctx, req)
			})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/users", Access: api.AnyToken, Action: "iam:ListUsers", Resource: "user/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.List(k(), func(r *http.Request, p api.Page) ([]pub.User, string, error) { return id().ListUsers(r.Context(), p) },
				func(items []pub.User, next string) pub.UserList { return pub.UserList{Users: items, Next: next} })(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/users/{name}", Access: api.AnyToken, Action: "iam:GetUser", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Get(k(), func(r *http.Request) (pub.User, error) { return id().GetUser(r.Context(), name(r)) })(w, r, c)
		}},
		{Method: "PATCH", Pattern: "/v1/iam/users/{name}", Access: api.Management, Action: "iam:UpdateUser", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, req pub.UserUpdateRequest) (pub.User, error) {
				return id().UpdateUser(ctx, name(r), req)
			})(w, r, c)
		}},
		{Method: "DELETE", Pattern: "/v1/iam/users/{name}", Access: api.Management, Action: "iam:DeleteUser", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error { return id().DeleteUser(ctx, name(r)) })(w, r, c)
		}},
		{Method: "PUT", Pattern: "/v1/iam/users/{name}/password", Access: api.Management, Action: "iam:ChangePassword", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PasswordRequest) (struct{}, error) {
				return struct{}{}, id().SetPassword(ctx, name(r), req, c)
			})(w, r, c)
		}},
		{Method: "POST", Pattern: "/v1/iam/users/{name}/unlock", Access: api.Management, Action: "iam:UnlockUser", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error { return id().Unlock(ctx, name(r)) })(w, r, c)
		}},
		{Method: "POST", Pattern: "/v1/iam/users/{name}/tokens", Access: api.Management, Action: "iam:CreateToken", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.UserTokenCreateRequest) (pub.Token, error) {
				return id().CreateUserToken(ctx, name(r), req)
			})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/users/{name}/tokens", Access: api.Management, Action: "iam:ListTokens", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Get(k(), func(r *http.Request) (pub.TokenPage, error) {
				l, err := id().ListUserTokens(r.Context(), name(r))
				return pub.TokenPage{Tokens: l}, err
			})(w, r, c)
		}},
		{Method: "POST", Pattern: "/v1/iam/users/{name}/ssh-keys", Access: api.Management, Action: "iam:UploadSSHPublicKey", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusCreated, func(ctx context.Context, r *http.Request, req pub.SSHKeyAddRequest) (pub.SSHKey, error) {
				return id().AddSSHKey(ctx, name(r), req)
			})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/users/{name}/ssh-keys", Access: api.AnyToken, Action: "iam:ListSSHPublicKeys", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Get(k(), func(r *http.Request) (pub.SSHKeyList, error) {
				l, err := id().ListSSHKeys(r.Context(), name(r))
				return pub.SSHKeyList{Keys: l}, err
			})(w, r, c)
		}},
		{Method: "DELETE", Pattern: "/v1/iam/users/{name}/ssh-keys/{fingerprint}", Access: api.Management, Action: "iam:DeleteSSHPublicKey", Resource: "user/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error {
				return id().RemoveSSHKey(ctx, name(r), r.PathValue("fingerprint"))
			})(w, r, c)
		}},

		// Groups.
		{Method: "POST", Pattern: "/v1/iam/groups", Access: api.Management, Action: "iam:CreateGroup", Resource: "group/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.IAMGroupCreateRequest) (pub.IAMGroup, error) {
				return id().CreateGroup(ctx, req)
			})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/groups", Access: api.AnyToken, Action: "iam:ListGroups", Resource: "group/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.List(k(), func(r *http.Request, p api.Page) ([]pub.IAMGroup, string, error) {
				return id().ListGroups(r.Context(), p)
			},
				func(items []pub.IAMGroup, next string) pub.IAMGroupList {
					return pub.IAMGroupList{Groups: items, Next: next}
				})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/groups/{name}", Access: api.AnyToken, Action: "iam:GetGroup", Resource: "group/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Get(k(), func(r *http.Request) (pub.IAMGroup, error) { return id().GetGroup(r.Context(), name(r)) })(w, r, c)
		}},
		{Method: "DELETE", Pattern: "/v1/iam/groups/{name}", Access: api.Management, Action: "iam:DeleteGroup", Resource: "group/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error { return id().DeleteGroup(ctx, name(r)) })(w, r, c)
		}},
		{Method: "PUT", Pattern: "/v1/iam/groups/{name}/members/{user}", Access: api.Management, Action: "iam:AddUserToGroup", Resource: "group/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error {
				return id().SetMember(ctx, name(r), r.PathValue("user"), true)
			})(w, r, c)
		}},
		{Method: "DELETE", Pattern: "/v1/iam/groups/{name}/members/{user}", Access: api.Management, Action: "iam:RemoveUserFromGroup", Resource: "group/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error {
				return id().SetMember(ctx, name(r), r.PathValue("user"), false)
			})(w, r, c)
		}},

		// Policies.
		{Method: "POST", Pattern: "/v1/iam/policies", Access: api.Management, Action: "iam:CreatePolicy", Resource: "policy/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.PolicyPutRequest) (pub.Policy, error) {
				return id().CreatePolicy(ctx, req)
			})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/policies", Access: api.AnyToken, Action: "iam:ListPolicies", Resource: "policy/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.List(k(), func(r *http.Request, p api.Page) ([]pub.Policy, string, error) {
				return id().ListPolicies(r.Context(), p)
			},
				func(items []pub.Policy, next string) pub.PolicyList {
					return pub.PolicyList{Policies: items, Next: next}
				})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/policies/{name}", Access: api.AnyToken, Action: "iam:GetPolicy", Resource: "policy/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Get(k(), func(r *http.Request) (pub.Policy, error) { return id().GetPolicy(r.Context(), name(r)) })(w, r, c)
		}},
		{Method: "PUT", Pattern: "/v1/iam/policies/{name}", Access: api.Management, Action: "iam:CreatePolicyVersion", Resource: "policy/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PolicyPutRequest) (pub.Policy, error) {
				return id().UpdatePolicy(ctx, name(r), req)
			})(w, r, c)
		}},
		{Method: "DELETE", Pattern: "/v1/iam/policies/{name}", Access: api.Management, Action: "iam:DeletePolicy", Resource: "policy/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error { return id().DeletePolicy(ctx, name(r)) })(w, r, c)
		}},
		{Method: "POST", Pattern: "/v1/iam/policies/{name}/attach", Access: api.Management, Action: "iam:AttachPolicy", Resource: "policy/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PolicyAttachRequest) (struct{}, error) {
				return struct{}{}, id().Attach(ctx, name(r), req, true)
			})(w, r, c)
		}},
		{Method: "POST", Pattern: "/v1/iam/policies/{name}/detach", Access: api.Management, Action: "iam:DetachPolicy", Resource: "policy/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusOK, func(ctx context.Context, r *http.Request, req pub.PolicyAttachRequest) (struct{}, error) {
				return struct{}{}, id().Attach(ctx, name(r), req, false)
			})(w, r, c)
		}},

		// Roles.
		{Method: "POST", Pattern: "/v1/iam/roles", Access: api.Management, Action: "iam:CreateRole", Resource: "role/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Write(k(), http.StatusCreated, func(ctx context.Context, _ *http.Request, req pub.RoleCreateRequest) (pub.Role, error) {
				return id().CreateRole(ctx, req)
			})(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/roles", Access: api.AnyToken, Action: "iam:ListRoles", Resource: "role/*", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.List(k(), func(r *http.Request, p api.Page) ([]pub.Role, string, error) { return id().ListRoles(r.Context(), p) },
				func(items []pub.Role, next string) pub.RoleList { return pub.RoleList{Roles: items, Next: next} })(w, r, c)
		}},
		{Method: "GET", Pattern: "/v1/iam/roles/{name}", Access: api.AnyToken, Action: "iam:GetRole", Resource: "role/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Get(k(), func(r *http.Request) (pub.Role, error) { return id().GetRole(r.Context(), name(r)) })(w, r, c)
		}},
		{Method: "DELETE", Pattern: "/v1/iam/roles/{name}", Access: api.Management, Action: "iam:DeleteRole", Resource: "role/{name}", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			return api.Remove(k(), func(ctx context.Context, r *http.Request) error { return id().DeleteRole(ctx, name(r)) })(w, r, c)
		}},

		// Who am I.
		{Method: "GET", Pattern: "/v1/sts/caller-identity", Access: api.AnyToken, Action: "sts:GetCallerIdentity", Resource: "caller/self", Handle: func(w http.ResponseWriter, r *http.Request, c *auth.Identity) error {
			k().JSON(w, http.StatusOK, m.callerIdentity(c))
			return nil
		}},
	}
}
