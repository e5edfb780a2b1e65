package console

import (
	"context"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
)

// BuildLogs is how the build pages read a build's log beyond its record (the build service's
// log reader, wired by the server as Module.BuildLogs). LogPage answers up to limit lines of
// build id's log after line after (lines are numbered from 1; after 0 is the start): the lines
// in order, the number of the last one answered (after when none), whether the build ended and
// every line of it was answered (nothing more will come), and whether its log was cut at the
// service's bound. An unknown build is fault.NotFound.
type BuildLogs interface {
	LogPage(ctx context.Context, id string, after uint64, limit int) (BuildLogPage, error)
}

// BuildLogPage is a page of a build's log, as BuildLogs answers it and as the console's own log
// route (GET /ui/builds/{id}/log) answers the page's script, with the build's status.
type BuildLogPage struct {
	Lines     []BuildLogLine `json:"lines"`
	Next      uint64         `json:"next"`
	Ended     bool           `json:"ended"`
	Truncated bool           `json:"truncated,omitempty"`
}

// BuildLogLine is one line of a build's log: its number (from 1), when it was printed, the
// phase that printed it and its text (masked by the agent).
type BuildLogLine struct {
	N     uint64    `json:"n"`
	Time  time.Time `json:"time"`
	Phase string    `json:"phase,omitempty"`
	Text  string    `json:"text"`
}

// BuildReports is how a build's page reads its reports with their test cases (the build
// service's reports reader, wired by the server as Module.BuildReports): every report group of
// build id (the record holds only their summaries). An unknown build is fault.NotFound.
type BuildReports interface {
	Reports(ctx context.Context, id string) ([]pub.BuildReport, error)
}
