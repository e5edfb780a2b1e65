package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// applicationStop runs the ApplicationStop scripts of the group's last successful install on
// this host (not of the revision being deployed), from that deployment's archive. On the first
// deployment of the group there is none and the event succeeds doing nothing. With
// Run.IgnoreApplicationStopFailures a failing stop script (or a previous revision that cannot
// be read) is reported and the deployment goes on; a cancellation is never ignored.
type applicationStop struct{}

func (applicationStop) run(ctx context.Context, d *deployment) outcome {
	if d.lastSuccessful == "" {
		return succeeded("first deployment of this group on this host: no previous revision to stop")
	}
	out := stopPrevious(ctx, d)
	if out.status == agentproto.StatusFailed && d.run.IgnoreApplicationStopFailures && out.result != agentproto.ResultCancelled && ctx.Err() == nil {
		return succeeded("ignored because ignore_application_stop_failures is set: " + out.message)
	}
	return out
}

func stopPrevious(ctx context.Context, d *deployment) outcome {
	prev := filepath.Base(d.lastSuccessful)
	specPath, err := appspec.FindSpec(filepath.Join(d.lastSuccessful, archiveName))
	if err != nil {
		return failed(fmt.Sprintf("the last successful revision (deployment %s) cannot be read: %v", prev, err))
	}
	data, err := os.ReadFile(specPath)
	if err != nil {
		return failed(fmt.Sprintf("read the appspec of deployment %s: %v", prev, err))
	}
	spec, diags := appspec.Load(specPath, data)
	if diags.HasErrors() {
		return failed(fmt.Sprintf("the appspec of deployment %s is not valid:\n%s", prev, diags.Errors()))
	}
	out := d.runScripts(ctx, "ApplicationStop", spec, filepath.Dir(specPath))
	if out.status == agentproto.StatusSucceeded && len(spec.Scripts("ApplicationStop")) > 0 {
		out.message += " (from deployment " + prev + ")"
	}
	return out
}
