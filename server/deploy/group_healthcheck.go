package deploy

import (
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// HealthCheck (in the group and deployment records and in group.put version 2; its JSON is the
// log format) is a deployment group's HTTP health check: each host's agent GETs URL after
// ValidateService succeeded, reported as the event agentproto.HealthCheckEvent. A check that
// fails fails the host, so the deployment fails as for a failed ValidateService, and rolls back
// when the group's auto-rollback is on-failure (CodeDeploy's rollback on alarm, with the check
// in place of a CloudWatch alarm).
type HealthCheck struct {
	URL            string        `json:"url"`
	ExpectedStatus int           `json:"expected_status"`
	Timeout        time.Duration `json:"timeout"`
	Attempts       int           `json:"attempts"`
	Interval       time.Duration `json:"interval"`
}

// Defaults of a health check's fields left out of a request.
const (
	DefaultHealthCheckStatus   = 200
	DefaultHealthCheckTimeout  = 5 * time.Second
	DefaultHealthCheckAttempts = 3
	DefaultHealthCheckInterval = 5 * time.Second
)

func (h HealthCheck) proto() agentproto.HealthCheck {
	return agentproto.HealthCheck{URL: h.URL, ExpectedStatus: h.ExpectedStatus, Timeout: h.Timeout, Attempts: h.Attempts, Interval: h.Interval}
}

// validate checks the fields (agentproto.HealthCheck.Validate) as an invalid fault.
func (h HealthCheck) validate() error {
	if err := h.proto().Validate(); err != nil {
		return fault.New(fault.Invalid, "%v", err)
	}
	return nil
}

// healthCheckOf is the record of a request's health check, defaults filled in; nil for none
// (nil, or an empty URL, which is how an update removes it).
func healthCheckOf(in *pub.GroupHealthCheck) *HealthCheck {
	if in == nil || in.URL == "" {
		return nil
	}
	h := &HealthCheck{URL: in.URL, ExpectedStatus: in.ExpectedStatus, Timeout: time.Duration(in.TimeoutSeconds * float64(time.Second)),
		Attempts: in.Attempts, Interval: time.Duration(in.IntervalSeconds * float64(time.Second))}
	if h.ExpectedStatus == 0 {
		h.ExpectedStatus = DefaultHealthCheckStatus
	}
	if in.TimeoutSeconds == 0 {
		h.Timeout = DefaultHealthCheckTimeout
	}
	if h.Attempts == 0 {
		h.Attempts = DefaultHealthCheckAttempts
	}
	if in.IntervalSeconds == 0 {
		h.Interval = DefaultHealthCheckInterval
	}
	return h
}

// view is the API's form of a health check.
func (h *HealthCheck) view() *pub.GroupHealthCheck {
	if h == nil {
		return nil
	}
	return &pub.GroupHealthCheck{URL: h.URL, ExpectedStatus: h.ExpectedStatus, TimeoutSeconds: h.Timeout.Seconds(), Attempts: h.Attempts, IntervalSeconds: h.Interval.Seconds()}
}

// healthCheckMissing says why a host's reported success does not count, "" when it does: a
// deployment with a health check succeeds on a host only after a HealthCheck event that
// succeeded, so an agent that ignores Run.HealthCheck (one of a release before health checks)
// cannot skip the check. A host whose event records were cut (EventsTruncated) is taken at its
// word: its record may be among those dropped. Deterministic: apply calls it.
func healthCheckMissing(d *Deployment, tg *Target) string {
	if d.HealthCheck == nil || tg.EventsTruncated {
		return ""
	}
	for _, e := range tg.Events {
		if e.Name == agentproto.HealthCheckEvent && e.Script == "" && e.Status == string(agentproto.StatusSucceeded) {
			return ""
		}
	}
	return "the group has a health check (" + d.HealthCheck.URL + ") and the agent on " + tg.HostName +
		" reported success without running it: its agent is older than health checks; upgrade slipway-agent on the host"
}

// healthCheckRun is the health check an agent's Run carries; nil for none.
func healthCheckRun(h *HealthCheck) *agentproto.HealthCheck {
	if h == nil {
		return nil
	}
	p := h.proto()
	return &p
}
