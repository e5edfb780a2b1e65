package session

import (
	"sync"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Reporter numbers the events and output of work of one kind (deployments, or builds with
// NewKindReporter) into the outbox, each message with its Kind (agentproto.WireKind) and in the
// work's box (boxKey). Output lines are grouped
// into one Log message every flushEvery, maxLines lines or maxLogBytes of text, whichever comes
// first; an event first flushes the lines before it, so the server sees them in the order they
// happened.
type Reporter struct {
	out  *Outbox
	kind string

	mu      sync.Mutex
	pending map[string][]agentproto.LogLine
	bytes   map[string]int // text bytes pending per deployment
	timer   *time.Timer
}

const (
	flushEvery = 100 * time.Millisecond
	maxLines   = 500
	// maxLogBytes bounds the text of one Log message, so that its encoding (at most six bytes a
	// byte for control characters) stays under the server's 1 MiB message limit however fast a
	// script writes. Without it a burst of long lines made a message the server refused by
	// closing the session, and the agent sent it again and again.
	maxLogBytes = 128 << 10
)

// NewReporter returns the reporter of deployments writing to out.
func NewReporter(out *Outbox) *Reporter { return NewKindReporter(out, agentproto.KindDeploy) }

// NewKindReporter returns a reporter of work of kind writing to out.
func NewKindReporter(out *Outbox, kind string) *Reporter {
	return &Reporter{out: out, kind: kind, pending: map[string][]agentproto.LogLine{}, bytes: map[string]int{}}
}

// Event records a lifecycle event.
func (r *Reporter) Event(ev agentproto.Event) {
	r.mu.Lock()
	r.flushLocked(ev.DeploymentID)
	r.mu.Unlock()
	ev.Kind = agentproto.WireKind(r.kind)
	_ = r.out.Add(boxKey(r.kind, ev.DeploymentID), agentproto.TypeEvent, func(seq uint64) any { ev.Seq = seq; return ev })
}

// Log records an output line.
func (r *Reporter) Log(dep string, line agentproto.LogLine) {
	if len(line.Text) > agentproto.MaxLineBytes {
		line.Text = line.Text[:agentproto.MaxLineBytes] + " [line cut]"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[dep] = append(r.pending[dep], line)
	r.bytes[dep] += len(line.Text)
	if len(r.pending[dep]) >= maxLines || r.bytes[dep] >= maxLogBytes {
		r.flushLocked(dep)
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(flushEvery, r.flushAll)
	}
}

func (r *Reporter) flushAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	for dep := range r.pending {
		r.flushLocked(dep)
	}
}

func (r *Reporter) flushLocked(dep string) {
	lines := r.pending[dep]
	if len(lines) == 0 {
		return
	}
	delete(r.pending, dep)
	delete(r.bytes, dep)
	_ = r.out.Add(boxKey(r.kind, dep), agentproto.TypeLog, func(seq uint64) any {
		return agentproto.Log{Kind: agentproto.WireKind(r.kind), DeploymentID: dep, Seq: seq, Lines: lines}
	})
}
