package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Repository webhook headers: each delivery is a POST of the event's JSON (docs/WEBHOOKS.md)
// with these headers. HookSignatureHeader is "sha256=" and the HMAC-SHA256 of the body under
// the hook's secret, in lowercase hex.
const (
	HookSignatureHeader = "X-Slipway-Signature-256"
	HookDeliveryHeader  = "X-Slipway-Delivery"
	HookEventHeader     = "X-Slipway-Event"
	HookTimestampHeader = "X-Slipway-Timestamp" // Unix seconds of the attempt
	HookIDHeader        = "X-Slipway-Hook-Id"
)

// RepoHookRequest is the body of POST /v1/repos/{name}/hooks. Events are event types
// (push, create, delete, pull_request, pull_request_comment, pull_request_approval) or "*";
// none means push.
type RepoHookRequest struct {
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events,omitempty"`
}

// RepoHook is a repository's webhook as the API shows it: never its secret.
type RepoHook struct {
	ID         string    `json:"id"`
	Repository string    `json:"repository"`
	URL        string    `json:"url"`
	Events     []string  `json:"events"`
	CreateTime time.Time `json:"create_time"`
	// Dropped counts deliveries dropped because the queue or the hook's history was full.
	Dropped uint64 `json:"dropped,omitempty"`
}

// RepoHookList is the answer of GET /v1/repos/{name}/hooks.
type RepoHookList struct {
	Hooks []RepoHook `json:"hooks"`
}

// RepoHookAttempt is one attempt of a delivery: its time, the receiver's HTTP status (0 for
// none), the error ("" when it answered 2xx) and how long it took.
type RepoHookAttempt struct {
	Time       time.Time `json:"time"`
	Status     int       `json:"status"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// RepoHookDelivery is one event sent (or to send) to one hook. State is pending (queued or
// waiting for its next attempt at NextAttempt), delivered or failed (given up after the retry
// window).
type RepoHookDelivery struct {
	ID           string            `json:"id"`
	HookID       string            `json:"hook_id"`
	Event        string            `json:"event"`
	EventID      string            `json:"event_id"`
	State        string            `json:"state"`
	CreateTime   time.Time         `json:"create_time"`
	NextAttempt  *time.Time        `json:"next_attempt,omitempty"`
	RedeliveryOf string            `json:"redelivery_of,omitempty"`
	Attempts     []RepoHookAttempt `json:"attempts"`
	Payload      []byte            `json:"payload,omitempty"` // the body, in GET .../deliveries?payload=1
}

// RepoHookDeliveryList is the answer of GET /v1/repos/{name}/hooks/{id}/deliveries, newest first.
type RepoHookDeliveryList struct {
	Deliveries []RepoHookDelivery `json:"deliveries"`
}

func hooksPath(repo string) string { return repoPath(repo) + "/hooks" }

// RepoHookCreate adds a webhook to a repository.
func (c *Client) RepoHookCreate(ctx context.Context, repo string, req RepoHookRequest) (*RepoHook, error) {
	var out RepoHook
	err := c.do(ctx, request{method: http.MethodPost, path: hooksPath(repo), in: req, out: &out})
	return &out, err
}

// RepoHookList lists a repository's webhooks.
func (c *Client) RepoHookList(ctx context.Context, repo string) (*RepoHookList, error) {
	var out RepoHookList
	err := c.do(ctx, request{method: http.MethodGet, path: hooksPath(repo), out: &out})
	return &out, err
}

// RepoHookDelete removes a webhook; its pending deliveries are dropped.
func (c *Client) RepoHookDelete(ctx context.Context, repo, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: hooksPath(repo) + "/" + url.PathEscape(id)})
}

// RepoHookDeliveries lists a webhook's recent deliveries, newest first, with their attempts.
func (c *Client) RepoHookDeliveries(ctx context.Context, repo, id string) (*RepoHookDeliveryList, error) {
	var out RepoHookDeliveryList
	err := c.do(ctx, request{method: http.MethodGet, path: hooksPath(repo) + "/" + url.PathEscape(id) + "/deliveries", out: &out})
	return &out, err
}

// RepoHookRedeliver queues a delivery's body again, as a new delivery to the same hook.
func (c *Client) RepoHookRedeliver(ctx context.Context, repo, delivery string) (*RepoHookDelivery, error) {
	var out RepoHookDelivery
	err := c.do(ctx, request{method: http.MethodPost, path: repoPath(repo) + "/deliveries/" + url.PathEscape(delivery) + "/redeliver", out: &out})
	return &out, err
}
