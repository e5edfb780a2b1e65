package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// readVerbs are the action-name prefixes ReadOnlyAccess allows (Export: the audit trail's export,
// a read of records as JSON lines; Evaluate: which approval rules of a pull request hold;
// BatchGet: CodeBuild's reads of projects and builds).
var readVerbs = []string{"Get", "List", "Read", "Watch", "Describe", "Export", "Evaluate", "BatchGet"}

var placeholder = regexp.MustCompile(`\{([^{}]+?)(\.\.\.)?\}`)

// routeRequest is a request on a route with every path value set to "x".
func routeRequest(rt api.RouteInfo) *http.Request {
	r := httptest.NewRequest(rt.Method, placeholder.ReplaceAllString(rt.Pattern, "x"), nil)
	for _, m := range placeholder.FindAllStringSubmatch(rt.Pattern, -1) {
		r.SetPathValue(m[1], "x")
	}
	return r
}

func tokenIdentity(typ string) *auth.Identity {
	return &auth.Identity{Token: state.Token{Name: typ + "-token", Type: typ}}
}

// TestEveryRouteIsAuthorizedByPolicy walks every route of a real server (the core's and all
// services'): each token route names an action and a resource, today's tokens keep exactly the
// access they had (a Management route is allowed by AdministratorAccess and denied by
// ReadOnlyAccess, by the policy and not only the access level; an AnyToken route is allowed by
// both), and an AnyToken route's action is a read verb, which is why ReadOnlyAccess allows it.
func TestEveryRouteIsAuthorizedByPolicy(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	srv := api.New(api.Config{Routes: c.Server(0).ServiceRoutes()})
	admin, reader := tokenIdentity(pub.TokenTypeManagement), tokenIdentity(pub.TokenTypeClient)
	n := 0
	for _, rt := range srv.Routes() {
		name := rt.Method + " " + rt.Pattern
		if rt.Access == api.Public {
			continue
		}
		if rt.Action == "" || rt.Resource == "" || !strings.Contains(rt.Action, ":") {
			t.Errorf("%s: action %q resource %q; a token route names both (service:Verb)", name, rt.Action, rt.Resource)
			continue
		}
		if rt.Access != api.AnyToken && rt.Access != api.Management {
			continue // host and registration credentials keep their own rules
		}
		n++
		resource := api.SRN(rt.Action, placeholder.ReplaceAllString(rt.Resource, "x"))
		if err := srv.Authorize(rt.Method, rt.Pattern, routeRequest(rt), admin); err != nil {
			t.Errorf("%s: a management token (AdministratorAccess) is refused: %v", name, err)
		}
		err := srv.Authorize(rt.Method, rt.Pattern, routeRequest(rt), reader)
		switch rt.Access {
		case api.AnyToken:
			if err != nil {
				t.Errorf("%s: a client token (ReadOnlyAccess) is refused: %v", name, err)
			}
			verb := rt.Action[strings.IndexByte(rt.Action, ':')+1:]
			read := false
			for _, v := range readVerbs {
				read = read || strings.HasPrefix(verb, v)
			}
			if !read {
				t.Errorf("%s: any token may call it, but its action %q is not a read verb (%v)", name, rt.Action, readVerbs)
			}
		case api.Management:
			want := "not allowed: " + rt.Action + " on " + resource
			if fault.CodeOf(err) != fault.Forbidden || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: a client token: %v; want forbidden by policy, %q", name, err, want)
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d token routes walked", n)
	}
	t.Logf("%d token routes walked", n)
}

// TestReadOnlyTokenDeniedByPolicy: over HTTP, a client token's write gets 403 naming the action
// and the resource, nothing of the policy; its reads still work.
func TestReadOnlyTokenDeniedByPolicy(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	if _, err := c.Client(0).AppCreate(ctx, pub.AppCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	tk, err := c.Client(0).TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	status, eb, raw := call(t, "DELETE", c.URL(0)+"/v1/apps/shop", tk.SecretID, nil, nil)
	want := "not allowed: codedeploy:DeleteApplication on srn:slipway:codedeploy:app/shop"
	if status != http.StatusForbidden || eb.Error.Code != pub.CodeForbidden || !strings.HasPrefix(eb.Error.Message, want) {
		t.Fatalf("status %d body %s; want 403 %q", status, raw, want)
	}
	if strings.Contains(eb.Error.Message, "ReadOnly") || strings.Contains(eb.Error.Message, "Statement") {
		t.Fatalf("the 403 discloses policy contents: %s", raw)
	}
	if status, _, raw := call(t, "GET", c.URL(0)+"/v1/apps/shop", tk.SecretID, nil, nil); status != http.StatusOK {
		t.Fatalf("client token read: status %d body %s", status, raw)
	}
	if _, err := c.Client(0).AppGet(ctx, "shop", nil); err != nil {
		t.Fatalf("the app was deleted: %v", err)
	}
}

// TestPathValueWithSlashRefused: a one-segment path value holding '/' (sent as %2F) would make
// the resource name look like another kind, so the edge refuses it before any policy.
func TestPathValueWithSlashRefused(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	status, eb, raw := call(t, "GET", c.URL(0)+"/v1/apps/shop%2Fgroup%2Fprod", testutil.ManagementToken, nil, nil)
	if status != http.StatusBadRequest || eb.Error.Code != pub.CodeBadRequest || !strings.Contains(eb.Error.Message, "must not contain '/'") {
		t.Fatalf("status %d body %s; want 400 naming the '/'", status, raw)
	}
	// A kv key may hold '/'; one too long for a policy request is bad input, not a denial.
	if status, _, raw := call(t, "GET", c.URL(0)+"/v1/kv/a/b", testutil.ManagementToken, nil, nil); status != http.StatusNotFound {
		t.Fatalf("kv key with '/': status %d body %s; want 404", status, raw)
	}
	status, eb, raw = call(t, "GET", c.URL(0)+"/v1/kv/"+strings.Repeat("k", 5000), testutil.ManagementToken, nil, nil)
	if status != http.StatusBadRequest || eb.Error.Code != pub.CodeBadRequest {
		t.Fatalf("5000-byte key: status %d body %s; want 400", status, raw)
	}
}

// TestRouteResourcePlaceholdersChecked: a route's resource may only name the pattern's wildcards.
func TestRouteResourcePlaceholdersChecked(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request, *auth.Identity) error { return nil }
	for _, tc := range []struct{ pattern, resource, want string }{
		{"/v1/apps/{name}", "app/{app}", "not a wildcard"},
		{"/v1/apps/{name}", "app/{name", "unmatched '{'"},
		{"/v1/apps/{name}", "app/name}", "unmatched '}'"},
		{"/v1/apps/{name}", "app/{}", "not a placeholder"},
		{"/v1/kv/{key...}", "key/{key}", "not a wildcard"},
	} {
		err := api.Route{Method: "GET", Pattern: tc.pattern, Access: api.AnyToken, Action: "codedeploy:GetApplication", Resource: tc.resource, Handle: h}.Check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v; want %q", tc.pattern, tc.resource, err, tc.want)
		}
	}
	ok := api.Route{Method: "GET", Pattern: "/v1/kv/{key...}", Access: api.AnyToken, Action: "kv:GetKey", Resource: "key/{key...}", Handle: h}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
}
