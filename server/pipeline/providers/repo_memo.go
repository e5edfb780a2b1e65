package providers

import (
	"context"
	"sync"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/state"
)

// A push often starts many pipelines over the same commit (a monorepo's pipelines, one per
// service): each one's source action would archive the same commit and upload the same tar.
// archiveMemo runs one archive per repository and commit at a time and remembers its blob and
// the commit's metadata for memoTTL, far within the blob store's grace period, so the blob a
// remembered answer names is never collected before an execution references it.
const (
	memoTTL     = 5 * time.Minute
	memoEntries = 256
)

type archived struct {
	blob   state.Blob
	commit pub.Commit
	at     time.Time
}

type archiveCall struct {
	done chan struct{}
	res  archived
	err  error
}

type archiveMemo struct {
	mu     sync.Mutex
	done   map[string]archived
	flight map[string]*archiveCall
}

// get answers key's archive, running fn when no fresh one is remembered and no other call runs
// it now (callers for the same key wait for that one). Errors are not remembered.
func (m *archiveMemo) get(ctx context.Context, key string, fn func() (archived, error)) (archived, error) {
	m.mu.Lock()
	if m.done == nil {
		m.done, m.flight = map[string]archived{}, map[string]*archiveCall{}
	}
	if a, ok := m.done[key]; ok && time.Since(a.at) < memoTTL {
		m.mu.Unlock()
		return a, nil
	}
	if c, ok := m.flight[key]; ok {
		m.mu.Unlock()
		select {
		case <-c.done:
			return c.res, c.err
		case <-ctx.Done():
			return archived{}, ctx.Err()
		}
	}
	c := &archiveCall{done: make(chan struct{})}
	m.flight[key] = c
	m.mu.Unlock()

	c.res, c.err = fn()
	c.res.at = time.Now()

	m.mu.Lock()
	delete(m.flight, key)
	if c.err == nil {
		if len(m.done) >= memoEntries {
			for k, a := range m.done { // drop the stale ones, or else any one
				if time.Since(a.at) >= memoTTL || len(m.done) >= memoEntries {
					delete(m.done, k)
				}
			}
		}
		m.done[key] = c.res
	}
	m.mu.Unlock()
	close(c.done)
	return c.res, c.err
}
