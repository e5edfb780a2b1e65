// Package acl is the token management service: the one-time ACL bootstrap, creating, listing,
// reading and revoking API tokens, and seeding the initial management token from a file on the
// leader. It plugs into the core through one registration (Module) and offers its Go API
// (Tokens) to HTTP handlers, the console and other services; see DESIGN.md.
//
// The token record itself (state.Token and its lookups by accessor and by secret hash, in the
// buckets "tokens" and "token_hash") stays in the core: authentication (server/core/auth) is
// core and resolves every request's token, for every service, before any handler runs. This
// service owns the commands that write those records and the routes that manage them.
package acl

import (
	"sync"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// Command numbers the ACL service owns. 10-12 were given out before services had ranges and stay
// as they are; new ACL commands take numbers from 1200-1299.
var commandRanges = []command.Range{
	{First: 10, Last: 19},
	{First: 1200, Last: 1299},
}

// Module is the ACL service's registration.
type Module struct {
	core             *module.Core
	initialTokenFile string
	authz            *Authorizer
	signInOnce       sync.Once
	signin           *signIn
}

// New returns the ACL service. initialTokenFile is the file holding the initial management
// token's secret (--initial-management-token-file); when set, the leader creates that token
// once, if the cluster has not been bootstrapped yet. Empty: no initial token.
func New(initialTokenFile string) *Module { return &Module{initialTokenFile: initialTokenFile} }

// Name implements module.Module.
func (*Module) Name() string { return "acl" }

// Register implements module.Module.
func (m *Module) Register(r *module.Registry, core *module.Core) {
	m.core = core
	r.Commands(commandRanges...)
	r.Actions("iam", "sts")
	module.Handle(r, CmdBootstrap, applyBootstrap)
	module.Handle(r, CmdCreateToken, applyCreateToken)
	module.Handle(r, CmdRevokeToken, applyRevokeToken)
	m.registerIdentity(r, core)
	r.Routes(m.routes()...)
	r.Routes(m.iamRoutes()...)
	m.registerSignIn(r)
	r.SecretEvents("acl", "token") // who holds which token is for management tokens only
	r.Leader("initial-token", m.initialManagementToken)
}

// registerIdentity declares the identity state, its commands and the authorizer.
func (m *Module) registerIdentity(r *module.Registry, core *module.Core) {
	r.Buckets(bucketUsers, bucketGroups, bucketPolicies, bucketRoles, bucketSSHKeys, bucketMeta)
	module.Handle(r, CmdUserCreate, applyUserCreate)
	module.Handle(r, CmdUserUpdate, applyUserUpdate)
	module.Handle(r, CmdUserDelete, applyUserDelete)
	module.Handle(r, CmdUserPassword, applyUserPassword)
	module.Handle(r, CmdUserLock, applyUserLock)
	module.Handle(r, CmdGroupCreate, applyGroupCreate)
	module.Handle(r, CmdGroupDelete, applyGroupDelete)
	module.Handle(r, CmdGroupMember, applyGroupMember)
	module.Handle(r, CmdPolicyCreate, applyPolicyCreate)
	module.Handle(r, CmdPolicyUpdate, applyPolicyUpdate)
	module.Handle(r, CmdPolicyDelete, applyPolicyDelete)
	module.Handle(r, CmdPolicyAttach, applyPolicyAttach)
	module.Handle(r, CmdRoleCreate, applyRoleCreate)
	module.Handle(r, CmdRoleDelete, applyRoleDelete)
	module.Handle(r, CmdSSHKeyAdd, applySSHKeyAdd)
	module.Handle(r, CmdSSHKeyRemove, applySSHKeyRemove)
	module.Handle(r, CmdMFAEnroll, applyMFAEnroll)
	module.Handle(r, CmdMFAConfirm, applyMFAConfirm)
	module.Handle(r, CmdMFADisable, applyMFADisable)
	module.Handle(r, CmdMFAUse, applyMFAUse)
	module.Handle(r, CmdTokenExpire, applyTokenExpire)
	r.Leader("expired-tokens", m.expireTokens)
	m.authz = NewAuthorizer(core)
	r.Authorizer(m.authz)
}

// Identity is the service's Go API of users, groups, policies, roles and keys.
func (m *Module) Identity() *Identity { return &Identity{core: m.core} }

// Tokens is the service's Go API over the module's core.
func (m *Module) Tokens() *Tokens { return &Tokens{core: m.core} }
