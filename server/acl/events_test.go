package acl_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestTokenEventsOnlyForManagement: the service declares its token changes secret
// (Registry.SecretEvents), so a client token's /v1/events stream never carries them while a
// management token's does; both carry other services' changes.
func TestTokenEventsOnlyForManagement(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	mgmt := c.Client(0)
	tok, err := mgmt.TokenCreate(ctx, "watcher", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	client := c.ClientWithToken(0, tok.SecretID)

	type seen struct {
		name string
		e    pub.Event
	}
	events := make(chan seen, 256)
	watch := func(name string, cl *pub.Client) {
		go func() {
			_ = cl.Events(ctx, nil, "", func(e pub.Event) error {
				select {
				case events <- seen{name, e}:
				case <-ctx.Done():
				}
				return nil
			})
		}()
	}
	watch("management", mgmt)
	watch("client", client)

	// Both streams are live once each has seen a marker written after it opened.
	live := map[string]bool{}
	for i := 0; len(live) < 2; i++ {
		if _, err := mgmt.KVPut(ctx, "test/marker", []byte{byte(i)}, nil); err != nil {
			t.Fatal(err)
		}
		wait := time.After(200 * time.Millisecond)
	drain:
		for {
			select {
			case s := <-events:
				if s.e.Kind == "kv" {
					live[s.name] = true
				}
			case <-wait:
				break drain
			case <-ctx.Done():
				t.Fatal("the streams did not open")
			}
		}
	}

	if _, err := mgmt.TokenCreate(ctx, "secret-change", pub.TokenTypeClient, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.KVPut(ctx, "test/after", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	// Events come in commit order: once a stream has the marker written after the token, it
	// has had every event before it.
	sawToken := map[string]bool{}
	done := map[string]bool{}
	for len(done) < 2 {
		select {
		case s := <-events:
			switch {
			case s.e.Kind == "token":
				sawToken[s.name] = true
			case s.e.Kind == "kv" && s.e.Resource == "test/after":
				done[s.name] = true
			}
		case <-ctx.Done():
			t.Fatalf("streams did not reach the last marker: %v", done)
		}
	}
	if !sawToken["management"] {
		t.Error("the management token's stream did not carry the token change")
	}
	if sawToken["client"] {
		t.Error("a client token's stream carried a token change: token events are for management tokens only")
	}
}
