package fleet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fleet"
)

// TestTokenCreateBounds: ttl, max_uses, tags and allowed tags are refused with the messages the
// API answers, before anything is proposed.
func TestTokenCreateBounds(t *testing.T) {
	c := newCluster(t)
	tokens := newTokens(c, &clock{t: t0})
	for _, tc := range []struct {
		req  pub.HostTokenCreateRequest
		want string
	}{
		{pub.HostTokenCreateRequest{TTL: "soon"}, `ttl "soon" is not a positive duration such as 1h or 24h (for a token that never expires, say "never")`},
		{pub.HostTokenCreateRequest{TTL: "-1h"}, `ttl "-1h" is not a positive duration`},
		{pub.HostTokenCreateRequest{TTL: "0s"}, `ttl "0s" is not a positive duration`},
		{pub.HostTokenCreateRequest{MaxUses: -1}, "max_uses -1 is out of range: give 1-1000000, or 0 for no limit"},
		{pub.HostTokenCreateRequest{MaxUses: fleet.MaxTokenUses + 1}, "max_uses 1000001 is out of range"},
		{pub.HostTokenCreateRequest{Tags: map[string]string{"bad key": "x"}}, `tag key "bad key" is invalid`},
		{pub.HostTokenCreateRequest{AllowTags: []string{"zone=[a-"}}, `--allow-tag "zone=[a-" is not a valid pattern`},
	} {
		_, err := tokens.Create(ctx, tc.req)
		wantFault(t, err, fault.Invalid, tc.want)
	}
	list, _, err := tokens.List(ctx, "", 100)
	if err != nil || len(list) != 0 {
		t.Fatalf("a refused create proposed a token: %+v, %v", list, err)
	}
}

// TestTokenCreateShowsSecretOnce: the secret and the CA pin come with the create answer only;
// the default ttl, "never" and the bounds' edges are accepted; a retried request is a conflict.
func TestTokenCreateShowsSecretOnce(t *testing.T) {
	c := newCluster(t)
	clk := &clock{t: t0}
	tokens := newTokens(c, clk)
	tok, err := tokens.Create(ctx, pub.HostTokenCreateRequest{Tags: map[string]string{"role": "web"}, AllowTags: []string{"zone=*"}, MaxUses: fleet.MaxTokenUses})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Token, fleet.RegistrationPrefix) || tok.CAPin != "sha256:pin" || tok.Status != pub.HostTokenActive {
		t.Fatalf("created: %+v", tok)
	}
	if tok.ExpirationTime == nil || !tok.ExpirationTime.Equal(t0.Add(pub.DefaultHostTokenTTL)) || tok.ExpiresAt != tok.ExpirationTime {
		t.Fatalf("default expiry %v, want %v", tok.ExpirationTime, t0.Add(pub.DefaultHostTokenTTL))
	}
	got, err := tokens.Get(ctx, tok.AccessorID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != "" || got.CAPin != "" || got.Tags["role"] != "web" || fmt.Sprint(got.AllowTags) != "[zone=*]" || got.MaxUses != fleet.MaxTokenUses {
		t.Fatalf("get shows: %+v", got)
	}

	never, err := tokens.Create(ctx, pub.HostTokenCreateRequest{TTL: pub.HostTokenTTLNever})
	if err != nil || never.ExpirationTime != nil {
		t.Fatalf("never: %+v, %v", never, err)
	}
	short, err := tokens.Create(ctx, pub.HostTokenCreateRequest{TTL: "1h", MaxUses: 1})
	if err != nil || !short.ExpirationTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("1h: %+v, %v", short, err)
	}

	retry := command.WithRequestID(ctx, "req-1")
	if _, err := tokens.Create(retry, pub.HostTokenCreateRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = tokens.Create(retry, pub.HostTokenCreateRequest{})
	wantFault(t, err, fault.Conflict, "this request was already applied; its registration token was shown once: create another")

	// Status follows the clock and the uses.
	clk.t = t0.Add(time.Hour)
	if got, _ := tokens.Get(ctx, short.AccessorID); got.Status != pub.HostTokenExpired {
		t.Fatalf("at its expiry: %s", got.Status)
	}
	clk.t = t0
	propose(c, command.HostRegisterCmd, t0, command.HostRegister{HostID: "h1", SecretHash: hash('1'), Name: "alpha", Token: short.AccessorID})
	if got, _ := tokens.Get(ctx, short.AccessorID); got.Status != pub.HostTokenUsedUp || got.Uses != 1 {
		t.Fatalf("used once of once: %+v", got)
	}
}

// TestTokenListAndRevoke: List pages by accessor; a revoked token is gone and registers nothing.
func TestTokenListAndRevoke(t *testing.T) {
	c := newCluster(t)
	tokens := newTokens(c, &clock{t: t0})
	var ids []string
	for range 3 {
		tok, err := tokens.Create(ctx, pub.HostTokenCreateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.AccessorID)
	}
	page, next, err := tokens.List(ctx, "", 2)
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page: %d tokens, next %q, %v", len(page), next, err)
	}
	rest, next, err := tokens.List(ctx, next, 2)
	if err != nil || len(rest) != 1 || next != "" {
		t.Fatalf("second page: %d tokens, next %q, %v", len(rest), next, err)
	}
	for _, tok := range append(page, rest...) {
		if tok.Token != "" {
			t.Fatalf("a listed token shows its secret: %+v", tok)
		}
	}

	if err := tokens.Revoke(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	_, err = tokens.Get(ctx, ids[0])
	if fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("get a revoked token: %v", err)
	}
	_, err = command.Propose(ctx, c, command.HostRegisterCmd, t0, command.HostRegister{HostID: "h1", SecretHash: hash('1'), Name: "alpha", Token: ids[0]})
	if fault.CodeOf(err) != fault.Unauthorized {
		t.Fatalf("register with a revoked token: %v", err)
	}
}
