package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
)

// healthCheck is the deployment group's HTTP health check (agentproto.HealthCheck), run after
// ValidateService succeeded: GET the URL from this host, at most Attempts times Interval apart,
// each bounded by Timeout, redirects not followed. It passes at the first response with the
// expected status; otherwise it fails with the last status or error. Cancelling ctx ends it
// (failed).
type healthCheck struct{ check agentproto.HealthCheck }

func (h healthCheck) run(ctx context.Context, d *deployment) outcome {
	c := h.check
	if err := c.Validate(); err != nil {
		return failed(err.Error())
	}
	client := &http.Client{
		Timeout:       c.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	var last string
	for i := 1; i <= c.Attempts; i++ {
		if i > 1 {
			t := time.NewTimer(c.Interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return failed(fmt.Sprintf("cancelled after %d attempt(s); last: %s", i-1, last))
			case <-t.C:
			}
		}
		status, err := h.get(ctx, client)
		switch {
		case err != nil:
			last = err.Error()
		case status == c.ExpectedStatus:
			msg := fmt.Sprintf("GET %s answered %d", c.URL, status)
			d.logs.note(time.Now(), agentproto.HealthCheckEvent, "agent", msg)
			return succeeded(msg)
		default:
			last = fmt.Sprintf("GET %s answered %d, want %d", c.URL, status, c.ExpectedStatus)
		}
		d.logs.note(time.Now(), agentproto.HealthCheckEvent, "agent", fmt.Sprintf("attempt %d of %d: %s", i, c.Attempts, last))
		if ctx.Err() != nil {
			break
		}
	}
	out := failed(fmt.Sprintf("health check failed after %d attempt(s): %s", c.Attempts, last))
	if ctx.Err() != nil {
		out.result = agentproto.ResultCancelled
	}
	return out
}

// get makes one attempt and returns the response's status.
func (h healthCheck) get(ctx context.Context, client *http.Client) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.check.URL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "slipway-agent health check")
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return 0, fmt.Errorf("GET %s did not answer within %s", h.check.URL, h.check.Timeout)
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
