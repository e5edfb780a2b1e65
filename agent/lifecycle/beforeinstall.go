package lifecycle

import "context"

// beforeInstall runs the BeforeInstall scripts of the revision being deployed, before its files
// are installed (typically: decrypt files, back up the current version).
type beforeInstall struct{}

func (beforeInstall) run(ctx context.Context, d *deployment) outcome {
	return d.runScripts(ctx, "BeforeInstall", d.spec, d.bundleRoot)
}
