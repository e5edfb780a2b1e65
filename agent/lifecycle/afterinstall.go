package lifecycle

import "context"

// afterInstall runs the AfterInstall scripts of the revision being deployed, once its files
// are in place (typically: configure the application, change permissions).
type afterInstall struct{}

func (afterInstall) run(ctx context.Context, d *deployment) outcome {
	return d.runScripts(ctx, "AfterInstall", d.spec, d.bundleRoot)
}
