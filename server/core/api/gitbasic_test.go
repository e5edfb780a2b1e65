package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/audit"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/policy"
)

// denials is an api.Auditor that keeps the records of denied requests.
type denials struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (d *denials) Record(r audit.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recs = append(d.recs, r)
}
func (*denials) Seen(audit.Principal, string, string, string, string, time.Time) {}

// featurePolicies lets the token named "feature" push to refs/heads/feature/* only.
type featurePolicies struct{ p *policy.Policy }

func (f featurePolicies) GrantsFor(id *auth.Identity) api.Grants {
	if id.Token.Name == "feature" {
		return api.Grants{Principal: api.TokenPrincipal(id.Token), Policies: []*policy.Policy{f.p}}
	}
	return api.TokenTypePolicies{}.GrantsFor(id)
}

// TestGitBasic: a GitBasic route takes the token secret as the HTTP basic password (any user
// name), answers a missing or wrong one 401 with the Basic challenge git needs, counts only
// wrong credentials (not git's probe without any) against the failure budget, and a route
// that authorizes in its handler decides per ref with Kit.Authorize, auditing a denial.
func TestGitBasic(t *testing.T) {
	ctx := context.Background()
	c := testutil.NewCluster(t, 1)
	tk, err := c.Client(0).TokenCreate(ctx, "feature", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := policy.Parse([]byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codecommit:GitPush",
		"Resource": "srn:slipway:codecommit:repo/app", "Condition": {"StringLike": {"slipway:ReferenceName": "refs/heads/feature/*"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Compile("feature", doc)
	if err != nil {
		t.Fatal(err)
	}
	var h *api.Server
	rec := &denials{}
	routes := []api.Route{
		{Method: "GET", Pattern: "/git/{repo}/read", Access: api.GitBasic, Action: "codecommit:GitPull", Resource: "repo/{repo}",
			Handle: func(w http.ResponseWriter, _ *http.Request, _ *auth.Identity) error { w.WriteHeader(204); return nil }},
		{Method: "POST", Pattern: "/git/{repo}/push", Access: api.GitBasic, Action: "codecommit:GitPush", Resource: "repo/{repo}",
			HandlerAuthorizes: true,
			Handle: func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
				if err := h.Kit().Authorize(w, r, id, "codecommit:GitPush", "repo/"+r.PathValue("repo"),
					policy.ContextValue{Key: policy.KeyReferenceName, Value: r.URL.Query().Get("ref")}); err != nil {
					return err
				}
				w.WriteHeader(204)
				return nil
			}},
	}
	node := c.Server(0).Node()
	h = api.New(api.Config{Cluster: node, State: node.State(), Events: node.FSM().Events(), Routes: routes,
		Policies: featurePolicies{pol}, Audit: rec, Limits: api.Limits{AuthFailures: 1, AuthFailureWindow: time.Hour}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	type answer struct {
		StatusCode int
		Header     http.Header
	}
	do := func(method, path, user, pass string, bearer bool) answer {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		switch {
		case bearer:
			req.Header.Set("Authorization", "Bearer "+pass)
		case pass != "" || user != "":
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return answer{resp.StatusCode, resp.Header}
	}
	const challenge = `Basic realm="Slipway"`
	for i := 0; i < 3; i++ { // git's probe without credentials is not a failure: never 429
		if resp := do("GET", "/git/app/read", "", "", false); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != challenge {
			t.Fatalf("no credentials: %d %q; want 401 with %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), challenge)
		}
	}
	if resp := do("GET", "/git/app/read", "anyone", testutil.ManagementToken, false); resp.StatusCode != 204 {
		t.Fatalf("the management token as the basic password: %d; want 204", resp.StatusCode)
	}
	if resp := do("GET", "/git/app/read", "", testutil.ManagementToken, true); resp.StatusCode != 401 {
		t.Fatalf("a bearer token on a git route: %d; want 401 (git sends basic)", resp.StatusCode)
	}
	if resp := do("GET", "/git/app/read", "git", "slw_wrong-000000000000000000000", false); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != challenge {
		t.Fatalf("a wrong password: %d %q; want 401 with the challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp := do("GET", "/git/app/read", "git", "slw_wrong-000000000000000000000", false); resp.StatusCode != 429 {
		t.Fatalf("a second wrong password over a budget of 1: %d; want 429", resp.StatusCode)
	}

	if resp := do("POST", "/git/app/push?ref=refs/heads/feature/a", "git", tk.SecretID, false); resp.StatusCode != 204 {
		t.Fatalf("feature pushing refs/heads/feature/a: %d; want 204", resp.StatusCode)
	}
	resp := do("POST", "/git/app/push?ref=refs/heads/main", "git", tk.SecretID, false)
	if resp.StatusCode != 403 {
		t.Fatalf("feature pushing refs/heads/main: %d; want 403", resp.StatusCode)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.recs) != 1 || rec.recs[0].Outcome != audit.OutcomeDenied || rec.recs[0].Action != "codecommit:GitPush" ||
		rec.recs[0].Resource != "srn:slipway:codecommit:repo/app" || rec.recs[0].RequestID != resp.Header.Get(api.HeaderRequestID) ||
		!strings.Contains(rec.recs[0].Principal.Name, "feature") {
		t.Fatalf("audit records %+v; want one denial of codecommit:GitPush on repo/app by feature under request %s", rec.recs, resp.Header.Get(api.HeaderRequestID))
	}
}

// TestHandlerAuthorizesOnlyGitBasic: a route of another access level cannot skip the edge's
// decision.
func TestHandlerAuthorizesOnlyGitBasic(t *testing.T) {
	rt := api.Route{Method: "GET", Pattern: "/x", Access: api.AnyToken, Action: "a:B", Resource: "x", HandlerAuthorizes: true,
		Handle: func(http.ResponseWriter, *http.Request, *auth.Identity) error { return nil }}
	if err := rt.Check(); err == nil {
		t.Fatal("an AnyToken route that authorizes in its handler passed Check")
	}
}
