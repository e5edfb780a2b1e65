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
	r.Routes(m.routes()...)
	r.SecretEvents("acl", "token") // who holds which token is for management tokens only
	r.Leader("initial-token", m.initialManagementToken)
}

// Tokens is the service's Go API over the module's core.
func (m *Module) Tokens() *Tokens { return &Tokens{core: m.core} }
