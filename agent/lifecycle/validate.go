package lifecycle

import "context"

// validateService runs the ValidateService scripts of the revision being deployed: the last
// event, which checks that the deployment works.
type validateService struct{}

func (validateService) run(ctx context.Context, d *deployment) outcome {
	return d.runScripts(ctx, "ValidateService", d.spec, d.bundleRoot)
}
