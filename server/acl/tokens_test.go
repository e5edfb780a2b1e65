package acl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/acl"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
)

// call sends a raw request and decodes the error body when there is one.
func call(t *testing.T, method, url, token string, body io.Reader) (int, pub.ErrorBody, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	var eb pub.ErrorBody
	_ = json.Unmarshal(raw, &eb)
	return resp.StatusCode, eb, raw
}

// routes are the routes the service declares, as the server registers them.
func routes() []api.Route {
	reg := module.NewRegistry(fsm.NewTable())
	reg.Add(&module.Core{}, acl.New(""))
	return reg.AllRoutes()
}

// TestRoutes pins the service's routes: the same method, pattern, access, action and resource
// they had in the core's table.
func TestRoutes(t *testing.T) {
	want := map[string]string{
		"POST /v1/acl/bootstrap":       "0  ",
		"POST /v1/tokens":              "2 iam:CreateToken token/*",
		"GET /v1/tokens":               "2 iam:ListTokens token/*",
		"GET /v1/tokens/self":          "1 sts:GetCallerIdentity token/self",
		"GET /v1/tokens/{accessor}":    "2 iam:GetToken token/{accessor}",
		"DELETE /v1/tokens/{accessor}": "2 iam:DeleteToken token/{accessor}",
	}
	got := map[string]string{}
	for _, rt := range routes() {
		if strings.HasPrefix(rt.Pattern, "/v1/iam/") || strings.HasPrefix(rt.Pattern, "/v1/sts/") {
			continue // the identity routes are newer; TestEveryRouteIsAuthorizedByPolicy covers them
		}
		got[rt.Method+" "+rt.Pattern] = fmt.Sprintf("%d %s %s", rt.Access, rt.Action, rt.Resource)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("routes:\n%v\nwant\n%v", got, want)
	}
}

// TestTokenGetAndList reads tokens back through the API: by accessor, in a list a page at a
// time, never with a secret; a client token may not.
func TestTokenGetAndList(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	tk, err := admin.TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := admin.TokenGet(ctx, tk.AccessorID, &pub.QueryOptions{Consistent: true})
	if err != nil || got.AccessorID != tk.AccessorID || got.Name != "reader" || got.Type != pub.TokenTypeClient || got.SecretID != "" || got.CreateIndex != tk.CreateIndex {
		t.Fatalf("get = %+v, %v; created %+v", got, err, tk)
	}
	if _, err := admin.TokenGet(ctx, "nope", nil); !pub.IsNotFound(err) {
		t.Fatalf("get a missing token: %v, want not found", err)
	}
	l, err := admin.TokenList(ctx, &pub.QueryOptions{Limit: 1})
	if err != nil || len(l.Tokens) != 1 || l.Next == "" {
		t.Fatalf("first page = %+v, %v; want one token and a cursor", l, err)
	}
	if _, err := c.ClientWithToken(0, tk.SecretID).TokenList(ctx, nil); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("client token lists tokens: %v, want forbidden", err)
	}
}

func TestTokenRevokeAndExpiry(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	tk, err := admin.TokenCreate(ctx, "temp", pub.TokenTypeManagement, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientWithToken(0, tk.SecretID).TokenSelf(ctx); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if err := admin.TokenRevoke(ctx, tk.AccessorID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientWithToken(0, tk.SecretID).TokenSelf(ctx); pub.ErrorCode(err) != pub.CodeUnauthorized {
		t.Fatalf("revoked token: want unauthorized, got %v", err)
	}
	if err := admin.TokenRevoke(ctx, tk.AccessorID); !pub.IsNotFound(err) {
		t.Fatalf("revoke twice: want not found, got %v", err)
	}

	short, err := admin.TokenCreate(ctx, "short", pub.TokenTypeClient, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if short.ExpirationTime == nil {
		t.Fatal("token with ttl has no expiration time")
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		_, err := c.ClientWithToken(0, short.SecretID).TokenSelf(ctx)
		if pub.ErrorCode(err) != pub.CodeUnauthorized {
			return fmt.Errorf("expired token still accepted: %w", err)
		}
		return nil
	})
	list, err := admin.TokenList(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list.Tokens {
		if l.SecretID != "" {
			t.Fatalf("token list shows a secret: %+v", l)
		}
	}
}

func TestACLBootstrapOnce(t *testing.T) {
	// A cluster without an initial management token: the first bootstrap works, the second is
	// refused with a message.
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.InitialManagementTokenFile = "" }, NoToken: true})
	ctx := context.Background()
	anon := c.ClientWithToken(0, "")
	tk, err := anon.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Type != pub.TokenTypeManagement || !strings.HasPrefix(tk.SecretID, "slw_") {
		t.Fatalf("bootstrap token = %+v", tk)
	}
	if _, err := c.ClientWithToken(0, tk.SecretID).AppList(ctx, nil); err != nil {
		t.Fatalf("bootstrap token does not work: %v", err)
	}
	_, err = anon.ACLBootstrap(ctx)
	if !pub.IsConflict(err) || !strings.Contains(err.Error(), "already") {
		t.Fatalf("second bootstrap: want conflict saying already done, got %v", err)
	}
}

// TestRepeatedBootstrapWritesNothing: once the cluster is bootstrapped, the public bootstrap
// route answers the conflict without proposing a command, so unauthenticated callers cannot
// grow the Raft log.
func TestRepeatedBootstrapWritesNothing(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	node := c.Server(0).Node()
	before := node.AppliedIndex()
	for i := 0; i < 50; i++ {
		status, eb, _ := call(t, "POST", c.URL(0)+"/v1/acl/bootstrap", "", nil)
		if status != http.StatusConflict || !strings.Contains(eb.Error.Message, "already done") {
			t.Fatalf("bootstrap %d: %d %+v; want 409 already done", i, status, eb)
		}
	}
	if after := node.AppliedIndex(); after != before {
		t.Fatalf("50 refused bootstraps moved the applied index from %d to %d", before, after)
	}
}
