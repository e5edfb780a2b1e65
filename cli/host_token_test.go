package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestHostTokenCommands runs create, list, get and revoke against a real server.
func TestHostTokenCommands(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cli := func(args ...string) result {
		return runWith(t, ctx, nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}

	r := cli("host", "token", "create", "--tag", "env=dev", "--allow-tag", "role=*", "--max-uses", "2", "--output", "json")
	var raw map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &raw) != nil {
		t.Fatalf("create: %+v", r)
	}
	exp, ok := raw["expires_at"].(string)
	if !ok {
		t.Fatalf("create --output json has no expires_at: %s", r.stdout)
	}
	at, err := time.Parse(time.RFC3339Nano, exp)
	if err != nil || time.Until(at) < 23*time.Hour || time.Until(at) > 25*time.Hour {
		t.Fatalf("expires_at %q: want about 24h from now (%v)", exp, err)
	}
	accessor, _ := raw["accessor_id"].(string)
	if raw["token"] == "" || accessor == "" || raw["max_uses"] != float64(2) {
		t.Fatalf("create: %s", r.stdout)
	}

	r = cli("host", "token", "create", "--ttl", "0")
	if r.code != 0 || !strings.Contains(r.stderr, "never expires") || !strings.Contains(r.stdout, "Expires") || !strings.Contains(r.stdout, "never") {
		t.Fatalf("create --ttl 0: want a warning on stderr and Expires never: %+v", r)
	}
	if r := cli("host", "token", "create", "--ttl", "soon"); r.code != 2 {
		t.Fatalf("create --ttl soon: want usage error, got %+v", r)
	}

	r = cli("host", "token", "list")
	if r.code != 0 || !strings.Contains(r.stdout, accessor) || !strings.Contains(r.stdout, "role=*") || !strings.Contains(r.stdout, "0/2") {
		t.Fatalf("list: %+v", r)
	}
	r = cli("host", "token", "get", accessor, "--output", "json")
	var got api.HostToken
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil || got.Token != "" || got.AccessorID != accessor || got.Status != api.HostTokenActive {
		t.Fatalf("get: %+v", r)
	}
	if r := cli("host", "token", "revoke", accessor); r.code != 0 || !strings.Contains(r.stdout, "Revoked") {
		t.Fatalf("revoke: %+v", r)
	}
	if r := cli("host", "token", "get", accessor); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("get after revoke: %+v", r)
	}
}
