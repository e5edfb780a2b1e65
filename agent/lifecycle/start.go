package lifecycle

import "context"

// applicationStart runs the ApplicationStart scripts of the revision being deployed: they
// start the services the previous ApplicationStop stopped. A script that starts a daemon
// without redirecting its output does not hang the event (see package executor).
type applicationStart struct{}

func (applicationStart) run(ctx context.Context, d *deployment) outcome {
	return d.runScripts(ctx, "ApplicationStart", d.spec, d.bundleRoot)
}
