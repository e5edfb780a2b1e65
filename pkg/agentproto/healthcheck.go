package agentproto

import (
	"fmt"
	"net/url"
	"time"
)

// HealthCheckEvent is the Event.Event value of a deployment's health check: an HTTP GET the
// agent makes from its own host after ValidateService succeeded, when Run.HealthCheck is set.
// It is reported like a lifecycle event (started, then succeeded or failed); a failure fails the
// deployment on the host, as a failed ValidateService does, and the AllowTraffic events that
// follow do not run.
const HealthCheckEvent = "HealthCheck"

// HealthCheck is a deployment group's HTTP health check, carried in Run.
//
// The agent GETs URL (http or https, usually a port of 127.0.0.1: it runs on the host being
// deployed) without following redirects, each attempt bounded by Timeout, up to Attempts times
// Interval apart; the check passes at the first response with status ExpectedStatus. An agent
// older than this field ignores it: the server does not take such an agent's success for a
// pass (a host that reports the deployment succeeded without a HealthCheck event that
// succeeded is failed, and the message says to upgrade the agent), so a check is never skipped
// silently.
type HealthCheck struct {
	URL            string        `json:"url"`
	ExpectedStatus int           `json:"expected_status"`
	Timeout        time.Duration `json:"timeout"`
	Attempts       int           `json:"attempts"`
	Interval       time.Duration `json:"interval"`
}

// Bounds of a health check.
const (
	MaxHealthCheckURL      = 2048
	MaxHealthCheckTimeout  = 5 * time.Minute
	MaxHealthCheckAttempts = 100
	MaxHealthCheckInterval = 10 * time.Minute
)

// Validate checks a health check's fields and says which one is wrong and how.
func (h HealthCheck) Validate() error {
	if len(h.URL) > MaxHealthCheckURL {
		return fmt.Errorf("health check URL is %d bytes; at most %d", len(h.URL), MaxHealthCheckURL)
	}
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("health check URL %q: want an http:// or https:// URL with a host, such as http://127.0.0.1:8080/health", clip(h.URL))
	}
	if u.User != nil {
		return fmt.Errorf("health check URL %q carries credentials; they would be stored in the clear: remove them", clip(h.URL))
	}
	if h.ExpectedStatus < 100 || h.ExpectedStatus > 599 {
		return fmt.Errorf("health check expected status %d: want an HTTP status from 100 to 599", h.ExpectedStatus)
	}
	if h.Timeout <= 0 || h.Timeout > MaxHealthCheckTimeout {
		return fmt.Errorf("health check timeout %s: want more than 0 and at most %s", h.Timeout, MaxHealthCheckTimeout)
	}
	if h.Attempts < 1 || h.Attempts > MaxHealthCheckAttempts {
		return fmt.Errorf("health check attempts %d: want 1 to %d", h.Attempts, MaxHealthCheckAttempts)
	}
	if h.Interval < 0 || h.Interval > MaxHealthCheckInterval {
		return fmt.Errorf("health check interval %s: want 0 to %s", h.Interval, MaxHealthCheckInterval)
	}
	return nil
}
