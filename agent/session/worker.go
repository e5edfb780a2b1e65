package session

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// Worker runs one kind of work that servers push to this agent (agentproto: "Versions and
// capabilities"). The session dispatches each Run and Cancel to the worker of the message's kind
// and advertises exactly the kinds of its workers; a message of a kind it has no worker for is
// logged and dropped.
//
// Lifecycle: Recover is called once when the session client starts, before any other method.
// Start, Cancel and Running are then called from the session's goroutines, possibly at once, and
// must return promptly: work runs in goroutines of the worker's own, across reconnections, until
// it ends or is cancelled. A worker reports through the agent's outbox (for deployments, the
// Reporter), which delivers every report at least once and in order.
type Worker interface {
	// Kind is the kind of work this worker runs (agentproto.KindDeploy, ...).
	Kind() string
	// Recover ends the work a previous run of the agent left unfinished, reporting it failed,
	// and returns its IDs.
	Recover() []string
	// Start starts the work a Run message describes (its body, which the worker decodes into its
	// kind's Run), unless this agent is running it or has run it to its end: commands are
	// delivered at least once, and the outbox sends a finished one's reports until acknowledged.
	// A body the worker cannot use is an error, which the session logs.
	Start(run json.RawMessage) error
	// Cancel stops the running work id (agentproto's Cancel); an id not running is ignored.
	Cancel(id, reason string)
	// Running lists the IDs of the work running now, for heartbeats.
	Running() []string
	// Stop cancels all the work running now, as Cancel does each item (reason says why), ends
	// what finished work left running (the daemons a deployment's hooks started), and returns
	// once all of it has ended and the work reported its end. The session calls it when it stops
	// with Config.EndWorkOnStop (the embedded agents of `slipway dev`, simulated hosts that power
	// off with the process); without it work runs on until the process ends, and what it started
	// outlives the agent, as services on a real host must.
	Stop(reason string)
}

// workers is the session's dispatch table: one worker per kind.
type workers map[string]Worker

func newWorkers(ws []Worker) workers {
	out := workers{}
	for _, w := range ws {
		if _, dup := out[w.Kind()]; dup {
			panic(fmt.Sprintf("session: two workers for the kind %q", w.Kind()))
		}
		out[w.Kind()] = w
	}
	return out
}

// kinds are the kinds of work of the workers, sorted.
func (ws workers) kinds() []string {
	out := make([]string, 0, len(ws))
	for k := range ws {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Capable is a Worker that advertises capabilities besides its kind: the build worker adds
// agentproto.CapabilityDocker when its Docker engine answered. A capability is not a kind of
// work: nothing is dispatched by it.
type Capable interface {
	Capabilities() []string
}

// Peer is what this agent advertises in its headers (agentproto.Peer): this protocol version and
// exactly the kinds of work of the given workers, with the capabilities of those that are
// Capable, sorted. It has no plugins yet.
func Peer(ws []Worker) agentproto.Peer {
	caps := newWorkers(ws).kinds()
	for _, w := range ws {
		if c, ok := w.(Capable); ok {
			for _, name := range c.Capabilities() {
				if !slices.Contains(caps, name) {
					caps = append(caps, name)
				}
			}
		}
	}
	slices.Sort(caps)
	return agentproto.Peer{Protocol: agentproto.ProtocolVersion, Capabilities: caps}
}

// heartbeat is the Heartbeat listing the running work of every worker: deployments in Running,
// where servers of protocol 1 look for them, the other kinds in Work.
func (ws workers) heartbeat() agentproto.Heartbeat {
	var hb agentproto.Heartbeat
	for _, kind := range ws.kinds() {
		running := ws[kind].Running()
		switch {
		case kind == agentproto.KindDeploy:
			hb.Running = running
		case len(running) > 0:
			if hb.Work == nil {
				hb.Work = map[string][]string{}
			}
			hb.Work[kind] = running
		}
	}
	return hb
}

// boxKey is the outbox key of the reports of work (kind, id), also its file's name: the ID for a
// deployment (as outboxes written before kinds existed are named), kind~id for the other kinds,
// so that work of two kinds with one ID never share a sequence. A build's ID is PROJECT:UUID and
// ':' cannot be in a file name on Windows, so it is written '~': "build~PROJECT~UUID". IDs are
// names (A-Z a-z 0-9 . _ -, and ':' in a build's), so "~" cannot occur in one and the mapping
// is one to one.
func boxKey(kind, id string) string {
	if kind == agentproto.KindDeploy {
		return id
	}
	return kind + "~" + strings.ReplaceAll(id, ":", "~")
}
