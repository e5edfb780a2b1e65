package deploy

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// The trigger outbox. A trigger event is written here in the apply of the command that changed
// a deployment or one of its hosts (withTriggers), so it is part of the committed state like the
// change itself; the leader's delivery task (trigger_deliver.go) sends it and proposes
// trigger.delivered, whose apply deletes it. A leader lost before that commit leaves the event
// here for the next one: an event is never lost on a leader change, and sent twice only when a
// delivery's trigger.delivered did not commit (the receiver tells by the event ID header).
//
// The outbox is bounded (MaxOutbox events): when it is full, as when receivers have been down
// for long, new events are dropped and counted (outboxDropped), deterministically in apply.

// bucketOutbox holds events to deliver. Its name is in snapshots: never change it.
var bucketOutbox = []byte("deploy/trigger_outbox") // "e/" event id -> outboxEvent; "count", "dropped" -> uint64

// MaxOutbox bounds the events waiting for delivery.
const MaxOutbox = 10000

var (
	outboxCountKey   = []byte("count")
	outboxDroppedKey = []byte("dropped")
)

// outboxEvent is one event for one trigger. Body is the JSON POSTed (pub.TriggerMessage),
// fixed in apply, so every delivery of the event sends the same bytes.
type outboxEvent struct {
	ID      string          `json:"id"`
	GroupID string          `json:"group_id"`
	Trigger string          `json:"trigger"`
	Event   string          `json:"event"`
	Body    json.RawMessage `json:"body"`
}

func outboxKey(id string) []byte { return []byte("e/" + id) }

func outboxUint(tx *state.Tx, key []byte) uint64 {
	if v := tx.Bucket(bucketOutbox).Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func outboxSetUint(tx *state.Tx, key []byte, n uint64) error {
	return tx.Bucket(bucketOutbox).Put(key, binary.BigEndian.AppendUint64(nil, n))
}

// outboxPut queues an event, or counts it dropped when the outbox is full.
func outboxPut(tx *state.Tx, ev outboxEvent) error {
	n := outboxUint(tx, outboxCountKey)
	if n >= MaxOutbox {
		return outboxSetUint(tx, outboxDroppedKey, outboxUint(tx, outboxDroppedKey)+1)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOutbox).Put(outboxKey(ev.ID), b); err != nil {
		return err
	}
	return outboxSetUint(tx, outboxCountKey, n+1)
}

// outboxDelete removes an event; one already gone is no error (a delivery proposed twice).
func outboxDelete(tx *state.Tx, id string) error {
	b := tx.Bucket(bucketOutbox)
	if b.Get(outboxKey(id)) == nil {
		return nil
	}
	if err := b.Delete(outboxKey(id)); err != nil {
		return err
	}
	if n := outboxUint(tx, outboxCountKey); n > 0 {
		return outboxSetUint(tx, outboxCountKey, n-1)
	}
	return nil
}

// outboxList returns up to limit events in the order they were queued.
func outboxList(tx *state.Tx, limit int) []outboxEvent {
	var out []outboxEvent
	c := tx.Bucket(bucketOutbox).Cursor()
	prefix := []byte("e/")
	for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix) && len(out) < limit; k, v = c.Next() {
		var ev outboxEvent
		if json.Unmarshal(v, &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// depSnap is what trigger events are judged by: a deployment, and one of its hosts, before and
// after a command. Values are copied: the deployments cache shares targets between reads.
type depSnap struct {
	exists       bool
	d            Deployment // after a command only: read, never changed
	status       string
	rolledBackBy string
	host         hostSnap
}

type hostSnap struct {
	exists, started bool
	id, status      string
	tg              Target // a copy
}

// snapshot reads the deployment's header and the one host's part through apply's cache (header,
// target), so that queueing events costs the same whatever the fleet's size.
func snapshot(tx *state.Tx, depID, hostID string) depSnap {
	d, err := header(tx, depID)
	if err != nil {
		return depSnap{}
	}
	s := depSnap{exists: true, d: *d, status: d.Status, rolledBackBy: d.RolledBackBy}
	if hostID != "" {
		if tg, ok, err := target(tx, d, hostID); err == nil && ok {
			s.host = hostSnap{exists: true, started: tg.StartTime != nil, id: hostID, status: tg.Status, tg: *tg}
		}
	}
	return s
}

// withTriggers wraps the handler of a command that changes a deployment: scope names the
// deployment (and the host, "" for none) the command is about. After the handler succeeded it
// queues the trigger events of what changed, for the triggers of the deployment's group that
// take them: the deployment created, ended or rolled back (and the rollback deployment
// started), the host started or finished. A deployment of a group without triggers costs one
// cursor seek. It reads only the state and the command, so it is deterministic.
func withTriggers[T any](apply fsm.Apply[T], scope func(p T) (depID, hostID string)) fsm.Apply[T] {
	return func(tx *state.Tx, index uint64, c *command.Command, p T) (any, error) {
		depID, hostID := scope(p)
		before := snapshot(tx, depID, hostID)
		v, err := apply(tx, index, c, p)
		if err != nil {
			return v, err
		}
		after := snapshot(tx, depID, hostID)
		q := &eventQueue{tx: tx, index: index}
		q.deployment(before, after, c.Time)
		if after.rolledBackBy != "" && before.rolledBackBy == "" {
			q.deployment(depSnap{}, snapshot(tx, after.rolledBackBy, ""), c.Time)
		}
		return v, q.err
	}
}

// eventQueue queues the events of one command, numbering them index-n.
type eventQueue struct {
	tx    *state.Tx
	index uint64
	n     int
	err   error
}

// deployment queues the events between two snapshots of a deployment.
func (q *eventQueue) deployment(before, after depSnap, now time.Time) {
	if !after.exists || after.d.Group == "" || q.err != nil {
		return
	}
	triggers := groupTriggers(q.tx, after.d.GroupID)
	if len(triggers) == 0 {
		return
	}
	d := &after.d
	if !before.exists {
		q.add(triggers, d, EventDeploymentStart, nil, now)
	}
	if h := after.host; h.exists {
		tg := &h.tg
		if h.started && !before.host.started {
			q.add(triggers, d, EventInstanceStart, tg, now)
		}
		if before.host.status != h.status {
			switch h.status {
			case TargetSucceeded:
				q.add(triggers, d, EventInstanceSuccess, tg, now)
			case TargetFailed:
				q.add(triggers, d, EventInstanceFailure, tg, now)
			}
		}
	}
	if before.status != after.status {
		switch after.status {
		case DeploymentSucceeded:
			q.add(triggers, d, EventDeploymentSuccess, nil, now)
		case DeploymentFailed:
			q.add(triggers, d, EventDeploymentFailure, nil, now)
		case DeploymentStopped:
			q.add(triggers, d, EventDeploymentStop, nil, now)
		}
	}
	if after.rolledBackBy != "" && before.rolledBackBy == "" {
		q.add(triggers, d, EventDeploymentRollback, nil, now)
	}
}

// add queues event for every trigger that takes it.
func (q *eventQueue) add(triggers []Trigger, d *Deployment, event string, tg *Target, now time.Time) {
	for _, t := range triggers {
		if q.err != nil || !slices.Contains(t.Events, event) {
			continue
		}
		q.n++
		id := fmt.Sprintf("%020d-%03d", q.index, q.n)
		body, err := json.Marshal(triggerMessage(id, t.Name, event, d, tg, now))
		if err != nil {
			q.err = err
			return
		}
		q.err = outboxPut(q.tx, outboxEvent{ID: id, GroupID: d.GroupID, Trigger: t.Name, Event: event, Body: body})
	}
}

// triggerMessage is the body of an event: the fields of CodeDeploy's trigger message.
func triggerMessage(id, trigger, event string, d *Deployment, tg *Target, now time.Time) pub.TriggerMessage {
	m := pub.TriggerMessage{EventID: id, EventType: event, EventTriggerName: trigger, ApplicationName: d.App,
		DeploymentGroupName: d.Group, DeploymentID: d.ID, RevisionID: d.RevisionID, Status: deploymentStatus(d.Status),
		CreateTime: d.CreateTime.UTC(), CompleteTime: d.EndTime, RollbackDeploymentID: d.RolledBackBy, RollbackOf: d.RollbackOf}
	if d.Status == DeploymentFailed || d.Status == DeploymentStopped {
		m.ErrorInformation = &pub.TriggerError{ErrorMessage: d.Message}
	}
	if tg != nil {
		t := now.UTC()
		m.InstanceID, m.Hostname, m.InstanceStatus, m.LastUpdatedAt = tg.HostID, tg.HostName, instanceStatus(tg.Status), &t
		if tg.Status == TargetFailed {
			m.ErrorInformation = &pub.TriggerError{ErrorMessage: tg.Message}
		}
	}
	return m
}

// deploymentStatus and instanceStatus spell statuses as CodeDeploy does.
func deploymentStatus(s string) string {
	switch s {
	case DeploymentSucceeded:
		return "SUCCEEDED"
	case DeploymentFailed:
		return "FAILED"
	case DeploymentStopped:
		return "STOPPED"
	}
	return "IN_PROGRESS"
}

func instanceStatus(s string) string {
	switch s {
	case TargetSucceeded:
		return "Succeeded"
	case TargetFailed:
		return "Failed"
	case TargetSkipped:
		return "Skipped"
	case TargetStopped:
		return "Stopped"
	case TargetInProgress:
		return "InProgress"
	}
	return "Pending"
}
