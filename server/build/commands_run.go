package build

import (
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
)

// The commands of running builds (1713-1729; see DESIGN.md, "Running builds"). Their numbers,
// names, schema versions and payload JSON are part of the Raft log format: never change them.
// The leader's scheduler proposes assignments and failures, the agent work (agentwork.go) the
// reports of agents; apply re-checks the state, so a proposal made on a stale read, repeated by
// a new leader or racing another changes nothing.
var (
	cmdAssign = command.Define[AssignPayload](1713, "build.assign", 1)
	cmdReport = command.Define[ReportPayload](1714, "build.report", 1)
	cmdFail   = command.Define[FailPayload](1715, "build.fail", 1)
)

// AssignPayload gives queued build ID to host Host (an ID). Apply refuses it, changing nothing,
// unless the build is still QUEUED, the host exists with the "build" capability (and "docker"
// for a build with an image), its labels match the build's, it has no build in progress, and the
// project is under its concurrent build limit.
type AssignPayload struct {
	ID   string `json:"id"`
	Host string `json:"host"`
}

// ReportPayload carries what host Host reported on build ID, in any order: apply takes the
// items in sequence order, each once (see applyReport).
type ReportPayload struct {
	ID     string        `json:"id"`
	Host   string        `json:"host"`
	Events []ReportEvent `json:"events,omitempty"`
	Logs   []ReportLog   `json:"logs,omitempty"`
}

// ReportEvent is an agentproto.Event on a build, bounded (boundEvent): a phase's start or end,
// or the build's end (Event agentproto.BuildEnd, with its Outcome).
type ReportEvent struct {
	Seq     uint64                   `json:"seq"`
	Event   string                   `json:"event"`
	Status  string                   `json:"status"`
	Result  string                   `json:"result,omitempty"`
	Message string                   `json:"message,omitempty"`
	Time    time.Time                `json:"time"`
	Outcome *agentproto.BuildOutcome `json:"outcome,omitempty"`
}

// ReportLog is an agentproto.Log on a build: its lines, bounded (boundLog).
type ReportLog struct {
	Seq   uint64    `json:"seq"`
	Lines []logLine `json:"lines"`
}

// FailPayload ends build ID, in progress on host Host, with Status (FAULT, TIMED_OUT or
// STOPPED) and Reason: the leader's running-timeout task proposes it for a build whose agent
// went silent, that ran past its timeout, or whose stop its agent never confirmed. Apply ends
// the build only while it is still in progress on that host (and, for TIMED_OUT, past its
// deadline at the command's time).
type FailPayload struct {
	ID     string `json:"id"`
	Host   string `json:"host"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}
