package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// agent is a registration as slipway-agent would send it.
func agent(id, name string, tags map[string]string) agentproto.Register {
	return agentproto.Register{HostID: id, Secret: "slwh_secret-of-" + id + "-0123456789abcdefghij", Name: name, Tags: tags,
		Hostname: name + ".example.com", OS: "linux", Arch: "amd64", AgentVersion: "v1.0.0"}
}

// register posts a registration to url with a registration token.
func register(t *testing.T, url, token string, reg agentproto.Register) (int, pub.ErrorBody) {
	t.Helper()
	body, _ := json.Marshal(reg)
	status, eb, _ := call(t, "POST", url+"/v1/agent/register", token, bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
	return status, eb
}

func mustRegister(t *testing.T, url, token string, reg agentproto.Register) {
	t.Helper()
	if status, eb := register(t, url, token, reg); status != http.StatusOK {
		t.Fatalf("register %s: status %d: %+v", reg.Name, status, eb)
	}
}

// refused checks a refusal's status, code and that its message says each of wants.
func refused(t *testing.T, what string, status int, eb pub.ErrorBody, wantStatus int, wants ...string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d (%+v), want %d", what, status, eb, wantStatus)
	}
	for _, w := range wants {
		if !strings.Contains(eb.Error.Message, w) {
			t.Fatalf("%s: message %q does not say %q", what, eb.Error.Message, w)
		}
	}
}

func TestHostTokenDefaultsListGetRevoke(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	before := time.Now()
	tok, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{Tags: map[string]string{"env": "dev"}, AllowTags: []string{"role=*"}, MaxUses: 3})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresAt == nil || tok.ExpirationTime == nil || !tok.ExpiresAt.Equal(*tok.ExpirationTime) {
		t.Fatalf("a token created without a ttl must expire (expires_at %v, expiration_time %v)", tok.ExpiresAt, tok.ExpirationTime)
	}
	if d := tok.ExpiresAt.Sub(before); d < 24*time.Hour-time.Minute || d > 24*time.Hour+time.Minute {
		t.Fatalf("default ttl is %s, want 24h", d)
	}
	raw, _ := json.Marshal(tok)
	if !bytes.Contains(raw, []byte(`"expires_at":"`)) {
		t.Fatalf("the created token's JSON has no expires_at: %s", raw)
	}

	never, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{TTL: pub.HostTokenTTLNever})
	if err != nil || never.ExpiresAt != nil {
		t.Fatalf("ttl never: %+v, %v", never, err)
	}
	for _, ttl := range []string{"0", "0s", "-1h", "forever"} {
		if _, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{TTL: ttl}); pub.ErrorCode(err) != pub.CodeBadRequest || !strings.Contains(err.Error(), `"never"`) {
			t.Fatalf("ttl %q: want bad request naming \"never\", got %v", ttl, err)
		}
	}
	for _, bad := range []pub.HostTokenCreateRequest{{AllowTags: []string{"role"}}, {AllowTags: []string{"role=[a-"}}, {MaxUses: -1}, {Tags: map[string]string{"env": "a\x1bb"}}} {
		if _, err := admin.HostTokenCreate(ctx, bad); pub.ErrorCode(err) != pub.CodeBadRequest {
			t.Fatalf("%+v: want bad request, got %v", bad, err)
		}
	}

	mustRegister(t, c.URL(0), tok.Token, agent("host-a", "a", map[string]string{"role": "web"}))
	got, err := admin.HostTokenGet(ctx, tok.AccessorID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != "" || got.Uses != 1 || got.MaxUses != 3 || got.Status != pub.HostTokenActive || got.Tags["env"] != "dev" ||
		len(got.AllowTags) != 1 || got.AllowTags[0] != "role=*" || got.ExpiresAt == nil {
		t.Fatalf("get = %+v", got)
	}
	list, err := admin.HostTokenList(ctx, nil)
	if err != nil || len(list.HostTokens) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, l := range list.HostTokens {
		if l.Token != "" {
			t.Fatalf("list shows a secret: %+v", l)
		}
	}

	reader, err := admin.TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientWithToken(0, reader.SecretID).HostTokenList(ctx, nil); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("client token lists registration tokens: %v", err)
	}
	if err := c.ClientWithToken(0, reader.SecretID).HostTokenRevoke(ctx, tok.AccessorID); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("client token revokes a registration token: %v", err)
	}

	if err := admin.HostTokenRevoke(ctx, tok.AccessorID); err != nil {
		t.Fatal(err)
	}
	status, eb := register(t, c.URL(0), tok.Token, agent("host-b", "b", nil))
	refused(t, "register with a revoked token", status, eb, http.StatusUnauthorized, "slipway host token create")
	if _, err := admin.HostTokenGet(ctx, tok.AccessorID, nil); !pub.IsNotFound(err) {
		t.Fatalf("get revoked: %v", err)
	}
	if err := admin.HostTokenRevoke(ctx, tok.AccessorID); !pub.IsNotFound(err) {
		t.Fatalf("revoke twice: %v", err)
	}
	if _, err := admin.HostGet(ctx, "a", nil); err != nil {
		t.Fatalf("a host registered by a revoked token keeps working: %v", err)
	}
}

func TestHostTokenExpiredAndUsedUp(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)

	once, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{MaxUses: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := agent("host-a", "a", nil)
	mustRegister(t, c.URL(0), once.Token, a)
	mustRegister(t, c.URL(0), once.Token, a) // the same host again uses nothing
	status, eb := register(t, c.URL(0), once.Token, agent("host-b", "b", nil))
	refused(t, "a second new host on a one-use token", status, eb, http.StatusUnauthorized, "maximum of 1 hosts", "slipway host token create")
	got, err := admin.HostTokenGet(ctx, once.AccessorID, nil)
	if err != nil || got.Uses != 1 || got.Status != pub.HostTokenUsedUp {
		t.Fatalf("used-up token = %+v, %v", got, err)
	}
	if _, err := admin.HostGet(ctx, "b", nil); !pub.IsNotFound(err) {
		t.Fatalf("host b registered with a used-up token: %v", err)
	}

	short, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{TTL: "1s"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	testutil.Eventually(t, 15*time.Second, func() error {
		n++
		status, eb := register(t, c.URL(0), short.Token, agent(fmt.Sprintf("late-%d", n), fmt.Sprintf("late-%d", n), nil))
		if status == http.StatusOK {
			return fmt.Errorf("the 1s token still registers")
		}
		refused(t, "expired token", status, eb, http.StatusUnauthorized, "expired at", "slipway host token create")
		return nil
	})
	got, err = admin.HostTokenGet(ctx, short.AccessorID, nil)
	if err != nil || got.Status != pub.HostTokenExpired {
		t.Fatalf("expired token = %+v, %v", got, err)
	}
}

// TestTokenTagsAreAuthoritative: a token for env=dev cannot put a host into a prod group, and an
// agent may add only the tags the token allows.
func TestTokenTagsAreAuthoritative(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	dev, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{Tags: map[string]string{"env": "dev"}, AllowTags: []string{"role=*"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GroupCreate(ctx, "web", pub.GroupRequest{Name: "prod", Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}

	status, eb := register(t, c.URL(0), dev.Token, agent("sneaky", "sneaky", map[string]string{"env": "prod"}))
	refused(t, "agent env=prod on an env=dev token", status, eb, http.StatusForbidden, "env=prod", "env=dev")
	status, eb = register(t, c.URL(0), dev.Token, agent("sneaky", "sneaky", map[string]string{"zone": "eu"}))
	refused(t, "agent tag no pattern allows", status, eb, http.StatusForbidden, "zone=eu", "role=*")
	if _, err := admin.HostGet(ctx, "sneaky", &pub.QueryOptions{Consistent: true}); !pub.IsNotFound(err) {
		t.Fatalf("a refused host was registered: %v", err)
	}
	g, err := admin.GroupGet(ctx, "web", "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 0 {
		t.Fatalf("the prod group has members after refused registrations: %+v", g.Members)
	}

	mustRegister(t, c.URL(0), dev.Token, agent("ok", "ok", map[string]string{"role": "web", "env": "dev"}))
	h, err := admin.HostGet(ctx, "ok", nil)
	if err != nil || len(h.Tags) != 2 || h.Tags["env"] != "dev" || h.Tags["role"] != "web" {
		t.Fatalf("host = %+v, %v", h, err)
	}
}

// TestReRegistrationKeepsOperatorTags: an agent restarting (registering again) never undoes what
// an operator set or removed.
func TestReRegistrationKeepsOperatorTags(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	tok, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{Tags: map[string]string{"env": "dev"}, AllowTags: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	a := agent("host-a", "a", map[string]string{"role": "web", "canary": "yes", "zone": "eu"})
	mustRegister(t, c.URL(0), tok.Token, a)
	if _, err := admin.HostTag(ctx, "a", pub.HostTagRequest{Set: map[string]string{"quarantined": "yes", "role": "db"}, Remove: []string{"canary"}}); err != nil {
		t.Fatal(err)
	}
	a.Tags["zone"] = "us" // the agent's own tag, which no operator touched, may change
	mustRegister(t, c.URL(0), tok.Token, a)
	h, err := admin.HostGet(ctx, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"env": "dev", "role": "db", "quarantined": "yes", "zone": "us"}
	if fmt.Sprint(h.Tags) != fmt.Sprint(want) {
		t.Fatalf("tags after re-registration = %v, want %v", h.Tags, want)
	}
}

func TestDeletedHostCannotReturn(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	tok, err := admin.HostTokenCreate(ctx, pub.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	a := agent("host-a", "a", nil)
	mustRegister(t, c.URL(0), tok.Token, a)
	if err := admin.HostDelete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	status, eb := register(t, c.URL(0), tok.Token, a)
	refused(t, "deleted host with its old id and secret", status, eb, http.StatusConflict, "fresh identity", "identity.json", "new registration token")
	a.Secret = "slwh_another-secret-0123456789abcdefghijklmnop"
	status, eb = register(t, c.URL(0), tok.Token, a)
	refused(t, "deleted host id with a new secret", status, eb, http.StatusConflict, "fresh identity")
	if _, err := admin.HostGet(ctx, "a", nil); !pub.IsNotFound(err) {
		t.Fatalf("deleted host came back: %v", err)
	}
	mustRegister(t, c.URL(0), tok.Token, agent("host-a2", "a", nil)) // a fresh identity may take the name
}

func TestRegistrationFieldBounds(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	tok, err := c.Client(0).HostTokenCreate(ctx, pub.HostTokenCreateRequest{AllowTags: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	many := map[string]string{}
	for i := range 65 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	cases := []struct {
		name string
		edit func(r *agentproto.Register)
		want string
	}{
		{"900 KB hostname", func(r *agentproto.Register) { r.Hostname = strings.Repeat("a", 900<<10) }, "hostname"},
		{"hostile host id", func(r *agentproto.Register) { r.HostID = "../../x\x1b[31m\n" }, "host id"},
		{"65-byte host id", func(r *agentproto.Register) { r.HostID = strings.Repeat("a", 65) }, "host id"},
		{"64-byte name", func(r *agentproto.Register) { r.Name = strings.Repeat("n", 64) }, "host name"},
		{"name with a slash", func(r *agentproto.Register) { r.Name = "a/b" }, "host name"},
		{"hostname with a space", func(r *agentproto.Register) { r.Hostname = "a b" }, "hostname"},
		{"os with a newline", func(r *agentproto.Register) { r.OS = "linux\n" }, "os"},
		{"long agent version", func(r *agentproto.Register) { r.AgentVersion = strings.Repeat("1", 65) }, "agent_version"},
		{"tag value with an escape", func(r *agentproto.Register) { r.Tags = map[string]string{"role": "web\x1b[0m"} }, "tag role"},
		{"long tag value", func(r *agentproto.Register) { r.Tags = map[string]string{"role": strings.Repeat("w", 257)} }, "tag role"},
		{"bad tag key", func(r *agentproto.Register) { r.Tags = map[string]string{"a b": "x"} }, "tag key"},
		{"65 tags", func(r *agentproto.Register) { r.Tags = many }, "65 tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := agent("host-x", "x", nil)
			tc.edit(&r)
			status, eb := register(t, c.URL(0), tok.Token, r)
			refused(t, tc.name, status, eb, http.StatusBadRequest, tc.want)
			if len(eb.Error.Message) > 600 || strings.ContainsAny(eb.Error.Message, "\x1b\n") {
				t.Fatalf("the message echoes the bad value: %q", eb.Error.Message)
			}
		})
	}
	l, err := c.Client(0).HostList(ctx, nil)
	if err != nil || len(l.Hosts) != 0 {
		t.Fatalf("refused registrations left hosts: %+v, %v", l, err)
	}
	if _, err := c.Client(0).HostTag(ctx, "x", pub.HostTagRequest{Set: map[string]string{"k": "a\tb"}}); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("operator tag with a control character: want bad request, got %v", err)
	}
}

func TestMaxHosts(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.Agents.MaxHosts = 2 }})
	ctx := context.Background()
	tok, err := c.Client(0).HostTokenCreate(ctx, pub.HostTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, c.URL(0), tok.Token, agent("h1", "h1", nil))
	mustRegister(t, c.URL(0), tok.Token, agent("h2", "h2", nil))
	status, eb := register(t, c.URL(0), tok.Token, agent("h3", "h3", nil))
	refused(t, "a host beyond the cap", status, eb, http.StatusConflict, "maximum of 2 hosts", "agents.max_hosts", "--max-hosts")
	mustRegister(t, c.URL(0), tok.Token, agent("h2", "h2", nil)) // registering again is not a new host
	if err := c.Client(0).HostDelete(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, c.URL(0), tok.Token, agent("h3", "h3", nil))
	got, err := c.Client(0).HostTokenGet(ctx, tok.AccessorID, nil)
	if err != nil || got.Uses != 3 {
		t.Fatalf("uses = %+v, %v; want 3 (the refused and repeated registrations use none)", got, err)
	}
}
