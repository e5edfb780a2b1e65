//go:build testbed

package testbed

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// outcome is what a client learnt about one write.
type outcome int

const (
	acked    outcome = iota // 2xx: the write is acknowledged and must never be lost
	conflict                // 409 on a name used once: the write was applied twice
	unknown                 // an error or timeout: the write may or may not have been applied
)

// op is one app create by a writer.
type op struct {
	name    string
	server  int // index of the server the request went to
	start   time.Time
	end     time.Time
	outcome outcome
	index   uint64 // create index, when acknowledged
	err     error
}

// writerOptions tune startWriters.
type writerOptions struct {
	Prefix      string        // app names are <Prefix><writer>-<seq>, each used once
	Concurrency int           // writer goroutines, each with one request in flight
	Targets     []int         // servers the writers spread over; writer g starts at g%len
	Timeout     time.Duration // per request, retries included (default 15s)
	RetryFor    time.Duration // the client's retry window (0: pkg/api's default, <0: none)
	Pace        time.Duration // pause between one writer's requests
}

// writers create applications with unique names through pkg/api clients until stopped. A
// writer whose server cannot be reached moves on to the next target, as a client configured with
// several addresses would; a name it tried is never reused, so any conflict is a double apply.
type writers struct {
	stop atomic.Bool
	wg   sync.WaitGroup

	mu  sync.Mutex
	ops []op
}

func startWriters(b *bed, o writerOptions) *writers {
	b.t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Second
	}
	w := &writers{}
	clients := map[int]*api.Client{}
	for _, i := range o.Targets {
		clients[i] = b.ClientWith(i, o.RetryFor)
	}
	for g := range o.Concurrency {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			pos := g % len(o.Targets)
			for seq := 0; !w.stop.Load(); seq++ {
				target := o.Targets[pos]
				r := op{name: fmt.Sprintf("%s%d-%05d", o.Prefix, g, seq), server: target, start: time.Now()}
				ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
				app, err := clients[target].AppCreate(ctx, api.AppCreateRequest{Name: r.name})
				cancel()
				r.end, r.err = time.Now(), err
				switch {
				case err == nil:
					r.outcome, r.index = acked, app.CreateIndex
				case api.IsConflict(err):
					r.outcome = conflict
				default:
					r.outcome = unknown
				}
				w.mu.Lock()
				w.ops = append(w.ops, r)
				w.mu.Unlock()
				if err != nil && api.ErrorCode(err) == "" {
					pos = (pos + 1) % len(o.Targets) // unreachable: try the next server
				}
				if o.Pace > 0 && !w.stop.Load() {
					time.Sleep(o.Pace)
				}
			}
		}()
	}
	b.t.Cleanup(w.Stop)
	return w
}

// Stop stops the writers and waits for their last requests.
func (w *writers) Stop() {
	w.stop.Store(true)
	w.wg.Wait()
}

// Ops returns a copy of every finished write so far.
func (w *writers) Ops() []op {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]op(nil), w.ops...)
}

// countAcked counts acknowledged writes whose request started after since.
func (w *writers) countAcked(since time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.ops {
		if r.outcome == acked && r.start.After(since) {
			n++
		}
	}
	return n
}

// countFinished counts writes, whatever their outcome, whose request started after since.
func (w *writers) countFinished(since time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.ops {
		if r.start.After(since) {
			n++
		}
	}
	return n
}

// waitAcked waits until n writes started after since are acknowledged.
func (w *writers) waitAcked(t testing.TB, timeout time.Duration, since time.Time, n int, what string) {
	t.Helper()
	eventually(t, timeout, what, func() error {
		if got := w.countAcked(since); got < n {
			return fmt.Errorf("%d of %d acknowledged", got, n)
		}
		return nil
	})
}

// firstAckAfter returns when the first write that started after since was acknowledged, or
// the zero time.
func firstAckAfter(ops []op, since time.Time) time.Time {
	var first time.Time
	for _, r := range ops {
		if r.outcome == acked && r.start.After(since) && (first.IsZero() || r.end.Before(first)) {
			first = r.end
		}
	}
	return first
}

// tally sorts a history by outcome.
type tally struct {
	acked     map[string]op
	unknown   map[string]op
	conflicts map[string]op
	attempted map[string]bool
}

func tallyOps(ops []op) tally {
	t := tally{acked: map[string]op{}, unknown: map[string]op{}, conflicts: map[string]op{}, attempted: map[string]bool{}}
	for _, r := range ops {
		t.attempted[r.name] = true
		switch r.outcome {
		case acked:
			t.acked[r.name] = r
		case conflict:
			t.conflicts[r.name] = r
		default:
			t.unknown[r.name] = r
		}
	}
	return t
}

// verify checks, through each server in among with a consistent (leader) read, that every
// acknowledged write is present at the index it was acknowledged at, that nothing exists that
// no client tried to create, and that all servers return the same set. It returns the names of
// lost writes and the final set of applications.
func verify(b *bed, tl tally, among []int) (lost map[string]bool, final map[string]api.App) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lost = map[string]bool{}
	for _, i := range among {
		id := b.servers[i].id
		apps, err := testutil.ListApps(ctx, b.Client(i), true)
		if err != nil {
			b.t.Fatalf("consistent list through %s: %v", id, err)
		}
		n := 0
		for name, a := range tl.acked {
			got, ok := apps[name]
			switch {
			case !ok:
				lost[name] = true
				if n++; n <= 10 {
					b.t.Errorf("%s: acknowledged create %s (index %d, via %s) is missing", id, name, a.index, b.servers[a.server].id)
				}
			case got.CreateIndex != a.index:
				lost[name] = true
				if n++; n <= 10 {
					b.t.Errorf("%s: %s has create index %d, acknowledged at %d", id, name, got.CreateIndex, a.index)
				}
			}
		}
		for name := range apps {
			if !tl.attempted[name] {
				b.t.Errorf("%s: app %s was never created by a client", id, name)
			}
		}
		if final == nil {
			final = apps
		} else if d := testutil.SetDiff(final, apps); d != "" {
			b.t.Errorf("consistent reads through %s and %s differ: %s", b.servers[among[0]].id, id, d)
		}
	}
	for name, r := range tl.conflicts {
		b.t.Errorf("%s (via %s): conflict on a name created once: the create was applied twice: %v", name, b.servers[r.server].id, r.err)
	}
	return lost, final
}

// waitLocalState waits until server i's own (stale-allowed) state holds exactly final, at the
// same create indexes: it has caught up with the cluster.
func waitLocalState(b *bed, i int, final map[string]api.App, timeout time.Duration) {
	b.t.Helper()
	cl := b.Client(i)
	eventually(b.t, timeout, b.servers[i].id+" catches up", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		apps, err := testutil.ListApps(ctx, cl, false)
		if err != nil {
			return err
		}
		if err := testutil.SameApps(final, apps); err != nil {
			return fmt.Errorf("its state against the cluster's: %w", err)
		}
		return nil
	})
}

// firstErrors formats up to n of the ops' errors, for a log line.
func firstErrors(m map[string]op, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s: %v", k, m[k].err))
	}
	return strings.Join(parts, "; ")
}
