package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// call sends a raw request and decodes the error body when there is one.
func call(t *testing.T, method, url, token string, body io.Reader, hdr map[string]string) (int, pub.ErrorBody, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
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

// TestEveryRouteNeedsAToken walks the handler's full route list: every route that is not
// declared public must refuse a missing and a wrong token, and only health and the one-time ACL
// bootstrap may be public. A route added later without auth fails here.
func TestEveryRouteNeedsAToken(t *testing.T) {
	// Two failed attempts per route would exceed the default budget of failed authentications
	// per address (TestFailedAuthLimitedPerAddress covers that limit).
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.Limits.AuthFailures = 1000 }})
	routes := api.New(api.Config{Routes: c.Server(0).ServiceRoutes()}).Routes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes listed", len(routes))
	}
	allowedPublic := map[string]bool{"GET /v1/health": true, "POST /v1/acl/bootstrap": true,
		"POST /v1/iam/login": true, "DELETE /v1/sts/session": true, // sign-in takes a password; logout authenticates its own bearer
		"GET /{$}": true, "GET /ui/assets/{file}": true, "GET /ui/login": true, "POST /ui/login": true, // the console's redirect, files and sign-in
		"GET /v1/git/ssh-host-key":                true, // the SSH host key, which ssh shows anyone who connects
		"POST /v1/pipelines/{name}/webhook/start": true} // a pipeline's webhook start: its body's signature authenticates it
	for _, rt := range routes {
		name := rt.Method + " " + rt.Pattern
		if rt.Public {
			if !allowedPublic[name] {
				t.Errorf("%s is public; only %v may be", name, allowedPublic)
			}
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{name}", "x", "{accessor}", "x", "{app}", "x", "{repo}", "x", "{$}", "").Replace(rt.Pattern)
		if rt.Access == api.GitBasic {
			// git's routes take HTTP basic and challenge for it (git asks its credential helper).
			for _, pw := range []string{"", "slw_wrong-token-value-000000000000"} {
				req, _ := http.NewRequest(rt.Method, c.URL(0)+path, strings.NewReader("0000"))
				if pw != "" {
					req.SetBasicAuth("git", pw)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s with password %q: status %d, challenge %q; want 401 with WWW-Authenticate", name, pw, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
			}
			continue
		}
		if rt.Access == api.Console {
			// A console page without a session sends the reader to sign in; a form is refused.
			req, _ := http.NewRequest(rt.Method, c.URL(0)+path, nil)
			req.AddCookie(&http.Cookie{Name: api.ConsoleCookie, Value: "slw_wrong-token-value-000000000000"})
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			switch {
			case rt.Method == "GET" && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), api.ConsoleSignIn)):
				t.Errorf("%s without a session: status %d location %q; want 303 to the sign-in page", name, resp.StatusCode, resp.Header.Get("Location"))
			case rt.Method != "GET" && resp.StatusCode != http.StatusUnauthorized:
				t.Errorf("%s without a session: status %d; want 401", name, resp.StatusCode)
			}
			continue
		}
		for _, token := range []string{"", "slw_wrong-token-value-000000000000"} {
			t.Run(fmt.Sprintf("%s token=%q", name, token), func(t *testing.T) {
				status, eb, _ := call(t, rt.Method, c.URL(0)+path, token, strings.NewReader("{}"), nil)
				if status != http.StatusUnauthorized || eb.Error.Code != pub.CodeUnauthorized || eb.Error.Message == "" {
					t.Fatalf("status %d body %+v; want 401 unauthorized with a message", status, eb)
				}
			})
		}
	}
}

func TestClientTokenCannotManage(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	tk, err := c.Client(0).TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	reader := c.ClientWithToken(0, tk.SecretID)
	if _, err := reader.AppList(ctx, nil); err != nil {
		t.Fatalf("client token list apps: %v", err)
	}
	if _, err := reader.AppCreate(ctx, pub.AppCreateRequest{Name: "nope"}); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("client token create app: want forbidden, got %v", err)
	}
	if _, err := reader.TokenCreate(ctx, "escalate", pub.TokenTypeManagement, 0); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("client token create token: want forbidden, got %v", err)
	}
	self, err := reader.TokenSelf(ctx)
	if err != nil || self.AccessorID != tk.AccessorID || self.SecretID != "" {
		t.Fatalf("self = %+v, %v", self, err)
	}
}

func TestBadInput(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	url := c.URL(0) + "/v1/apps"
	tok := testutil.ManagementToken
	big := `{"name":"a","description":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name   string
		method string
		url    string
		body   string
		hdr    map[string]string
		status int
		msg    string
	}{
		{"malformed json", "POST", url, `{"name":`, nil, 400, "invalid request body"},
		{"syntax error", "POST", url, `{"name" "x"}`, nil, 400, "malformed JSON"},
		{"unknown field", "POST", url, `{"name":"a","colour":"red"}`, nil, 400, "unknown field"},
		{"wrong type", "POST", url, `{"name":42}`, nil, 400, "must be string"},
		{"trailing data", "POST", url, `{"name":"a"} {"name":"b"}`, nil, 400, "after the JSON object"},
		{"empty body", "POST", url, ``, nil, 400, "empty"},
		{"oversized body", "POST", url, big, nil, 413, "limit"},
		{"bad name", "POST", url, `{"name":"no spaces"}`, nil, 400, "A-Z a-z 0-9"},
		{"name too long", "POST", url, `{"name":"` + strings.Repeat("a", 101) + `"}`, nil, 400, "1-100"},
		{"dot name", "POST", url, `{"name":".."}`, nil, 400, "reserved"},
		{"bad limit", "GET", url + "?limit=-1", ``, nil, 400, "limit"},
		{"bad consistent", "GET", url + "?consistent=maybe", ``, nil, 400, "consistent"},
		{"bad idempotency key", "POST", url, `{"name":"a"}`, map[string]string{"Idempotency-Key": "bad key!"}, 400, "Idempotency-Key"},
		{"bad ttl", "POST", c.URL(0) + "/v1/tokens", `{"name":"t","ttl":"forever"}`, nil, 400, "ttl"},
		{"bad token type", "POST", c.URL(0) + "/v1/tokens", `{"name":"t","type":"root"}`, nil, 400, "unknown"},
		{"unknown endpoint", "GET", c.URL(0) + "/v1/nope", ``, nil, 404, "no such endpoint"},
		{"garbage snapshot", "PUT", c.URL(0) + "/v1/operator/snapshot", `not a snapshot`, nil, 400, "not a slipway snapshot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, eb, raw := call(t, tc.method, tc.url, tok, strings.NewReader(tc.body), tc.hdr)
			if status != tc.status || !strings.Contains(eb.Error.Message, tc.msg) || eb.Error.Code == "" {
				t.Fatalf("status %d body %s; want %d with %q", status, raw, tc.status, tc.msg)
			}
		})
	}
	// The server is still healthy after all of that.
	if _, err := c.Client(0).AppList(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestIdempotencyKeyAppliesOnce(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	hdr := map[string]string{"Idempotency-Key": "create-web-1", "Content-Type": "application/json"}
	var first []byte
	for _, i := range []int{c.Follower(), c.WaitLeader(), c.Follower()} {
		status, _, raw := call(t, "POST", c.URL(i)+"/v1/apps", testutil.ManagementToken, strings.NewReader(`{"name":"web"}`), hdr)
		if status != http.StatusCreated {
			t.Fatalf("node %d: status %d %s; a retry with the same key must get the first answer", i, status, raw)
		}
		if first == nil {
			first = raw
		} else if string(raw) != string(first) {
			t.Fatalf("retry answered %s, first answer was %s", raw, first)
		}
	}
	// Without the key, the same request is a new one and conflicts.
	status, eb, _ := call(t, "POST", c.URL(0)+"/v1/apps", testutil.ManagementToken, strings.NewReader(`{"name":"web"}`), nil)
	if status != http.StatusConflict || eb.Error.Code != pub.CodeConflict {
		t.Fatalf("without key: status %d %+v, want 409", status, eb)
	}
}

func TestPagination(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	for i := 0; i < 7; i++ {
		if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: fmt.Sprintf("app-%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	q := &pub.QueryOptions{Limit: 3}
	pages := 0
	for {
		l, err := cl.AppList(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range l.Apps {
			names = append(names, a.Name)
		}
		if l.Next == "" {
			break
		}
		q.Next = l.Next
	}
	if pages != 3 || len(names) != 7 || names[0] != "app-00" || names[6] != "app-06" {
		t.Fatalf("pages=%d names=%v", pages, names)
	}
}

func TestAppUpdateWithPrecondition(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	leader, follower := c.Client(c.WaitLeader()), c.Client(c.Follower())
	created, err := leader.AppCreate(ctx, pub.AppCreateRequest{Name: "web", Description: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	// Through a follower, conditional on the index just read: applies, with a new index.
	upd, err := follower.AppUpdate(ctx, "web", pub.AppUpdateRequest{Description: "v2"}, created.ModifyIndex)
	if err != nil {
		t.Fatalf("update with the current index: %v", err)
	}
	if upd.Description != "v2" || upd.ModifyIndex <= created.ModifyIndex || upd.CreateIndex != created.CreateIndex {
		t.Fatalf("update answered %+v after %+v", upd, created)
	}
	// The old index again loses: 409, and a read shows the first update only.
	_, err = leader.AppUpdate(ctx, "web", pub.AppUpdateRequest{Description: "stale"}, created.ModifyIndex)
	if !pub.IsConflict(err) {
		t.Fatalf("update with a stale index: %v, want a conflict", err)
	}
	got, err := follower.AppGet(ctx, "web", &pub.QueryOptions{Consistent: true})
	if err != nil || got.Description != "v2" || got.ModifyIndex != upd.ModifyIndex {
		t.Fatalf("read after the refused update: %+v, %v; want %+v", got, err, upd)
	}
	status, eb, _ := call(t, "PUT", c.URL(0)+"/v1/apps/web?cas=abc", testutil.ManagementToken, strings.NewReader(`{"description":"x"}`), nil)
	if status != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "cas") {
		t.Fatalf("cas=abc: status %d %+v, want 400 naming cas", status, eb)
	}
	if _, err := leader.AppUpdate(ctx, "nope", pub.AppUpdateRequest{}, 0); !pub.IsNotFound(err) {
		t.Fatalf("update of a missing app: %v, want not_found", err)
	}
}
