package deploy

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// applyDeploymentCreate creates a deployment: to named hosts (each must not be running another
// deployment of the same app), or to a deployment group through its rollout (rollout_apply.go).
func (m *Module) applyDeploymentCreate(tx *state.Tx, index uint64, c *command.Command, p DeploymentCreate) (any, error) {
	if _, err := getApp(tx, p.App); err != nil {
		return nil, err
	}
	rev, err := getRevision(tx, p.RevisionID)
	if err != nil {
		return nil, err
	}
	if rev.App != p.App {
		return nil, fault.New(fault.Invalid, "revision %s belongs to app %q, not %q", rev.ID, rev.App, p.App)
	}
	d := Deployment{
		ID: p.ID, App: p.App, GroupID: "app-" + p.App, RevisionID: rev.ID, SHA256: rev.SHA256, Size: rev.Size,
		Format: rev.Format, Status: DeploymentInProgress, Targets: map[string]*Target{},
		CreateTime: c.Time, CreateIndex: index, ModifyIndex: index, IgnoreApplicationStopFailures: p.IgnoreApplicationStopFailures,
	}
	if p.Group != "" {
		if err := createGroupDeployment(tx, index, c.Time, &d, p); err != nil {
			return nil, err
		}
		return getDeployment(tx, d.ID)
	}
	if len(p.HostIDs) == 0 {
		return nil, fault.New(fault.Invalid, "a deployment needs a group or at least one host")
	}
	for _, id := range p.HostIDs {
		h, err := tx.GetHost(id)
		if err != nil {
			return nil, err
		}
		if others := activeDeploymentsOf(tx, id); len(others) > 0 {
			for _, o := range others {
				if od, err := header(tx, o); err == nil && od.GroupID == d.GroupID {
					return nil, fault.New(fault.Conflict, "host %s is still running deployment %s of %s: wait for it to finish", h.Name, o, p.App)
				}
			}
		}
		t := c.Time.UTC()
		d.Targets[id] = &Target{HostID: id, HostName: h.Name, Status: TargetPending, Scheduled: &t}
	}
	if _, err := createDeployment(tx, d); err != nil {
		return nil, err
	}
	return getDeployment(tx, d.ID)
}

type reportItem struct {
	seq   uint64
	event *ReportEvent
	log   *ReportLog
}

// applyDeploymentReport applies a host's reports on a deployment in sequence order, once each,
// and answers with the acknowledgement to send the agent (agentproto.Ack).
func (m *Module) applyDeploymentReport(tx *state.Tx, index uint64, c *command.Command, p DeploymentReport) (any, error) {
	d, err := header(tx, p.DeploymentID)
	if err != nil {
		return nil, err
	}
	tg, ok, err := target(tx, d, p.HostID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.New(fault.Forbidden, "deployment %s does not run on this host", d.ID)
	}
	var items []reportItem
	for i := range p.Events {
		items = append(items, reportItem{seq: p.Events[i].Seq, event: &p.Events[i]})
	}
	for i := range p.Logs {
		items = append(items, reportItem{seq: p.Logs[i].Seq, log: &p.Logs[i]})
	}
	slices.SortFunc(items, func(a, b reportItem) int { return cmpUint(a.seq, b.seq) })
	if tg.Finished() && len(items) > 0 {
		// The host's part is closed (it was failed for going silent, or the deployment was
		// stopped): a late report changes nothing, and everything in it is acknowledged so that
		// the agent's outbox drains instead of resending it forever. The deployment is not
		// rewritten.
		return agentproto.Ack{DeploymentID: d.ID, Seq: max(tg.LastSeq, items[len(items)-1].seq)}, nil
	}
	for _, it := range items {
		if it.seq <= tg.LastSeq || tg.Finished() {
			continue // a resend, or what follows the end of the host's part: acknowledged, ignored
		}
		if it.seq != tg.LastSeq+1 {
			break // a gap (an earlier report is still on its way through another server): not acknowledged, sent again
		}
		tg.LastSeq = it.seq
		if it.log != nil {
			appendReportLog(tx, d, tg, it.log)
			continue
		}
		if err := applyEvent(tx, d, tg, it.event); err != nil {
			return nil, err
		}
	}
	if err := setTarget(tx, d, tg, tg.Status); err != nil {
		return nil, err
	}
	return agentproto.Ack{DeploymentID: d.ID, Seq: tg.LastSeq}, settle(tx, index, c.Time, d)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func appendReportLog(tx *state.Tx, d *Deployment, tg *Target, l *ReportLog) {
	raw, err := json.Marshal(l.Lines)
	if err != nil || tg.Truncated {
		return
	}
	if tg.LogBytes+int64(len(raw)) > MaxLogBytesPerTarget {
		tg.Truncated = true
		return
	}
	tg.LogBytes += int64(len(raw))
	_ = appendLog(tx, d.ID, tg.HostID, l.Seq, raw)
}

// applyEvent records one event an agent reported. What the agent sends is bounded here, whatever
// the agent work's Check did on arrival: text fields are cleaned and cut (BoundEvent), a script's result
// is dropped once the target has MaxScriptRecordsPerTarget records and any new record once it
// has MaxEventRecordsPerTarget, the target then being marked EventsTruncated (the report is
// still acknowledged). These rules are pure functions of the entry, so every server applies
// them alike; entries already in the log that were out of bounds (or held control characters,
// such as a multi-line message) are stored cut and cleaned when the log is replayed by this
// version, where earlier versions stored them whole. Statuses, sequence numbers and
// acknowledgements do not depend on these bounds, so during a rolling upgrade old and new
// servers may differ only in the text and number of such records, never in outcomes.
func applyEvent(tx *state.Tx, d *Deployment, tg *Target, in *ReportEvent) error {
	bounded := *in
	ev := &bounded
	BoundEvent(ev)
	t := ev.Time.UTC()
	if tg.Status == TargetPending {
		tg.StartTime = &t
		if err := setTarget(tx, d, tg, TargetInProgress); err != nil {
			return err
		}
	}
	if ev.Event == agentproto.DeploymentEnd {
		tg.EndTime, tg.Message = &t, ev.Message
		if ev.Status != string(agentproto.StatusSucceeded) {
			return setTarget(tx, d, tg, TargetFailed)
		}
		if msg := healthCheckMissing(d, tg); msg != "" {
			tg.Message = msg
			return setTarget(tx, d, tg, TargetFailed)
		}
		if err := setTarget(tx, d, tg, TargetSucceeded); err != nil {
			return err
		}
		h, err := tx.GetHost(tg.HostID)
		if err != nil {
			return nil //nolint:nilerr // the host was deleted: no revision to record
		}
		if h.Revisions == nil {
			h.Revisions = map[string]string{}
		}
		h.Revisions[d.GroupID] = d.RevisionID
		return tx.PutHost(h)
	}
	if ev.Script != "" {
		if len(tg.Events) >= MaxScriptRecordsPerTarget {
			tg.EventsTruncated = true
			return nil
		}
		tg.Events = append(tg.Events, EventRecord{Name: ev.Event, Script: ev.Script, Status: ev.Status,
			Result: ev.Result, ExitCode: ev.ExitCode, Message: ev.Message, End: &t})
		return nil
	}
	for i := len(tg.Events) - 1; i >= 0; i-- {
		r := &tg.Events[i]
		if r.Name == ev.Event && r.Script == "" && r.Status == string(agentproto.StatusStarted) {
			r.Status, r.Result, r.ExitCode, r.Message, r.End = ev.Status, ev.Result, ev.ExitCode, ev.Message, &t
			return nil
		}
	}
	if len(tg.Events) >= MaxEventRecordsPerTarget {
		tg.EventsTruncated = true
		return nil
	}
	rec := EventRecord{Name: ev.Event, Status: ev.Status, Result: ev.Result, ExitCode: ev.ExitCode, Message: ev.Message, Start: &t}
	if ev.Status != string(agentproto.StatusStarted) {
		rec.End = &t
	}
	tg.Events = append(tg.Events, rec)
	return nil
}

// settle moves a deployment on after a host's state changed: a group deployment by its rollout
// rules, a deployment to named hosts when every host has finished.
func settle(tx *state.Tx, index uint64, now time.Time, d *Deployment) error {
	d.ModifyIndex = index
	touch(tx, d)
	if d.Rollout != nil {
		return advance(tx, index, now, d)
	}
	finish(d, now)
	return nil
}

// finish ends a deployment to named hosts once every target has. (Before it ends, a named
// host's target is pending, in progress, succeeded or failed: the tally's Failed are failures.)
func finish(d *Deployment, now time.Time) {
	if d.EndTime != nil {
		return
	}
	if d.Tally.PendingHealthy+d.Tally.PendingUnhealthy+d.Tally.Running > 0 {
		return
	}
	t := now.UTC()
	d.EndTime, d.Status = &t, DeploymentSucceeded
	if d.Tally.Failed > 0 {
		d.Status = DeploymentFailed
	}
}

// applyDeploymentFailHost fails a host's unfinished part of a deployment (the host went silent).
func (m *Module) applyDeploymentFailHost(tx *state.Tx, index uint64, c *command.Command, p DeploymentFailHost) (any, error) {
	d, err := header(tx, p.DeploymentID)
	if err != nil {
		return nil, err
	}
	tg, ok, err := target(tx, d, p.HostID)
	if err != nil || !ok || tg.Finished() {
		return nil, err
	}
	t := c.Time.UTC()
	for i := range tg.Events {
		if tg.Events[i].Status == string(agentproto.StatusStarted) {
			tg.Events[i].Status, tg.Events[i].Message, tg.Events[i].End = string(agentproto.StatusFailed), p.Reason, &t
		}
	}
	tg.Message, tg.EndTime = p.Reason, &t
	if err := setTarget(tx, d, tg, TargetFailed); err != nil {
		return nil, err
	}
	return nil, settle(tx, index, c.Time, d)
}
