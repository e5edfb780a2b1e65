package server

import (
	"context"

	"github.com/slipwayhq/slipway/server/core/module"
)

// coreModule registers the core components' own tasks, so that they start and stop the way every
// service's do (module.Runner): the agent hub and the blob store's repair loop on every server;
// blob collection and the first data key on the leader only. (The initial management token is the
// acl service's leader task, the silent-host watch the deployments service's.)
type coreModule struct{ s *Server }

func (coreModule) Name() string { return "core" }

func (m coreModule) Register(r *module.Registry, _ *module.Core) {
	s := m.s
	r.Background("agents", func(ctx context.Context) { s.hub.Run(ctx) })
	r.Background("blob/repair", func(ctx context.Context) { s.blobs.Run(ctx) })
	r.Leader("blob/collect", func(ctx context.Context) { s.blobs.Collect(ctx) })
	r.Leader("keyring/first-key", s.firstDataKey)
}
