package git

import (
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

// emitPush writes a push's events (hooks.PushEvents: the push with every ref it moved, and a
// create or delete event per branch or tag) when at least one update applied; the pusher is
// the command's caller.
func emitPush(tx *state.Tx, c *command.Command, p PushPayload, results []PushOutcome) error {
	var ups []hooks.RefUpdate
	for i, u := range p.Updates {
		if i < len(results) && results[i].OK && u.Old != u.New {
			ups = append(ups, hooks.RefUpdate{Ref: u.Ref, Old: u.Old, New: u.New})
		}
	}
	if len(ups) == 0 {
		return nil
	}
	r, err := mustRecord(tx, p.ID)
	if err != nil {
		return err
	}
	actor := ""
	if c.Caller != nil {
		actor = c.Caller.Name
	}
	return hooks.PushEvents(tx, r.ID, r.Name, actor, c.Time, ups)
}
