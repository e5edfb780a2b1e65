package module

import (
	"context"

	"github.com/slipwayhq/slipway/server/core/fault"
)

// ReadYourWrites runs read against this server's state; when it answers fault.NotFound, it waits
// for a read barrier (Cluster.ConsistentRead: every write acknowledged before the call, through
// any server, is then applied here) and runs read again. A caller that created something through
// another server, or through this one while it was a follower, finds it at once; a name that is
// really unknown costs one barrier. When the barrier fails (no leader), the first answer stands.
func (c *Core) ReadYourWrites(ctx context.Context, read func() error) error {
	err := read()
	if fault.CodeOf(err) == fault.NotFound && c.Cluster.ConsistentRead(ctx) == nil {
		err = read()
	}
	return err
}
