package fsm

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/server/core/command"
)

// Event says that a committed command changed a resource. Every node's state machine publishes
// the same events as it applies the log, so a subscriber on any node sees every change.
type Event struct {
	Index    uint64    `json:"index"`
	Kind     string    `json:"kind"`     // app, revision, host, group, deployment, token, ...
	Op       string    `json:"op"`       // create, delete, report, ...
	Resource string    `json:"resource"` // the resource's name or ID
	Time     time.Time `json:"time"`     // the proposer's time
}

// Broker fans events out to subscribers. Publishing never blocks apply: a subscriber that falls
// more than its buffer behind is dropped (its channel closed) and must subscribe again.
type Broker struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// Subscribe returns a channel of events and a function that ends the subscription.
func (b *Broker) Subscribe(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *Broker) active() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs) > 0
}

func (b *Broker) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// resourceKeys are the payload fields that name a command's resource, most specific first.
var resourceKeys = []string{"deployment_id", "host_id", "accessor_id", "name", "id", "key", "sha256"}

// eventOf describes a successfully applied command.
func eventOf(index uint64, c *command.Command) Event {
	kind, op, _ := strings.Cut(c.Type.String(), ".")
	e := Event{Index: index, Kind: strings.ReplaceAll(kind, "_", "-"), Op: op, Time: c.Time}
	var fields map[string]json.RawMessage
	if json.Unmarshal(c.Payload, &fields) == nil {
		for _, k := range resourceKeys {
			var s string
			if raw, ok := fields[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
				e.Resource = s
				break
			}
		}
		if e.Resource == "" { // nested records (token.create carries {"token": {...}})
			for _, raw := range fields {
				var inner map[string]json.RawMessage
				if json.Unmarshal(raw, &inner) == nil {
					var s string
					if json.Unmarshal(inner["accessor_id"], &s) == nil {
						e.Resource = s
					}
				}
			}
		}
	}
	return e
}
