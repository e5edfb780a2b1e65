package cli

import (
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/api"
)

// healthCheckFlags are a group's health check options of group create and update.
type healthCheckFlags struct {
	url               string
	status, attempts  int
	timeout, interval time.Duration
}

func (h *healthCheckFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&h.url, "health-check-url", "", "after ValidateService, each host's agent GETs this URL from the host (e.g. http://127.0.0.1/health); a failure fails the host ('' removes the check)")
	f.IntVar(&h.status, "health-check-status", 0, "HTTP status the health check expects (default 200)")
	f.DurationVar(&h.timeout, "health-check-timeout", 0, "time each health check attempt may take (default 5s)")
	f.IntVar(&h.attempts, "health-check-attempts", 0, "attempts before the health check fails (default 3)")
	f.DurationVar(&h.interval, "health-check-interval", 0, "time between health check attempts (default 5s)")
}

var healthCheckFlagNames = []string{"health-check-url", "health-check-status", "health-check-timeout", "health-check-attempts", "health-check-interval"}

// request builds the health check the flags give over cur (the group's, nil for none), or
// reports that none was given (nil, nil). --health-check-url ” removes the check: a check with
// an empty URL. Out-of-range values are usage errors.
func (h *healthCheckFlags) request(cmd *cobra.Command, cur *api.GroupHealthCheck) (*api.GroupHealthCheck, error) {
	fl := cmd.Flags()
	given := false
	for _, n := range healthCheckFlagNames {
		given = given || fl.Changed(n)
	}
	if !given {
		return nil, nil
	}
	out := api.GroupHealthCheck{}
	if cur != nil {
		out = *cur
	}
	if fl.Changed("health-check-url") {
		if h.url == "" {
			return &api.GroupHealthCheck{}, nil
		}
		u, err := url.Parse(h.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef("invalid --health-check-url %q: want an http:// or https:// URL such as http://127.0.0.1/health", h.url)
		}
		out.URL = h.url
	}
	if out.URL == "" {
		return nil, usagef("the group has no health check: give --health-check-url with the other --health-check-* flags")
	}
	if fl.Changed("health-check-status") {
		if h.status < 100 || h.status > 599 {
			return nil, usagef("invalid --health-check-status %d: want an HTTP status from 100 to 599", h.status)
		}
		out.ExpectedStatus = h.status
	}
	if fl.Changed("health-check-timeout") {
		if h.timeout <= 0 || h.timeout > 5*time.Minute {
			return nil, usagef("invalid --health-check-timeout %s: want more than 0 and at most 5m", h.timeout)
		}
		out.TimeoutSeconds = h.timeout.Seconds()
	}
	if fl.Changed("health-check-attempts") {
		if h.attempts < 1 || h.attempts > 100 {
			return nil, usagef("invalid --health-check-attempts %d: want 1 to 100", h.attempts)
		}
		out.Attempts = h.attempts
	}
	if fl.Changed("health-check-interval") {
		if h.interval < 0 || h.interval > 10*time.Minute {
			return nil, usagef("invalid --health-check-interval %s: want 0 to 10m", h.interval)
		}
		out.IntervalSeconds = h.interval.Seconds()
	}
	return &out, nil
}

// formatHealthCheck shows a health check on one line ("none" for none).
func formatHealthCheck(h *api.GroupHealthCheck) string {
	if h == nil {
		return "none"
	}
	return fmt.Sprintf("GET %s expects %d (%d attempts, %s apart, %s each)", h.URL, h.ExpectedStatus, h.Attempts,
		time.Duration(h.IntervalSeconds*float64(time.Second)), time.Duration(h.TimeoutSeconds*float64(time.Second)))
}
