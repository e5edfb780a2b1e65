package deploy

import (
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// ReportEvent is one lifecycle event an agent reported, as the deployment.report command records
// it. Its JSON is the log format: the same field names, omitempty and time encoding as the
// agent's message (agentproto.Event) had when commands embedded it, and it stays so when the
// agent protocol changes.
type ReportEvent struct {
	DeploymentID string    `json:"deployment_id"`
	Seq          uint64    `json:"seq"`
	Event        string    `json:"event"`
	Status       string    `json:"status"`
	Script       string    `json:"script,omitempty"` // for a script's own result
	Result       string    `json:"result,omitempty"`
	ExitCode     int       `json:"exit_code,omitempty"`
	Message      string    `json:"message,omitempty"`
	Time         time.Time `json:"time"`
}

// ReportLogLine is one line of a script's output, as a report records it.
type ReportLogLine struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`
	Script string    `json:"script"`
	Stream string    `json:"stream"` // stdout or stderr
	Text   string    `json:"text"`
}

// ReportLog is a batch of output lines an agent reported, as the deployment.report command
// records it (the JSON of agentproto.Log when commands embedded it).
type ReportLog struct {
	DeploymentID string          `json:"deployment_id"`
	Seq          uint64          `json:"seq"`
	Lines        []ReportLogLine `json:"lines"`
}

// eventRecord converts an agent's event message to its record.
func eventRecord(ev agentproto.Event) ReportEvent {
	return ReportEvent{DeploymentID: ev.DeploymentID, Seq: ev.Seq, Event: ev.Event, Status: string(ev.Status), Script: ev.Script,
		Result: ev.Result, ExitCode: ev.ExitCode, Message: ev.Message, Time: ev.Time}
}

// logRecord converts an agent's log message to its record. A nil Lines stays nil (it encodes as
// null, as the message did).
func logRecord(l agentproto.Log) ReportLog {
	out := ReportLog{DeploymentID: l.DeploymentID, Seq: l.Seq}
	if l.Lines != nil {
		out.Lines = make([]ReportLogLine, len(l.Lines))
		for i, ln := range l.Lines {
			out.Lines[i] = ReportLogLine{Time: ln.Time, Event: ln.Event, Script: ln.Script, Stream: ln.Stream, Text: ln.Text}
		}
	}
	return out
}
