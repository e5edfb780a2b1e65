package deploy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestPostSignsAndRefuses: a delivery is signed so that api.VerifyTrigger accepts it (and not
// with another secret), a redirect is a failure and not followed, a non-2xx answer is a failure,
// and a URL that is not http(s) is never requested.
func TestPostSignsAndRefuses(t *testing.T) {
	var redirected atomic.Int32
	var verified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		case "/elsewhere":
			redirected.Add(1)
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			body, _ := io.ReadAll(r.Body)
			if pub.VerifyTrigger("whsec_x", r.Header, body, time.Now(), time.Minute) == nil &&
				pub.VerifyTrigger("whsec_other", r.Header, body, time.Now(), time.Minute) != nil &&
				r.Header.Get(pub.TriggerEventIDHeader) == "id-1" && r.Header.Get(pub.TriggerEventHeader) == EventDeploymentStart {
				verified.Add(1)
			}
		}
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ev := outboxEvent{ID: "id-1", Event: EventDeploymentStart, Body: []byte(`{"eventId":"id-1"}`)}
	ctx := context.Background()
	if err := post(ctx, client, srv.URL+"/hook", "whsec_x", ev, 1); err != nil || verified.Load() != 1 {
		t.Fatalf("signed delivery: %v, verified %d", err, verified.Load())
	}
	if err := post(ctx, client, srv.URL+"/redirect", "whsec_x", ev, 1); err == nil || redirected.Load() != 0 {
		t.Fatalf("a redirect: %v, followed %d times", err, redirected.Load())
	}
	if err := post(ctx, client, srv.URL+"/down", "whsec_x", ev, 1); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a 503: %v", err)
	}
	if err := post(ctx, client, "file:///etc/passwd", "whsec_x", ev, 1); err == nil {
		t.Fatal("a file URL was accepted")
	}
	// A replayed request is refused once older than the tolerance.
	h := http.Header{}
	h.Set(pub.TriggerTimestampHeader, "1700000000")
	h.Set(pub.TriggerSignatureHeader, pub.SignTrigger("whsec_x", 1700000000, ev.Body))
	if err := pub.VerifyTrigger("whsec_x", h, ev.Body, time.Unix(1700000000, 0).Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Fatal("a stale signature verified")
	}
	if err := pub.VerifyTrigger("whsec_x", h, ev.Body, time.Unix(1700000030, 0), 5*time.Minute); err != nil {
		t.Fatalf("a fresh signature: %v", err)
	}
}
