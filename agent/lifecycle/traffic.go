package lifecycle

import (
	"context"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// trafficHook stands for the load balancer events (BeforeBlockTraffic, BlockTraffic,
// AfterBlockTraffic, BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic). They run only when
// a deployment group has a load balancer step, which Slipway does not have yet, so they are
// reported skipped and their scripts (of either revision) do not run.
type trafficHook struct{}

func (trafficHook) run(context.Context, *deployment) outcome {
	return outcome{status: agentproto.StatusSkipped, message: "no load balancer step in this deployment"}
}
