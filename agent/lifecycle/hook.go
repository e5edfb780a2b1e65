package lifecycle

import (
	"context"

	"github.com/slipwayhq/slipway/appspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// hook is one lifecycle event. Each lives in its own file; the runner walks appspec.Events and
// runs the hook of each event in that order:
//
//	BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic    traffic.go   skipped: no load balancer step
//	ApplicationStop                                        stop.go      scripts of the last successful install
//	DownloadBundle                                         download.go  fetch, verify, unpack safely, load appspec
//	BeforeInstall                                          beforeinstall.go
//	Install                                                install.go   plan, remove previous, copy, permissions, records
//	AfterInstall                                           afterinstall.go
//	ApplicationStart                                       start.go
//	ValidateService                                        validate.go
//	BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic    traffic.go   skipped: no load balancer step
//
// A hook reads what earlier hooks left in the deployment (DownloadBundle sets the spec and the
// bundle root) and returns its outcome; it reports only per-script results itself.
type hook interface {
	run(ctx context.Context, d *deployment) outcome
}

// outcome is how an event ended.
type outcome struct {
	status  agentproto.Status // succeeded, failed or skipped
	result  string            // an agentproto.Result* code for a failure, when one applies
	exit    int               // the failing script's exit code
	message string
}

func succeeded(msg string) outcome { return outcome{status: agentproto.StatusSucceeded, message: msg} }

func failed(msg string) outcome { return outcome{status: agentproto.StatusFailed, message: msg} }

// hookFor returns the hook of an event of appspec.Events.
func hookFor(ev appspec.Event) hook {
	if ev.Traffic {
		return trafficHook{}
	}
	switch ev.Name {
	case "ApplicationStop":
		return applicationStop{}
	case "DownloadBundle":
		return downloadBundle{}
	case "BeforeInstall":
		return beforeInstall{}
	case "Install":
		return install{}
	case "AfterInstall":
		return afterInstall{}
	case "ApplicationStart":
		return applicationStart{}
	case "ValidateService":
		return validateService{}
	}
	return unknownEvent{}
}

// unknownEvent fails an event of appspec.Events this agent does not know how to run, so a
// newer table never makes the agent silently skip a step.
type unknownEvent struct{}

func (unknownEvent) run(context.Context, *deployment) outcome {
	return failed("this agent does not know how to run this lifecycle event; upgrade the agent")
}
