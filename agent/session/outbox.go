package session

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Outbox keeps every report of a deployment (or of other work, keyed by boxKey) on disk,
// numbered, until the server has acknowledged it and the work has ended (DeploymentEnd,
// BuildEnd), so that nothing reported is lost to a dropped connection, a server change or an
// agent restart. One JSON-lines file per deployment or build.
type Outbox struct {
	dir    string
	mu     sync.Mutex
	boxes  map[string]*box
	notify chan struct{}
}

type box struct {
	file  *os.File
	msgs  [][]byte // encoded envelopes, msgs[i] has seq base+i+1
	base  uint64   // seq of the last message dropped from msgs (acknowledged and trimmed)
	acked uint64
	ended bool
}

type record struct {
	Seq  uint64          `json:"seq"`
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// OpenOutbox loads the unfinished outboxes left in dir.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	o := &Outbox{dir: dir, boxes: map[string]*box{}, notify: make(chan struct{}, 1)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		dep, ok := strings.CutSuffix(e.Name(), ".jsonl")
		if !ok {
			continue
		}
		if err := o.load(dep); err != nil {
			return nil, fmt.Errorf("outbox %s: %w", e.Name(), err)
		}
	}
	return o, nil
}

func (o *Outbox) load(dep string) error {
	f, err := os.OpenFile(filepath.Join(o.dir, dep+".jsonl"), os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	b := &box{file: f}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var good int64
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			break // a torn last line from a crash: everything before it stands
		}
		good += int64(len(sc.Bytes())) + 1
		env, _ := json.Marshal(agentproto.Envelope{Type: r.Type, Body: r.Body})
		b.msgs = append(b.msgs, env)
		if r.Type == agentproto.TypeEvent && endsWork(r.Body) {
			b.ended = true
		}
	}
	// Cut a torn tail so that reports added from now on follow the last whole one.
	if err := f.Truncate(good); err != nil {
		_ = f.Close()
		return err
	}
	o.boxes[dep] = b
	return nil
}

// Add numbers a report (an Event or a Log, whose Seq it sets), writes it to disk and queues it.
func (o *Outbox) Add(dep, typ string, seqOf func(uint64) any) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.boxes[dep]
	if !ok {
		f, err := os.OpenFile(filepath.Join(o.dir, dep+".jsonl"), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		b = &box{file: f}
		o.boxes[dep] = b
	}
	seq := b.base + uint64(len(b.msgs)) + 1
	body, err := json.Marshal(seqOf(seq))
	if err != nil {
		return err
	}
	line, _ := json.Marshal(record{Seq: seq, Type: typ, Body: body})
	if _, err := b.file.Write(append(line, '\n')); err != nil {
		return err
	}
	if typ == agentproto.TypeEvent && endsWork(body) {
		b.ended = true
		_ = b.file.Sync()
	}
	env, _ := json.Marshal(agentproto.Envelope{Type: typ, Body: body})
	b.msgs = append(b.msgs, env)
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns, per deployment, the messages after seq `from[dep]` (or after the last
// acknowledged one) in order, and the seq of the last one returned.
func (o *Outbox) Pending(from map[string]uint64) map[string][][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][][]byte{}
	for dep, b := range o.boxes {
		start := max(from[dep], b.acked)
		if start < b.base {
			start = b.base
		}
		i := int(start - b.base)
		if i < len(b.msgs) {
			out[dep] = b.msgs[i:]
			from[dep] = b.base + uint64(len(b.msgs))
		}
	}
	return out
}

// Ack records the server's acknowledgement; a finished, fully acknowledged deployment's outbox is
// deleted.
func (o *Outbox) Ack(dep string, seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.boxes[dep]
	if !ok || seq <= b.acked {
		return
	}
	b.acked = seq
	if b.ended && seq >= b.base+uint64(len(b.msgs)) {
		_ = b.file.Close()
		_ = os.Remove(b.file.Name())
		delete(o.boxes, dep)
	}
}

// Acked returns the last acknowledged seq of each deployment with an outbox.
func (o *Outbox) Acked() map[string]uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]uint64{}
	for dep, b := range o.boxes {
		out[dep] = b.acked
	}
	return out
}

// Notify is signalled when reports are added.
func (o *Outbox) Notify() <-chan struct{} { return o.notify }

// Close closes the files.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for _, b := range o.boxes {
		errs = append(errs, b.file.Close())
	}
	return errors.Join(errs...)
}

// endsWork reports whether an Event's body is the end of its work: a deployment's
// DeploymentEnd or a build's BuildEnd. Its box is deleted once everything is acknowledged.
func endsWork(body []byte) bool {
	return strings.Contains(string(body), `"event":"`+agentproto.DeploymentEnd+`"`) ||
		strings.Contains(string(body), `"event":"`+agentproto.BuildEnd+`"`)
}
