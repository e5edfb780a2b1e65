package deploy

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/session"
	"github.com/slipwayhq/slipway/server/core/state"
)

// agentWork is the "deploy" kind of agent work (session.Work): a host runs the deployments
// active on it (scheduled, not finished), each started by an agentproto.Run, and reports on
// them with agentproto.Event and agentproto.Log messages, which become deployment.report
// commands.
type agentWork struct{ core *module.Core }

var _ session.Work = agentWork{}

// Kind implements session.Work.
func (agentWork) Kind() string { return agentproto.KindDeploy }

// Pending implements session.Work: the deployments active on the host.
func (agentWork) Pending(tx *state.Tx, hostID string) []string {
	return activeDeploymentsOf(tx, hostID)
}

// Start implements session.Work: the run of a deployment.
func (agentWork) Start(tx *state.Tx, id string) (string, any, error) {
	d, err := readHeader(tx, id)
	if err != nil {
		return "", nil, err
	}
	return agentproto.TypeRun, agentproto.Run{
		DeploymentID: d.ID, App: d.App, Group: d.Group, GroupID: d.GroupID,
		Revision: agentproto.Revision{ID: d.RevisionID, SHA256: d.SHA256, Size: d.Size, Format: d.Format,
			Path: "/v1/agent/deployments/" + d.ID + "/bundle"},
		IgnoreApplicationStopFailures: d.IgnoreApplicationStopFailures,
		HealthCheck:                   healthCheckRun(d.HealthCheck),
	}, nil
}

// Active implements session.Work. (The index answers without decoding the deployment, which for
// a large fleet is a big record.)
func (agentWork) Active(tx *state.Tx, hostID, id string) bool { return isActive(tx, hostID, id) }

// Reports implements session.Work.
func (agentWork) Reports() []string { return []string{agentproto.TypeEvent, agentproto.TypeLog} }

// Check implements session.Work: a malformed message is dropped silently, one the protocol does
// not allow is refused with a warning, and an event's text out of bounds is cut and cleaned
// (with a warning). It returns a ReportEvent or a ReportLog.
func (agentWork) Check(typ string, body json.RawMessage, warn func(msg string, attrs ...any)) (any, bool) {
	switch typ {
	case agentproto.TypeEvent:
		var in agentproto.Event
		if json.Unmarshal(body, &in) != nil {
			return nil, false
		}
		ev := eventRecord(in)
		changed, err := checkEvent(&ev)
		if err != nil {
			warn("agent sent an event report the protocol does not allow; refused (not acknowledged)",
				"deployment", state.Shorten(ev.DeploymentID), "seq", ev.Seq, "error", err)
			return nil, false
		}
		if len(changed) > 0 {
			warn("agent sent an event report out of bounds; its text was cut and cleaned",
				"deployment", ev.DeploymentID, "seq", ev.Seq, "event", ev.Event, "fields", changed)
		}
		return ev, true
	case agentproto.TypeLog:
		var in agentproto.Log
		if json.Unmarshal(body, &in) != nil {
			return nil, false
		}
		l := logRecord(in)
		if err := checkLog(&l); err != nil {
			warn("agent sent a log report the protocol does not allow; refused (not acknowledged)",
				"seq", l.Seq, "error", err)
			return nil, false
		}
		return l, true
	}
	return nil, false
}

// checkEvent checks an event report as it arrives, before it is proposed. What the protocol
// (pkg/agentproto) never sends is refused with an error: a deployment ID that is not a name, an
// event that is neither a lifecycle event of the AppSpec, HealthCheck nor DeploymentEnd, a status that is not
// one of the Status values. A refused report is not proposed and so not acknowledged. Text out
// of bounds (BoundEvent: names, script paths and results over 256 bytes, messages over 4 KiB,
// control characters) is cut and cleaned in place, and the changed fields are returned for the
// log; the FSM applies the same bounds again, whatever a server checked.
func checkEvent(ev *ReportEvent) (changed []string, err error) {
	if err := state.ValidateName("deployment", ev.DeploymentID); err != nil {
		return nil, err
	}
	if _, ok := appspec.LookupEvent(ev.Event); !ok && ev.Event != agentproto.DeploymentEnd && ev.Event != agentproto.HealthCheckEvent {
		return nil, fault.New(fault.Invalid, "event %s is not a lifecycle event (%s), %s nor %s", state.Shorten(ev.Event),
			strings.Join(appspec.EventNames(), ", "), agentproto.HealthCheckEvent, agentproto.DeploymentEnd)
	}
	switch agentproto.Status(ev.Status) {
	case agentproto.StatusStarted, agentproto.StatusSucceeded, agentproto.StatusFailed, agentproto.StatusSkipped:
	default:
		return nil, fault.New(fault.Invalid, "event %s has the status %s; want started, succeeded, failed or skipped", ev.Event, state.Shorten(ev.Status))
	}
	return BoundEvent(ev), nil
}

// checkLog checks a log report as it arrives: its deployment ID must be a name. Its lines are
// bounded by the FSM (MaxLogBytesPerTarget per host of a deployment).
func checkLog(l *ReportLog) error {
	return state.ValidateName("deployment", l.DeploymentID)
}

type reportKey struct{ dep, host string }

// Commit implements session.Work: the reports are grouped into one command per deployment and
// host (several, applied in order, when they are too large for one; see splitReport), the
// groups proposed at once, and each part acknowledged once it commits.
func (w agentWork) Commit(ctx context.Context, reports []session.Report) {
	groups := map[reportKey]*DeploymentReport{}
	replies := map[reportKey]session.Report{}
	var order []reportKey
	for _, r := range reports {
		var dep string
		ev, isEvent := r.Body.(ReportEvent)
		l, isLog := r.Body.(ReportLog)
		switch {
		case isEvent:
			dep = ev.DeploymentID
		case isLog:
			dep = l.DeploymentID
		default:
			continue
		}
		k := reportKey{dep, r.HostID}
		g, ok := groups[k]
		if !ok {
			g = &DeploymentReport{DeploymentID: dep, HostID: r.HostID}
			groups[k] = g
			order = append(order, k)
		}
		replies[k] = r // the latest session of the host answers
		if isEvent {
			g.Events = append(g.Events, ev)
		} else {
			g.Logs = append(g.Logs, l)
		}
	}
	log := w.log()
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One command per part, applied in order: each part continues the sequence where
			// the one before left it, and each acknowledgement covers everything up to it.
			for _, part := range splitReport(groups[k]) {
				c, err := cmdDeploymentReport.New("", w.core.Now(), *part)
				if err != nil {
					log.Warn("agent report cannot be proposed; the agent will send it again", "deployment", k.dep, "host", k.host, "error", err)
					return
				}
				actx, cancel := context.WithTimeout(ctx, 30*time.Second)
				res, err := w.core.Cluster.Apply(actx, c)
				cancel()
				if err == nil {
					err = res.Err()
				}
				if err != nil {
					log.Warn("agent report not committed; the agent will send it again", "deployment", k.dep, "host", k.host, "error", err)
					return
				}
				var ack agentproto.Ack
				if json.Unmarshal(res.Data, &ack) == nil {
					replies[k].Reply(agentproto.TypeAck, ack)
				}
			}
		}()
	}
	wg.Wait()
}

// log is where the agent work writes: the agents' component, as before the service existed.
func (w agentWork) log() *slog.Logger {
	if w.core.Log == nil {
		return slog.Default()
	}
	return w.core.Log.With("component", "agents")
}
