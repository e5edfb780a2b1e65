package build

import (
	"context"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/state"
)

// defaultExpiryInterval is how often the leader looks for builds past their queued timeout.
const defaultExpiryInterval = 30 * time.Second

// expireQueued runs on the leader: at the start of each leadership and every ExpiryInterval it
// ends the builds queued past their queued timeout (ExpireQueued). It keeps no state of its own:
// a new leader's first sweep finds what the old one left, and a sweep repeated changes nothing
// (apply checks the build and the deadline again).
func (m *Module) expireQueued(ctx context.Context) {
	every := m.ExpiryInterval
	if every <= 0 {
		every = defaultExpiryInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if n, err := m.Builds().ExpireQueued(ctx); err != nil && ctx.Err() == nil {
			m.core.Log.Warn("ending builds past their queued timeout", "ended", n, "error", err)
		} else if n > 0 {
			m.core.Log.Info("builds ended past their queued timeout", "ended", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ExpireQueued ends TIMED_OUT every queued build whose queued timeout has passed by this
// server's clock, and answers how many it ended.
func (s *Builds) ExpireQueued(ctx context.Context) (int, error) {
	now := s.m.core.Now()
	var due []string
	err := s.m.core.State.View(func(tx *state.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() { // at most MaxQueued
			b, ok, err := getBuild(tx, string(v))
			if err != nil {
				return err
			}
			if ok && !now.Before(b.QueuedDeadline()) {
				due = append(due, b.ID)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		if _, err := command.Propose(ctx, s.m.core.Cluster, cmdQueueTimeout, now, QueueTimeoutPayload{ID: id}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
