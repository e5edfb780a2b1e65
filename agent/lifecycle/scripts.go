package lifecycle

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/slipwayhq/slipway/agent/executor"
	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// runScripts runs the scripts spec lists for event, in file order, from the bundle unpacked at
// root (the working directory of every script). Each script's result is reported; the first
// one that does not succeed ends the event with its result.
func (d *deployment) runScripts(ctx context.Context, event string, spec *appspec.Spec, root string) outcome {
	scripts := spec.Scripts(event)
	if len(scripts) == 0 {
		return succeeded("no scripts for this event")
	}
	env := executor.Env{
		LifecycleEvent:      event,
		DeploymentID:        d.run.DeploymentID,
		ApplicationName:     d.run.App,
		DeploymentGroupName: d.run.Group,
		DeploymentGroupID:   d.run.GroupID,
		BundleSHA256:        d.run.Revision.SHA256,
		RevisionID:          d.run.Revision.ID,
		HostName:            d.r.cfg.HostName,
		InstallRoot:         d.r.cfg.InstallRoot,
	}.Vars()
	for _, s := range scripts {
		out := d.runScript(ctx, event, spec.OS, root, env, s)
		d.report(event, s.Location, out)
		if out.status != agentproto.StatusSucceeded {
			out.message = fmt.Sprintf("script %s: %s", s.Location, out.message)
			return out
		}
	}
	return succeeded(fmt.Sprintf("%d script(s) succeeded", len(scripts)))
}

func (d *deployment) runScript(ctx context.Context, event, osName, root string, env []string, s appspec.Script) outcome {
	rel, ok := appspec.BundlePath(osName, s.Location)
	if !ok || rel == "" {
		return outcome{status: agentproto.StatusFailed, result: agentproto.ResultScriptMissing, exit: -1,
			message: "location does not name a file inside the bundle"}
	}
	if err := d.mark(event, s.Location); err != nil {
		return outcome{status: agentproto.StatusFailed, result: agentproto.ResultUnknownError, exit: -1, message: err.Error()}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = appspec.DefaultTimeout
	}
	d.logs.note(time.Now(), event, s.Location, "script started")
	res := d.r.exec.Run(ctx, executor.Script{
		Name:    s.Location,
		Path:    filepath.Join(root, filepath.FromSlash(rel)),
		Dir:     root,
		Env:     env,
		Timeout: time.Duration(timeout) * time.Second,
		RunAs:   s.RunAs,
		Sudo:    s.Sudo,
	}, func(l executor.Line) {
		d.line(agentproto.LogLine{Time: l.Time, Event: event, Script: s.Location, Stream: l.Stream, Text: l.Text})
	})
	out := outcome{status: agentproto.StatusSucceeded, result: res.Code, exit: res.ExitCode, message: res.Message}
	if !res.OK() {
		out.status = agentproto.StatusFailed
	}
	d.logs.note(time.Now(), event, s.Location, fmt.Sprintf("script %s (exit %d) after %s%s", res.Code, res.ExitCode, res.Duration.Round(time.Millisecond), suffix(res.Message)))
	return out
}
