package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// marker says which event (and script) of a deployment is running. It is written and fsynced
// before each event and each script, and removed once the deployment's result is on disk, so
// an agent killed at any point finds it on its next start (Recover).
type marker struct {
	DeploymentID string    `json:"deployment_id"`
	GroupID      string    `json:"group_id"`
	Event        string    `json:"event"`
	Script       string    `json:"script,omitempty"`
	Since        time.Time `json:"since"`
}

func (r *Runner) writeMarker(m marker) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeFileSync(r.markerFile(m.DeploymentID), b, 0o600); err != nil {
		return fmt.Errorf("write in-flight marker: %w", err)
	}
	return nil
}

// result is how a finished deployment ended, kept so a re-sent Run is not run again.
type result struct {
	DeploymentID string            `json:"deployment_id"`
	GroupID      string            `json:"group_id"`
	Status       agentproto.Status `json:"status"`
	Event        string            `json:"event,omitempty"` // the event that failed
	Result       string            `json:"result,omitempty"`
	Message      string            `json:"message,omitempty"`
	Time         time.Time         `json:"time"`
}

func (r *Runner) writeResult(res result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if err := writeFileSync(r.resultFile(res.DeploymentID), b, 0o644); err != nil {
		return fmt.Errorf("write deployment result: %w", err)
	}
	return nil
}

func (r *Runner) readResult(deploymentID string) (result, bool) {
	var res result
	if checkID("deployment ID", deploymentID, false) != nil {
		return res, false
	}
	b, err := os.ReadFile(r.resultFile(deploymentID))
	if err != nil || json.Unmarshal(b, &res) != nil || res.Status == "" {
		return result{}, false
	}
	return res, true
}

// Done reports whether deploymentID already ran to its end on this host (including a
// deployment failed by Recover), and how it ended. A running deployment is not done.
func (r *Runner) Done(deploymentID string) (agentproto.Status, bool) {
	res, ok := r.readResult(deploymentID)
	return res.Status, ok
}

// Recover finds the deployments that a killed agent left in flight and ends them: the event
// (and script) that was running is reported failed with agentproto.ResultAgentRestarted, then
// the deployment's end is reported failed, its result is recorded (so Done sees it) and its
// marker removed. Call it once when the agent starts, before any Run. It returns the IDs of
// the deployments it failed. Processes the killed agent had started are left alone (the agent
// runs with KillMode=process so that daemons started by hooks survive its restarts).
func (r *Runner) Recover(rep Reporter) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	dir := filepath.Join(r.cfg.Root, ongoingDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.log.Error("read in-flight markers", "err", err)
		}
		return nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || checkID("deployment ID", name, false) != nil || r.running[name] {
			continue // temporary files of an interrupted write, or not ours
		}
		path := filepath.Join(dir, name)
		var m marker
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil || m.DeploymentID != name {
			r.log.Error("unreadable in-flight marker; failing its deployment without event details", "path", path, "err", err)
			m = marker{DeploymentID: name}
		}
		if _, done := r.readResult(name); !done {
			r.failRestarted(m, rep)
			ids = append(ids, name)
		}
		if err := removeSync(path); err != nil {
			r.log.Error("remove in-flight marker", "path", path, "err", err)
		}
	}
	return ids
}

func (r *Runner) failRestarted(m marker, rep Reporter) {
	now := time.Now()
	what := m.Event
	if m.Script != "" {
		what += " (script " + m.Script + ")"
	}
	msg := fmt.Sprintf("the agent stopped while %s was running (since %s) and restarted; the event's outcome is unknown", what, m.Since.Format(time.RFC3339))
	if m.Event == "" {
		msg = "the agent stopped while this deployment was running and restarted"
	}
	if m.Event != "" {
		rep.Event(agentproto.Event{DeploymentID: m.DeploymentID, Event: m.Event, Status: agentproto.StatusFailed,
			Script: m.Script, Result: agentproto.ResultAgentRestarted, Message: msg, Time: now})
	}
	if err := r.writeResult(result{DeploymentID: m.DeploymentID, GroupID: m.GroupID, Status: agentproto.StatusFailed,
		Event: m.Event, Result: agentproto.ResultAgentRestarted, Message: msg, Time: now}); err != nil {
		r.log.Error("record recovered deployment", "deployment", m.DeploymentID, "err", err)
	}
	if m.GroupID != "" && checkID("group ID", m.GroupID, true) == nil {
		if l, err := openScriptsLog(r.deploymentDir(m.GroupID, m.DeploymentID)); err == nil {
			l.note(now, m.Event, "agent", msg)
			l.close()
		}
	}
	rep.Event(agentproto.Event{DeploymentID: m.DeploymentID, Event: agentproto.DeploymentEnd, Status: agentproto.StatusFailed,
		Result: agentproto.ResultAgentRestarted, Message: msg, Time: now})
	r.log.Warn("failed deployment left in flight by a previous agent", "deployment", m.DeploymentID, "event", m.Event)
}
