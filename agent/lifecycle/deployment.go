package lifecycle

import (
	"context"
	"path/filepath"
	"time"

	"github.com/slipwayhq/slipway/agent/executor"
	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// deployment is the state of one Run, shared by its hooks.
type deployment struct {
	r       *Runner
	run     agentproto.Run
	fetcher Fetcher
	rep     Reporter
	dir     string // <root>/<group-id>/<deployment-id>
	logs    *scriptsLog

	// lastSuccessful is the deployment folder of the group's last successful install when
	// this deployment started, "" on the first deployment.
	lastSuccessful string

	// Set by DownloadBundle.
	spec       *appspec.Spec
	bundleRoot string // the folder holding the appspec, inside deployment-archive
}

func (d *deployment) bundleFile() string { return filepath.Join(d.dir, bundleName) }

func (d *deployment) archiveDir() string { return filepath.Join(d.dir, archiveName) }

// walk runs the events in appspec.Events order until one fails, with the group's health check
// (Run.HealthCheck) right after ValidateService. It returns the deployment's
// outcome and, for a failure, the event that failed.
func (d *deployment) walk(ctx context.Context) (outcome, string) {
	for _, ev := range appspec.Events {
		if ev.Traffic {
			d.report(ev.Name, "", trafficHook{}.run(ctx, d))
			continue
		}
		if out := d.event(ctx, ev.Name, hookFor(ev)); out.status == agentproto.StatusFailed {
			return out, ev.Name
		}
		// The group's health check follows ValidateService, as its own event.
		if ev.Name == "ValidateService" && d.run.HealthCheck != nil {
			if out := d.event(ctx, agentproto.HealthCheckEvent, healthCheck{*d.run.HealthCheck}); out.status == agentproto.StatusFailed {
				return out, agentproto.HealthCheckEvent
			}
		}
	}
	return succeeded(""), ""
}

// event runs one event's hook, reporting it started and then how it ended.
func (d *deployment) event(ctx context.Context, name string, h hook) outcome {
	if ctx.Err() != nil {
		out := outcome{status: agentproto.StatusFailed, result: agentproto.ResultCancelled, message: "deployment cancelled before this event started" + executor.CancelCause(ctx)}
		d.report(name, "", out)
		return out
	}
	if err := d.mark(name, ""); err != nil {
		out := outcome{status: agentproto.StatusFailed, result: agentproto.ResultUnknownError, message: err.Error()}
		d.report(name, "", out)
		return out
	}
	d.report(name, "", outcome{status: agentproto.StatusStarted})
	d.logs.note(time.Now(), name, "agent", "event started")
	out := h.run(ctx, d)
	if out.status == agentproto.StatusFailed && out.result == "" && ctx.Err() != nil {
		out.result = agentproto.ResultCancelled
	}
	d.report(name, "", out)
	d.logs.note(time.Now(), name, "agent", "event "+string(out.status)+suffix(out.message))
	return out
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// mark updates the in-flight marker before an event or a script runs.
func (d *deployment) mark(event, script string) error {
	return d.r.writeMarker(marker{DeploymentID: d.run.DeploymentID, GroupID: d.run.GroupID, Event: event, Script: script, Since: time.Now()})
}

// report sends an event report (a script's result when script is set).
func (d *deployment) report(event, script string, out outcome) {
	d.rep.Event(agentproto.Event{
		DeploymentID: d.run.DeploymentID,
		Event:        event,
		Status:       out.status,
		Script:       script,
		Result:       out.result,
		ExitCode:     out.exit,
		Message:      out.message,
		Time:         time.Now(),
	})
}

// line logs one output line to scripts.log and to the control plane.
func (d *deployment) line(l agentproto.LogLine) {
	d.logs.write(l)
	d.rep.Log(d.run.DeploymentID, l)
}
