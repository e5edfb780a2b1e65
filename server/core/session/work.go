package session

import (
	"context"
	"encoding/json"

	"github.com/slipwayhq/slipway/server/core/state"
)

// Work is one kind of work agents run, implemented by the service that owns it (the deployments
// service's "deploy" runs). The hub calls it; it never calls the hub.
//
// Lifecycle of an item: Pending lists it for a host once the replicated state says the host
// should run it; the hub sends the agent Start's message, once per session; the agent reports
// on it with messages of the types Reports names, which Check takes as they arrive and Commit
// proposes in batches, acknowledging through Report.Reply; once Active says the host's part is
// over, an agent that still runs it is told to cancel it.
type Work interface {
	// Kind names the work ("deploy").
	Kind() string
	// Pending lists the IDs of the items host hostID should be running, as tx says.
	Pending(tx *state.Tx, hostID string) []string
	// Start builds the message (agentproto type and body) that starts item id. The hub builds
	// it once per dispatch round for all the hosts that need it; an error skips the item for
	// the round.
	Start(tx *state.Tx, id string) (typ string, body any, err error)
	// Active reports whether host hostID's part of item id is still to run. An item an agent
	// says it runs that no work has active is over for that host: the agent is told to cancel.
	Active(tx *state.Tx, hostID, id string) bool
	// Reports lists the agentproto message types that report on this work.
	Reports() []string
	// Check decodes and checks one report message as it arrives, before anything is proposed,
	// and returns what Commit will get. ok false refuses it: it is not proposed and so not
	// acknowledged. warn writes to the server's log, at most once per interval per session,
	// about what was refused or cut.
	Check(typ string, body json.RawMessage, warn func(msg string, attrs ...any)) (report any, ok bool)
	// Commit proposes reports that arrived together, from any hosts, in arrival order, and
	// acknowledges them through their Reply once committed. A report not committed is not
	// acknowledged: its agent sends it again.
	Commit(ctx context.Context, reports []Report)
}

// Report is one checked report, for Work.Commit.
type Report struct {
	HostID string // the reporting host
	Body   any    // what Work.Check returned
	reply  func(typ string, body any) bool
}

// Reply sends a message to the session the report came in on. It reports false when that
// session is closing or too far behind (the agent then sends the report again on its next one).
func (r Report) Reply(typ string, body any) bool { return r.reply(typ, body) }

// NewReport builds a report as the hub does, with reply standing for its session (for tests of
// a Work).
func NewReport(hostID string, body any, reply func(typ string, body any) bool) Report {
	return Report{HostID: hostID, Body: body, reply: reply}
}
