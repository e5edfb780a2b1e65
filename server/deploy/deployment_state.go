package deploy

import (
	"encoding/binary"
	"time"

	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// The deployments' buckets. Their names are in snapshots: they stay as the core named them.
var (
	bucketDeployments    = []byte("deployments")     // id -> Deployment
	bucketActiveByHost   = []byte("active_by_host")  // host id | 0 | deployment id -> nil
	bucketDeploymentLogs = []byte("deployment_logs") // deployment id | 0 | host id | 0 | seq(8) -> []LogLine JSON
	bucketTargets        = []byte("deploy/targets")  // deployment id | 0 | host id -> Target
	bucketOrder          = []byte("deploy/order")    // deployment id | 0 | position(4) -> rollout.Host
)

// Deployment statuses.
const (
	DeploymentInProgress = "in_progress"
	DeploymentSucceeded  = "succeeded"
	DeploymentFailed     = "failed"
	TargetPending        = "pending"
	TargetInProgress     = "in_progress"
	TargetSucceeded      = "succeeded"
	TargetFailed         = "failed"
	TargetWaiting        = "waiting" // in a group deployment, not scheduled yet
	TargetSkipped        = "skipped" // never started: the deployment ended first
	TargetStopped        = "stopped" // stopped by the user while running
	DeploymentStopped    = "stopped"
)

// MaxLogBytesPerTarget bounds the output kept in the state per host of a deployment; the host's
// own scripts.log keeps everything.
const MaxLogBytesPerTarget = 8 << 20

// Bounds on the lifecycle events kept per host of a deployment (what its agent reports). The FSM
// applies them to every report, so a compromised host cannot grow its target's record, which
// is rewritten on every report of the host, without limit.
const (
	// MaxEventRecordsPerTarget bounds a target's event records; beyond it new records are
	// dropped and the target is marked EventsTruncated.
	MaxEventRecordsPerTarget = 256
	// MaxScriptRecordsPerTarget bounds the records a target may have before a script's result
	// is dropped: the rest of MaxEventRecordsPerTarget stays for the lifecycle events
	// themselves, which host timeouts are judged by.
	MaxScriptRecordsPerTarget = MaxEventRecordsPerTarget - 32
	// MaxEventFieldLen bounds an event's name, script path, status and result, in bytes.
	MaxEventFieldLen = 256
	// MaxEventMessageLen bounds an event's message and a target's message, in bytes.
	MaxEventMessageLen = 4 << 10
)

// Deployment runs a revision on hosts. Its JSON is the record in the deployments bucket.
type Deployment struct {
	ID         string `json:"id"`
	App        string `json:"app"`
	GroupID    string `json:"group_id"`
	Group      string `json:"group,omitempty"`
	RevisionID string `json:"revision_id"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	Format     string `json:"format"`
	Status     string `json:"status"`
	Message    string `json:"message,omitempty"`
	// Targets are the hosts' parts by host id. A record stored by this release leaves them out
	// (Layout 2: each is under its own key, deployment_store.go); one stored by an earlier
	// release has them all here.
	Targets     map[string]*Target `json:"targets,omitempty"`
	CreateTime  time.Time          `json:"create_time"`
	EndTime     *time.Time         `json:"end_time,omitempty"`
	CreateIndex uint64             `json:"create_index"`
	ModifyIndex uint64             `json:"modify_index"`
	// IgnoreApplicationStopFailures is passed to agents.
	IgnoreApplicationStopFailures bool `json:"ignore_application_stop_failures,omitempty"`

	// Group deployments only: the rollout plan fixed at start, the group's revision before it,
	// whether a failure rolls back, and the links between a deployment and its rollback.
	Rollout      *rollout.Rollout `json:"rollout,omitempty"`
	OldRevision  string           `json:"old_revision,omitempty"`
	AutoRollback string           `json:"auto_rollback,omitempty"`
	RollbackOf   string           `json:"rollback_of,omitempty"`
	RolledBackBy string           `json:"rolled_back_by,omitempty"`
	// HealthCheck is the group's when the deployment started (group_healthcheck.go).
	HealthCheck *HealthCheck `json:"health_check,omitempty"`

	// Layout 2 records (this release) keep the targets and the rollout's hosts under keys of
	// their own, and the tally of the targets here, so that applying a host's report reads
	// and writes a few small records whatever the fleet's size. Cursor is the position in the
	// rollout's scheduling order before which no host waits.
	Layout int             `json:"layout,omitempty"`
	Tally  *rollout.Counts `json:"tally,omitempty"`
	Cursor int             `json:"cursor,omitempty"`
}

// BoundEvent cleans and cuts an agent's event report to the bounds above (state.CleanText with
// MaxEventFieldLen for its name, script, status and result, MaxEventMessageLen for its message)
// and returns the names of the fields it changed. It is deterministic: the FSM applies it to
// every report, the agent work's Check first (to log what an agent sent out of bounds).
func BoundEvent(ev *ReportEvent) []string {
	var changed []string
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"event", &ev.Event, MaxEventFieldLen},
		{"script", &ev.Script, MaxEventFieldLen},
		{"status", &ev.Status, MaxEventFieldLen},
		{"result", &ev.Result, MaxEventFieldLen},
		{"message", &ev.Message, MaxEventMessageLen},
	} {
		var ok bool
		if *f.v, ok = state.CleanText(*f.v, f.max); ok {
			changed = append(changed, f.name)
		}
	}
	return changed
}

// Target is one host's part of a deployment.
type Target struct {
	HostID    string        `json:"host_id"`
	HostName  string        `json:"host_name"`
	Status    string        `json:"status"`
	Message   string        `json:"message,omitempty"`
	Events    []EventRecord `json:"events,omitempty"`
	LastSeq   uint64        `json:"last_seq"`
	LogBytes  int64         `json:"log_bytes"`
	Truncated bool          `json:"log_truncated,omitempty"`
	// EventsTruncated is set when event records were dropped (MaxEventRecordsPerTarget).
	EventsTruncated bool       `json:"events_truncated,omitempty"`
	StartTime       *time.Time `json:"start_time,omitempty"`
	// Scheduled is when the host was told to start (its target became pending).
	Scheduled *time.Time `json:"scheduled,omitempty"`
	EndTime   *time.Time `json:"end_time,omitempty"`
	// Health is the host's health in its group at the deployment's start (the rollout's
	// tally counts a waiting host by it); "" for a deployment to named hosts.
	Health rollout.Health `json:"start_health,omitempty"`
}

// EventRecord is a lifecycle event's outcome on one host.
type EventRecord struct {
	Name     string     `json:"name"`
	Status   string     `json:"status"`
	Result   string     `json:"result,omitempty"`
	Script   string     `json:"script,omitempty"`
	ExitCode int        `json:"exit_code,omitempty"`
	Message  string     `json:"message,omitempty"`
	Start    *time.Time `json:"start,omitempty"`
	End      *time.Time `json:"end,omitempty"`
}

// Idle reports since when the target has had no lifecycle event running: its last event's end,
// or when it was scheduled. ok is false while an event runs or before it is scheduled.
func (tg *Target) Idle() (since time.Time, ok bool) {
	if tg.Finished() || tg.Scheduled == nil {
		return time.Time{}, false
	}
	since = *tg.Scheduled
	for _, e := range tg.Events {
		if e.Script != "" {
			continue
		}
		if e.Status == "started" {
			return time.Time{}, false
		}
		if e.End != nil && e.End.After(since) {
			since = *e.End
		}
	}
	return since, true
}

// Finished reports whether the target reached an end state.
func (tg *Target) Finished() bool {
	switch tg.Status {
	case TargetSucceeded, TargetFailed, TargetSkipped, TargetStopped:
		return true
	}
	return false
}

func activeKey(host, dep string) []byte {
	k := make([]byte, 0, len(host)+1+len(dep))
	k = append(append(append(k, host...), 0), dep...)
	return k
}

// activeDeploymentsOf returns the IDs of deployments not yet finished on a host.
func activeDeploymentsOf(tx *state.Tx, hostID string) []string {
	var ids []string
	prefix := append([]byte(hostID), 0)
	c := tx.Bucket(bucketActiveByHost).Cursor()
	for k, _ := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	return ids
}

// isActive reports whether a host's part of a deployment is scheduled and not finished.
func isActive(tx *state.Tx, hostID, deploymentID string) bool {
	return tx.Bucket(bucketActiveByHost).Get(activeKey(hostID, deploymentID)) != nil
}

// activeTargets calls fn for every (host, deployment) pair not yet finished.
func activeTargets(tx *state.Tx, fn func(hostID, deploymentID string)) {
	c := tx.Bucket(bucketActiveByHost).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		for i, b := range k {
			if b == 0 {
				fn(string(k[:i]), string(k[i+1:]))
				break
			}
		}
	}
}

func logKey(dep, host string, seq uint64) []byte {
	k := make([]byte, 0, len(dep)+len(host)+10)
	k = append(append(append(append(k, dep...), 0), host...), 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// appendLog stores a batch of output lines (raw JSON) under its sequence number.
func appendLog(tx *state.Tx, dep, host string, seq uint64, lines []byte) error {
	return tx.Bucket(bucketDeploymentLogs).Put(logKey(dep, host, seq), lines)
}

// logsOf calls fn with each stored batch of a host's output after sequence after, in order.
func logsOf(tx *state.Tx, dep, host string, after uint64, fn func(seq uint64, lines []byte) error) error {
	prefix := append(append(append(append([]byte{}, dep...), 0), host...), 0)
	c := tx.Bucket(bucketDeploymentLogs).Cursor()
	for k, v := c.Seek(logKey(dep, host, after+1)); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		if err := fn(binary.BigEndian.Uint64(k[len(prefix):]), v); err != nil {
			return err
		}
	}
	return nil
}
