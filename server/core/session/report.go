package session

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// checkEvent checks an event report as it arrives, before it is proposed. What the protocol
// (pkg/agentproto) never sends is refused with an error: a deployment ID that is not a name, an
// event that is neither a lifecycle event of the AppSpec nor DeploymentEnd, a status that is not
// one of the Status values. A refused report is not proposed and so not acknowledged. Text out
// of bounds (state.BoundEvent: names, script paths and results over 256 bytes, messages over
// 4 KiB, control characters) is cut and cleaned in place, and the changed fields are returned
// for the log; the FSM applies the same bounds again, whatever a server checked.
func checkEvent(ev *agentproto.Event) (changed []string, err error) {
	if err := state.ValidateName("deployment", ev.DeploymentID); err != nil {
		return nil, err
	}
	if _, ok := appspec.LookupEvent(ev.Event); !ok && ev.Event != agentproto.DeploymentEnd {
		return nil, fault.New(fault.Invalid, "event %s is not a lifecycle event (%s) nor %s", state.Shorten(ev.Event),
			strings.Join(appspec.EventNames(), ", "), agentproto.DeploymentEnd)
	}
	switch ev.Status {
	case agentproto.StatusStarted, agentproto.StatusSucceeded, agentproto.StatusFailed, agentproto.StatusSkipped:
	default:
		return nil, fault.New(fault.Invalid, "event %s has the status %s; want started, succeeded, failed or skipped", ev.Event, state.Shorten(string(ev.Status)))
	}
	return state.BoundEvent(ev), nil
}

// checkLog checks a log report as it arrives: its deployment ID must be a name. Its lines are
// bounded by the FSM (state.MaxLogBytesPerTarget per host of a deployment).
func checkLog(l *agentproto.Log) error {
	return state.ValidateName("deployment", l.DeploymentID)
}

// reportLog writes warnings about one session's reports that were refused or cut: the first at
// once, then at most one line per interval with the number left out, so that a hostile agent
// cannot flood the server's log.
type reportLog struct {
	log      *slog.Logger
	host     string
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *reportLog) warn(now time.Time, msg string, attrs ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		l.suppressed++
		return
	}
	attrs = append([]any{"host", l.host}, attrs...)
	if l.suppressed > 0 {
		attrs = append(attrs, "warnings_suppressed", l.suppressed)
	}
	l.log.Warn(msg, attrs...)
	l.last, l.suppressed = now, 0
}
