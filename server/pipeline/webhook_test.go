package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/webhook"
)

// TestWebhookStart: a start signed with the pipeline's webhook secret starts an execution
// (trigger webhook, the body's variables); a bad signature, a stale timestamp and a pipeline
// without a webhook are refused 401 alike; the same delivery sent again starts nothing.
func TestWebhookStart(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	wire(c, newFake(), fixed)
	ctx, cl := context.Background(), c.Client(0)
	def := definition("web", "web", "") + "  variables:\n    - {name: env, defaultValue: dev}\n"
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: def}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("nohook", "web", "")}); err != nil {
		t.Fatal(err)
	}
	const secret = "0123456789abcdef-secret"
	if _, err := cl.PipelineWebhookSet(ctx, "web", pub.PipelineWebhookRequest{Secret: "short"}); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("a short secret: %v, want bad request", err)
	}
	p, err := cl.PipelineWebhookSet(ctx, "web", pub.PipelineWebhookRequest{Secret: secret})
	if err != nil || !p.Webhook {
		t.Fatalf("set the webhook: %+v, %v", p, err)
	}
	post := func(name, key string, body []byte, ts time.Time, delivery string) (int, []byte) {
		req, _ := http.NewRequest("POST", c.URL(0)+"/v1/pipelines/"+name+"/webhook/start", bytes.NewReader(body))
		req.Header.Set(pub.HookSignatureHeader, webhook.Sign([]byte(key), body))
		req.Header.Set(pub.HookTimestampHeader, strconv.FormatInt(ts.Unix(), 10))
		if delivery != "" {
			req.Header.Set(pub.HookDeliveryHeader, delivery)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, raw
	}
	body := []byte(`{"variables":{"env":"prod"}}`)
	now := time.Now()
	for _, bad := range []struct {
		what, name, key string
		ts              time.Time
	}{
		{"a wrong secret", "web", "another-secret-0123456", now},
		{"a stale timestamp", "web", secret, now.Add(-10 * time.Minute)},
		{"a pipeline without a webhook", "nohook", secret, now},
		{"no such pipeline", "nosuch", secret, now},
	} {
		status, raw := post(bad.name, bad.key, body, bad.ts, "")
		var eb pub.ErrorBody
		_ = json.Unmarshal(raw, &eb)
		if status != http.StatusUnauthorized || eb.Error.Message == "" {
			t.Errorf("%s: status %d %s; want 401", bad.what, status, raw)
		}
	}
	status, raw := post("web", secret, body, now, "d-1")
	if status != http.StatusCreated {
		t.Fatalf("a signed start: status %d %s", status, raw)
	}
	var e pub.PipelineExecution
	if err := json.Unmarshal(raw, &e); err != nil || e.Trigger.Type != pub.TriggerWebhook || e.Variables["env"] != "prod" {
		t.Fatalf("the started execution: %s, %v", raw, err)
	}
	if status, raw := post("web", secret, body, now, "d-1"); status != http.StatusConflict {
		t.Fatalf("the same delivery again: status %d %s; want 409", status, raw)
	}
	l, err := cl.PipelineHistory(ctx, "web", nil)
	if err != nil || len(l.Executions) != 1 {
		t.Fatalf("history: %+v, %v; want the one webhook start", l, err)
	}
}
