package bench

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/state"
)

// applyTimeline records when the leader's state reached each state index, and at which Raft
// index (to the scheduler's precision).
type applyTimeline struct {
	mu   sync.Mutex
	idx  []uint64 // state indexes
	raft []uint64 // the Raft applied index at the same moment
	when []time.Time
}

func newApplyTimeline() *applyTimeline { return &applyTimeline{} }

func (t *applyTimeline) record(ctx context.Context, node interface {
	AppliedIndex() uint64
	WaitApplied(context.Context, uint64) error
	State() *state.Store
}) {
	last := node.AppliedIndex()
	for ctx.Err() == nil {
		if node.WaitApplied(ctx, last+1) != nil {
			return
		}
		now := time.Now()
		last = node.AppliedIndex()
		si := stateIndexOf(node)
		t.mu.Lock()
		t.idx = append(t.idx, si)
		t.raft = append(t.raft, last)
		t.when = append(t.when, now)
		t.mu.Unlock()
	}
}

// raftIndexAt returns the Raft applied index when the state first held stateIndex, or 0.
func (t *applyTimeline) raftIndexAt(stateIndex uint64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.idx), func(i int) bool { return t.idx[i] >= stateIndex })
	if i == len(t.idx) {
		return 0
	}
	return t.raft[i]
}

// at returns when the state first held index (a state index).
func (t *applyTimeline) at(index uint64) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.idx), func(i int) bool { return t.idx[i] >= index })
	if i == len(t.idx) {
		return time.Time{}, false
	}
	return t.when[i], true
}

// before returns the time of the last application at or before when.
func (t *applyTimeline) before(when time.Time) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.when), func(i int) bool { return t.when[i].After(when) })
	if i == 0 {
		return time.Time{}, false
	}
	return t.when[i-1], true
}
