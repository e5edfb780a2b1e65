package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/core/webhook"
)

// The webhook start (POST /v1/pipelines/{name}/webhook/start) takes no token: the caller
// says when it sent the request (X-Slipway-Timestamp: Unix seconds, within webhookSkew of the
// server's clock) and signs the timestamp with the body under the pipeline's webhook secret
// (X-Slipway-Signature-256: sha256=HEX, the HMAC-SHA256 of "TIMESTAMP.BODY"), so a captured
// request cannot be sent again later with a fresh timestamp. An optional
// X-Slipway-Delivery names the delivery: it is the start's idempotency key, so a delivery sent
// again is answered with the execution the first one started, on any server, and this server
// refuses one it accepted within the last hour outright.
const (
	maxWebhookBody    = 64 << 10
	webhookSkew       = 5 * time.Minute
	deliveryMemory    = time.Hour
	maxDeliveriesKept = 10000
	minWebhookSecret  = 16
	maxWebhookSecret  = 256
)

var deliveryRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// errBadSignature is every refused webhook start's answer: it does not say which part failed
// (no such pipeline, no webhook, the timestamp, the signature).
var errBadSignature = fault.New(fault.Unauthorized, "the webhook start is not signed with the pipeline's webhook secret, or its timestamp is not within 5 minutes of the server's clock")

// webhookAAD binds a sealed webhook secret to its pipeline.
func webhookAAD(name string) []byte { return []byte("pipeline-webhook:" + name) }

// SetWebhook sets up (or replaces) pipeline name's webhook start with secret (16-256
// characters), sealed with the cluster's data key; "" removes it.
func (p *Pipelines) SetWebhook(ctx context.Context, name, secret string) (pub.Pipeline, error) {
	if err := ValidateName(name); err != nil {
		return pub.Pipeline{}, err
	}
	pl := WebhookPayload{Name: name}
	if secret != "" {
		if len(secret) < minWebhookSecret || len(secret) > maxWebhookSecret {
			return pub.Pipeline{}, fault.New(fault.Invalid, "a webhook secret is %d-%d characters (e.g. 'openssl rand -hex 32')", minWebhookSecret, maxWebhookSecret)
		}
		sealed, err := p.m.core.Keyring.Seal([]byte(secret), webhookAAD(name))
		if err != nil {
			return pub.Pipeline{}, fault.New(fault.Unavailable, "cannot seal the webhook secret now: %v", err)
		}
		pl.Sealed = sealed
	}
	res, err := command.Propose(ctx, p.m.core.Cluster, cmdWebhook, p.m.core.Now(), pl)
	return recordAnswer(res, err)
}

// webhookStart serves a signed webhook start: the body is a pub.PipelineStartRequest (or
// empty); the answer is the execution started (201).
func (m *Module) webhookStart(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	addr := remoteAddr(r)
	if wait := m.core.HTTP.AuthLimited(addr); wait > 0 {
		return fault.New(fault.TooMany, "too many failed webhook starts from your address: try again in %s", wait.Round(time.Second))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		return fault.New(fault.Invalid, "read the body: %v", err)
	}
	if len(body) > maxWebhookBody {
		return fault.New(fault.TooLarge, "a webhook start's body is at most %d bytes", maxWebhookBody)
	}
	name, now := r.PathValue("name"), time.Now()
	if !m.verifyStart(name, body, r.Header, now) {
		m.core.HTTP.AuthFailed(addr)
		return errBadSignature
	}
	delivery := r.Header.Get(pub.HookDeliveryHeader)
	if delivery != "" && !deliveryRE.MatchString(delivery) {
		return fault.New(fault.Invalid, "%s must be 1-64 characters of A-Z a-z 0-9 _ . : -", pub.HookDeliveryHeader)
	}
	if delivery != "" && !m.rememberDelivery(name+"/"+delivery, now) {
		return fault.New(fault.Conflict, "delivery %s was accepted already", delivery)
	}
	var req pub.PipelineStartRequest
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return fault.New(fault.Invalid, "the body is not a start request (variables, source_revisions): %v", err)
		}
	}
	ctx, cancel := m.core.HTTP.WaitContext(r)
	defer cancel()
	if delivery != "" {
		ctx = command.WithRequestID(ctx, "pipeline-webhook/"+name+"/"+delivery)
	}
	t := pub.PipelineTrigger{Type: pub.TriggerWebhook, Detail: delivery}
	e, err := m.Pipelines().start(ctx, name, t, req)
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusCreated, e)
	return nil
}

// verifyStart reports whether body is signed with pipeline name's webhook secret and its
// timestamp is within webhookSkew of now.
func (m *Module) verifyStart(name string, body []byte, h http.Header, now time.Time) bool {
	stamp := h.Get(pub.HookTimestampHeader)
	ts, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > webhookSkew || d < -webhookSkew {
		return false
	}
	if ValidateName(name) != nil {
		return false
	}
	var sealed []byte
	_ = m.core.State.View(func(tx *state.Tx) error {
		r, ok, err := loadRecord(tx, name)
		if err == nil && ok {
			sealed = r.Webhook
		}
		return nil
	})
	if sealed == nil {
		return false
	}
	secret, err := m.core.Keyring.Open(sealed, webhookAAD(name))
	if err != nil {
		return false
	}
	return webhook.Verify(secret, SignedStart(stamp, body), h.Get(pub.HookSignatureHeader))
}

// SignedStart is what a webhook start's signature covers: the timestamp header's value, a dot,
// then the body.
func SignedStart(timestamp string, body []byte) []byte {
	return append([]byte(timestamp+"."), body...)
}

// rememberDelivery records a delivery key accepted at now; false when this server accepted it
// within deliveryMemory. Entries older than that are dropped; at most maxDeliveriesKept are
// kept (the oldest go first), past which the request ID's idempotency still answers a replay
// with the first start's execution.
func (m *Module) rememberDelivery(key string, now time.Time) bool {
	m.svc.mu.Lock()
	defer m.svc.mu.Unlock()
	if m.svc.deliveries == nil {
		m.svc.deliveries = map[string]time.Time{}
	}
	if at, ok := m.svc.deliveries[key]; ok && now.Sub(at) < deliveryMemory {
		return false
	}
	if len(m.svc.deliveries) >= maxDeliveriesKept {
		var oldest string
		var oldestAt time.Time
		for k, at := range m.svc.deliveries {
			if now.Sub(at) >= deliveryMemory {
				delete(m.svc.deliveries, k)
				continue
			}
			if oldest == "" || at.Before(oldestAt) {
				oldest, oldestAt = k, at
			}
		}
		if len(m.svc.deliveries) >= maxDeliveriesKept {
			delete(m.svc.deliveries, oldest)
		}
	}
	m.svc.deliveries[key] = now
	return true
}

// remoteAddr is the request's peer address (the zero Addr when it does not parse).
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
