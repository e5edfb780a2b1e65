package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TriggerRequest is the body of POST /v1/apps/{app}/groups/{name}/triggers: a webhook taking
// some of the group's deployment and host events (CodeDeploy's trigger configuration, with a URL
// in place of an SNS topic). Events are among DeploymentStart, DeploymentSuccess,
// DeploymentFailure, DeploymentStop, DeploymentRollback, DeploymentReady, InstanceStart,
// InstanceSuccess, InstanceFailure and InstanceReady, or "all"; the Ready ones belong to
// blue/green deployments and are never sent for in-place ones.
type TriggerRequest struct {
	Name   string   `json:"name"`
	Events []string `json:"events"`
	URL    string   `json:"url"`
}

// TriggerEvents are the events a trigger can take, as CodeDeploy names them.
var TriggerEvents = []string{"DeploymentStart", "DeploymentSuccess", "DeploymentFailure", "DeploymentStop", "DeploymentRollback",
	"DeploymentReady", "InstanceStart", "InstanceSuccess", "InstanceFailure", "InstanceReady"}

// Trigger is a group's trigger as the API shows it: never with its secret. URL is shown by the
// triggers' list (management tokens only: a webhook URL may carry a secret) and left out of
// Group.Triggers, which any token reads.
type Trigger struct {
	Name   string   `json:"name"`
	Events []string `json:"events"`
	URL    string   `json:"url,omitempty"`
}

// TriggerCreated answers a trigger's creation with its secret, shown this once.
type TriggerCreated struct {
	Trigger
	Secret string `json:"secret"`
}

// TriggerList is the answer of GET /v1/apps/{app}/groups/{name}/triggers.
type TriggerList struct {
	Triggers []Trigger `json:"triggers"`
}

// The headers of a trigger's POST.
const (
	// TriggerEventHeader names the event, e.g. DeploymentSuccess.
	TriggerEventHeader = "Slipway-Event"
	// TriggerEventIDHeader is the event's ID, the same on every delivery of the event: an event
	// is delivered at least once, so a receiver that must act once keeps the IDs it has seen.
	TriggerEventIDHeader = "Slipway-Event-Id"
	// TriggerTimestampHeader is when this delivery was signed, in Unix seconds.
	TriggerTimestampHeader = "Slipway-Timestamp"
	// TriggerSignatureHeader is "sha256=" and the hex HMAC-SHA256, keyed with the trigger's
	// secret, of the timestamp header's value, a ".", and the body.
	TriggerSignatureHeader = "Slipway-Signature"
)

// TriggerMessage is the JSON body of a trigger's POST: CodeDeploy's trigger message fields
// (camelCase, statuses spelled as CodeDeploy spells them), with RFC 3339 times. Instance fields
// are set for Instance* events only; RollbackDeploymentID for a deployment that was rolled back,
// RollbackOf for a rollback deployment.
type TriggerMessage struct {
	EventID              string        `json:"eventId"`
	EventType            string        `json:"eventType"`
	EventTriggerName     string        `json:"eventTriggerName"`
	ApplicationName      string        `json:"applicationName"`
	DeploymentGroupName  string        `json:"deploymentGroupName"`
	DeploymentID         string        `json:"deploymentId"`
	RevisionID           string        `json:"revisionId"`
	Status               string        `json:"status"` // IN_PROGRESS, SUCCEEDED, FAILED, STOPPED
	CreateTime           time.Time     `json:"createTime"`
	CompleteTime         *time.Time    `json:"completeTime,omitempty"`
	ErrorInformation     *TriggerError `json:"errorInformation,omitempty"`
	RollbackDeploymentID string        `json:"rollbackDeploymentId,omitempty"`
	RollbackOf           string        `json:"rollbackOf,omitempty"`
	InstanceID           string        `json:"instanceId,omitempty"`
	Hostname             string        `json:"hostname,omitempty"`
	InstanceStatus       string        `json:"instanceStatus,omitempty"` // Pending, InProgress, Succeeded, Failed, Skipped, Stopped
	LastUpdatedAt        *time.Time    `json:"lastUpdatedAt,omitempty"`
}

// TriggerError says why a deployment or host failed.
type TriggerError struct {
	ErrorMessage string `json:"errorMessage"`
}

// SignTrigger returns the Slipway-Signature value of body sent at timestamp (Unix seconds).
func SignTrigger(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrTriggerSignature is VerifyTrigger's refusal.
var ErrTriggerSignature = errors.New("trigger signature does not verify")

// VerifyTrigger checks a trigger's POST as a receiver should: the signature over the timestamp
// and the body, compared in constant time, and a timestamp within tolerance of now (a replayed
// request is refused once it is older). Receivers in other languages do the same: HMAC-SHA256
// with the secret over "<Slipway-Timestamp>.<body>", hex, compared with Slipway-Signature
// after its "sha256=".
func VerifyTrigger(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(h.Get(TriggerTimestampHeader), 10, 64)
	if err != nil {
		return ErrTriggerSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTriggerSignature
	}
	got := h.Get(TriggerSignatureHeader)
	if !strings.HasPrefix(got, "sha256=") || !hmac.Equal([]byte(got), []byte(SignTrigger(secret, ts, body))) {
		return ErrTriggerSignature
	}
	return nil
}

func triggerPath(app, group string) string {
	return groupPath(app) + "/" + url.PathEscape(group) + "/triggers"
}

// TriggerAdd adds a trigger to app's group; the answer holds its secret, shown this once.
func (c *Client) TriggerAdd(ctx context.Context, app, group string, req TriggerRequest) (*TriggerCreated, error) {
	var out TriggerCreated
	err := c.do(ctx, request{method: http.MethodPost, path: triggerPath(app, group), in: req, out: &out})
	return &out, err
}

// TriggerList lists app's group's triggers.
func (c *Client) TriggerList(ctx context.Context, app, group string, q *QueryOptions) (*TriggerList, error) {
	var out TriggerList
	err := c.do(ctx, request{method: http.MethodGet, path: triggerPath(app, group), query: q.values(), out: &out})
	return &out, err
}

// TriggerRemove removes a trigger of app's group; its undelivered events are dropped.
func (c *Client) TriggerRemove(ctx context.Context, app, group, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: triggerPath(app, group) + "/" + url.PathEscape(name)})
}
