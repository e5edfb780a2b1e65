package module

import (
	"context"
	"log/slog"
	"sync"
)

// Runner runs the modules' tasks, the one way every service and core component is started and
// stopped: background tasks from Start until Stop, leader tasks from each LeaderStart (the Raft
// member's leadership callback) until that leadership's context ends. Stop cancels everything
// and waits for every task to return.
type Runner struct {
	background, leader []Task
	log                *slog.Logger

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	stopped bool
	pending context.Context // a leadership gained before Start
}

// NewRunner returns a runner of the given tasks.
func NewRunner(background, leader []Task, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{background: background, leader: leader, log: log, ctx: ctx, cancel: cancel}
}

// Start starts the background tasks, and the leader tasks when leadership was gained before it
// (the server's parts are all built by then, so no task sees one missing).
func (r *Runner) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.started = true
	for _, t := range r.background {
		r.goTask(r.ctx, t)
	}
	if r.pending != nil && r.pending.Err() == nil {
		r.startLeader(r.pending)
	}
	r.pending = nil
}

// LeaderStart starts the leader tasks for one term of leadership: lctx ends when it is lost.
// Tasks also end when the runner stops. It returns at once; before Start it only records the
// leadership, and Start starts its tasks.
func (r *Runner) LeaderStart(lctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.stopped:
	case !r.started:
		r.pending = lctx
	default:
		r.startLeader(lctx)
	}
}

func (r *Runner) startLeader(lctx context.Context) {
	ctx, cancel := context.WithCancel(lctx)
	stop := context.AfterFunc(r.ctx, cancel)
	for _, t := range r.leader {
		r.goTask(ctx, t)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		<-ctx.Done()
		stop()
		cancel()
	}()
}

func (r *Runner) goTask(ctx context.Context, t Task) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.log.Debug("task started", "task", t.Name)
		t.Run(ctx)
		r.log.Debug("task stopped", "task", t.Name)
	}()
}

// Stop cancels every task and waits for all of them to return. No task starts after it.
func (r *Runner) Stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}
