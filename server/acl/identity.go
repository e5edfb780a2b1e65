package acl

import (
	"context"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounds a low-privilege caller cannot push past.
const (
	MaxGroupsPerUser        = 100
	MaxPoliciesPerPrincipal = 20
	MaxSSHKeysPerUser       = 50
	MaxTrustEntries         = 50
	MaxPolicyDocumentBytes  = 16 << 10 // a policy's text as sent
	DefaultRoleSession      = time.Hour
	MaxRoleSession          = 12 * time.Hour
)

// Identity is the Go API of users, groups, policies, roles and SSH keys: the rules live here;
// the HTTP routes, the CLI (through them) and the console call it. Writes propose a command
// under ctx; reads look at this server's state (callers make them consistent first).
type Identity struct{ core *module.Core }

func (s *Identity) view(fn func(tx *state.Tx) error) error { return s.core.State.View(fn) }

func propose[T any](ctx context.Context, s *Identity, d command.Def[T], p T) (command.Result, error) {
	return command.Propose(ctx, s.core.Cluster, d, s.core.Now(), p)
}
