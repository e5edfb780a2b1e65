package fsm

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func applyDeploymentCreate(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.DeploymentCreate
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	if _, err := tx.GetApp(p.App); err != nil {
		return nil, err
	}
	rev, err := tx.GetRevision(p.RevisionID)
	if err != nil {
		return nil, err
	}
	if rev.App != p.App {
		return nil, fault.New(fault.Invalid, "revision %s belongs to app %q, not %q", rev.ID, rev.App, p.App)
	}
	d := state.Deployment{
		ID: p.ID, App: p.App, GroupID: "app-" + p.App, RevisionID: rev.ID, SHA256: rev.SHA256, Size: rev.Size,
		Format: rev.Format, Status: state.DeploymentInProgress, Targets: map[string]*state.Target{},
		CreateTime: c.Time, CreateIndex: index, ModifyIndex: index, IgnoreApplicationStopFailures: p.IgnoreApplicationStopFailures,
	}
	if p.Group != "" {
		if err := createGroupDeployment(tx, index, c.Time, &d, p); err != nil {
			return nil, err
		}
		return tx.GetDeployment(d.ID)
	}
	if len(p.HostIDs) == 0 {
		return nil, fault.New(fault.Invalid, "a deployment needs a group or at least one host")
	}
	for _, id := range p.HostIDs {
		h, err := tx.GetHost(id)
		if err != nil {
			return nil, err
		}
		if others := tx.ActiveDeploymentsOf(id); len(others) > 0 {
			for _, o := range others {
				if od, err := tx.GetDeployment(o); err == nil && od.GroupID == d.GroupID {
					return nil, fault.New(fault.Conflict, "host %s is still running deployment %s of %s: wait for it to finish", h.Name, o, p.App)
				}
			}
		}
		t := c.Time.UTC()
		d.Targets[id] = &state.Target{HostID: id, HostName: h.Name, Status: state.TargetPending, Scheduled: &t}
	}
	return d, tx.CreateDeployment(d)
}

type reportItem struct {
	seq   uint64
	event *agentproto.Event
	log   *agentproto.Log
}

func applyDeploymentReport(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.DeploymentReport
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	d, err := tx.GetDeployment(p.DeploymentID)
	if err != nil {
		return nil, err
	}
	tg, ok := d.Targets[p.HostID]
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
			appendLog(tx, &d, tg, it.log)
			continue
		}
		if err := applyEvent(tx, &d, tg, it.event); err != nil {
			return nil, err
		}
	}
	settle(tx, index, c.Time, &d)
	return agentproto.Ack{DeploymentID: d.ID, Seq: tg.LastSeq}, tx.PutDeployment(d)
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

func appendLog(tx *state.Tx, d *state.Deployment, tg *state.Target, l *agentproto.Log) {
	raw, err := json.Marshal(l.Lines)
	if err != nil || tg.Truncated {
		return
	}
	if tg.LogBytes+int64(len(raw)) > state.MaxLogBytesPerTarget {
		tg.Truncated = true
		return
	}
	tg.LogBytes += int64(len(raw))
	_ = tx.AppendLog(d.ID, tg.HostID, l.Seq, raw)
}

// applyEvent records one event an agent reported. What the agent sends is bounded here, whatever
// the session hub checked: text fields are cleaned and cut (state.BoundEvent), a script's result
// is dropped once the target has MaxScriptRecordsPerTarget records and any new record once it
// has MaxEventRecordsPerTarget, the target then being marked EventsTruncated (the report is
// still acknowledged). These rules are pure functions of the entry, so every server applies
// them alike; entries already in the log that were out of bounds (or held control characters,
// such as a multi-line message) are stored cut and cleaned when the log is replayed by this
// version, where earlier versions stored them whole. Statuses, sequence numbers and
// acknowledgements do not depend on these bounds, so during a rolling upgrade old and new
// servers may differ only in the text and number of such records, never in outcomes.
func applyEvent(tx *state.Tx, d *state.Deployment, tg *state.Target, in *agentproto.Event) error {
	bounded := *in
	ev := &bounded
	state.BoundEvent(ev)
	t := ev.Time.UTC()
	if tg.Status == state.TargetPending {
		tg.Status, tg.StartTime = state.TargetInProgress, &t
	}
	if ev.Event == agentproto.DeploymentEnd {
		tg.EndTime, tg.Message = &t, ev.Message
		tg.Status = state.TargetFailed
		if ev.Status == agentproto.StatusSucceeded {
			tg.Status = state.TargetSucceeded
			h, err := tx.GetHost(tg.HostID)
			if err == nil {
				if h.Revisions == nil {
					h.Revisions = map[string]string{}
				}
				h.Revisions[d.GroupID] = d.RevisionID
				return tx.PutHost(h)
			}
		}
		return nil
	}
	if ev.Script != "" {
		if len(tg.Events) >= state.MaxScriptRecordsPerTarget {
			tg.EventsTruncated = true
			return nil
		}
		tg.Events = append(tg.Events, state.EventRecord{Name: ev.Event, Script: ev.Script, Status: string(ev.Status),
			Result: ev.Result, ExitCode: ev.ExitCode, Message: ev.Message, End: &t})
		return nil
	}
	for i := len(tg.Events) - 1; i >= 0; i-- {
		r := &tg.Events[i]
		if r.Name == ev.Event && r.Script == "" && r.Status == string(agentproto.StatusStarted) {
			r.Status, r.Result, r.ExitCode, r.Message, r.End = string(ev.Status), ev.Result, ev.ExitCode, ev.Message, &t
			return nil
		}
	}
	if len(tg.Events) >= state.MaxEventRecordsPerTarget {
		tg.EventsTruncated = true
		return nil
	}
	rec := state.EventRecord{Name: ev.Event, Status: string(ev.Status), Result: ev.Result, ExitCode: ev.ExitCode, Message: ev.Message, Start: &t}
	if ev.Status != agentproto.StatusStarted {
		rec.End = &t
	}
	tg.Events = append(tg.Events, rec)
	return nil
}

// settle moves a deployment on after a host's state changed: a group deployment by its rollout
// rules, a deployment to named hosts when every host has finished.
func settle(tx *state.Tx, index uint64, now time.Time, d *state.Deployment) {
	d.ModifyIndex = index
	if d.Rollout != nil {
		advance(tx, index, now, d)
		return
	}
	finish(d, now)
}

// finish ends a deployment to named hosts once every target has.
func finish(d *state.Deployment, now time.Time) {
	if d.EndTime != nil {
		return
	}
	failed := 0
	for _, tg := range d.Targets {
		if !tg.Finished() {
			return
		}
		if tg.Status == state.TargetFailed {
			failed++
		}
	}
	t := now.UTC()
	d.EndTime, d.Status = &t, state.DeploymentSucceeded
	if failed > 0 {
		d.Status = state.DeploymentFailed
	}
}

func applyDeploymentFailHost(tx *state.Tx, index uint64, c *command.Command) (any, error) {
	var p command.DeploymentFailHost
	if err := command.DecodePayload(c, &p); err != nil {
		return nil, err
	}
	d, err := tx.GetDeployment(p.DeploymentID)
	if err != nil {
		return nil, err
	}
	tg, ok := d.Targets[p.HostID]
	if !ok || tg.Finished() {
		return nil, nil
	}
	t := c.Time.UTC()
	for i := range tg.Events {
		if tg.Events[i].Status == string(agentproto.StatusStarted) {
			tg.Events[i].Status, tg.Events[i].Message, tg.Events[i].End = string(agentproto.StatusFailed), p.Reason, &t
		}
	}
	tg.Status, tg.Message, tg.EndTime = state.TargetFailed, p.Reason, &t
	settle(tx, index, c.Time, &d)
	return nil, tx.PutDeployment(d)
}
