package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/server/core/webhook"
)

func TestSignVerify(t *testing.T) {
	sig := webhook.Sign([]byte("s3cret"), []byte(`{"a":1}`))
	// echo -n '{"a":1}' | openssl dgst -sha256 -hmac s3cret
	if !webhook.Verify([]byte("s3cret"), []byte(`{"a":1}`), sig) || webhook.Verify([]byte("other"), []byte(`{"a":1}`), sig) {
		t.Fatalf("signature %s does not verify as it should", sig)
	}
	if len(sig) != len("sha256=")+64 {
		t.Fatalf("signature %q: want sha256= and 64 hex digits", sig)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 20: time.Minute, 100: time.Minute} {
		if got := webhook.Backoff(time.Second, time.Minute, n); got != want {
			t.Errorf("Backoff(1s, 1m, %d) = %v, want %v", n, got, want)
		}
	}
}

func TestPublic(t *testing.T) {
	for a, want := range map[string]bool{"127.0.0.1": false, "10.1.2.3": false, "192.168.1.1": false, "169.254.169.254": false,
		"::1": false, "fe80::1": false, "fd00::1": false, "100.64.1.1": false, "0.0.0.0": false, "::ffff:127.0.0.1": false,
		"8.8.8.8": true, "2606:4700::1111": true} {
		if got := webhook.Public(netip.MustParseAddr(a)); got != want {
			t.Errorf("Public(%s) = %v, want %v", a, got, want)
		}
	}
}

func TestPrivateRefusedAtDial(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	// "localhost" is a name: the check is on the address it resolves to.
	url := "http://localhost:" + srv.URL[len("http://127.0.0.1:"):]
	r := webhook.NewClient(webhook.Options{}).Post(context.Background(), url, nil, []byte("{}"))
	if !errors.Is(r.Err, webhook.ErrForbiddenAddress) || hits != 0 {
		t.Fatalf("post to %s: err %v, %d requests received; want refused before connecting", url, r.Err, hits)
	}
	r = webhook.NewClient(webhook.Options{AllowPrivate: true}).Post(context.Background(), url, nil, []byte("{}"))
	if r.Err != nil || r.Status != 200 || hits != 1 {
		t.Fatalf("post with AllowPrivate: %+v, %d hits", r, hits)
	}
}

func TestNon2xxAndRedirectFail(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	c := webhook.NewClient(webhook.Options{AllowPrivate: true})
	if r := c.Post(context.Background(), srv.URL, nil, nil); r.Err == nil || r.Status != 500 {
		t.Fatalf("500: %+v", r)
	}
	if r := c.Post(context.Background(), srv.URL+"/redirect", nil, nil); r.Err == nil || r.Status != 302 {
		t.Fatalf("redirect: %+v", r)
	}
}
