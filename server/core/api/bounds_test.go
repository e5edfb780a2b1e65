package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// jsonBody encodes v as a JSON request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFieldBounds sends hostile names and labels to every resource a client names outside host
// registration: control characters, terminal escapes, path-ish values, 900 KB strings, and
// out-of-range query parameters and headers. Each is refused with a short message saying what
// to fix, and nothing is stored.
func TestFieldBounds(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	admin := c.Client(0)
	if _, err := admin.AppCreate(ctx, pub.AppCreateRequest{Name: "bounds"}); err != nil {
		t.Fatal(err)
	}
	reader, err := admin.TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	base := c.URL(0)
	huge := strings.Repeat("x", 900<<10)
	esc, nl, pathish := "\x1b[31mred", "two\nlines", "../../x"
	manyTags := map[string]string{}
	for i := 0; i < 65; i++ {
		manyTags[fmt.Sprintf("k%d", i)] = "v"
	}
	manyHosts := make([]string, 1001)
	for i := range manyHosts {
		manyHosts[i] = fmt.Sprintf("h%d", i)
	}
	var kinds []string
	for i := 0; i < 33; i++ {
		kinds = append(kinds, fmt.Sprintf("kind%d", i))
	}
	manyKinds := strings.Join(kinds, ",")
	group := func(name string, tags map[string]string, hosts []string) map[string]any {
		return map[string]any{"name": name, "tags": tags, "hosts": hosts}
	}
	tk := testutil.ManagementToken
	b, _ := testutil.RandomBundle(t, 64)
	bundleBody := string(b) // a bundle that is stored when its description is fine
	cases := []struct {
		name, method, path, token, body string
		hdr                             map[string]string
		status                          int
		msg                             string
	}{
		{"app name path-ish", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": pathish}), nil, 400, "A-Z a-z 0-9"},
		{"app name escape", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": esc}), nil, 400, "A-Z a-z 0-9"},
		{"app name 900 KB", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": huge}), nil, 400, "too long"},
		{"app description escape", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": "d1", "description": esc}), nil, 400, "control character U+001B"},
		{"app description newline", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": "d2", "description": nl}), nil, 400, "control character U+000A"},
		{"app description 900 KB", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": "d3", "description": huge}), nil, 400, "limit is 1024"},
		{"app update description escape", "PUT", "/v1/apps/bounds", tk, jsonBody(t, map[string]string{"description": esc}), nil, 400, "control character"},
		{"token name escape", "POST", "/v1/tokens", tk, jsonBody(t, map[string]string{"name": esc}), nil, 400, "control character"},
		{"token name newline", "POST", "/v1/tokens", tk, jsonBody(t, map[string]string{"name": nl}), nil, 400, "control character"},
		{"token name 900 KB", "POST", "/v1/tokens", tk, jsonBody(t, map[string]string{"name": huge}), nil, 400, "limit is 256"},
		{"token name empty", "POST", "/v1/tokens", tk, jsonBody(t, map[string]string{"name": ""}), nil, 400, "empty"},
		{"group name path-ish", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group(pathish, map[string]string{"env": "dev"}, nil)), nil, 400, "A-Z a-z 0-9"},
		{"group name 900 KB", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group(huge, map[string]string{"env": "dev"}, nil)), nil, 400, "too long"},
		{"group tag key escape", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group("g", map[string]string{esc: "dev"}, nil)), nil, 400, "tag key"},
		{"group tag value newline", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group("g", map[string]string{"env": nl}, nil)), nil, 400, "control character"},
		{"group tag value 900 KB", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group("g", map[string]string{"env": huge}, nil)), nil, 400, "limit is 256"},
		{"group too many tags", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group("g", manyTags, nil)), nil, 400, "at most 64"},
		{"group host path-ish", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group("g", nil, []string{pathish})), nil, 400, "host name"},
		{"group too many hosts", "POST", "/v1/apps/bounds/groups", tk, jsonBody(t, group("g", nil, manyHosts)), nil, 400, "at most 1000"},
		{"group update tag escape", "PUT", "/v1/apps/bounds/groups/g", tk, jsonBody(t, group("", map[string]string{"env": esc}, nil)), nil, 400, "control character"},
		{"deployment config name path-ish", "POST", "/v1/deployment-configs", tk, jsonBody(t, map[string]any{"name": pathish, "kind": "HOST_COUNT", "value": 1}), nil, 400, "A-Z a-z 0-9"},
		{"deployment config name 900 KB", "POST", "/v1/deployment-configs", tk, jsonBody(t, map[string]any{"name": huge, "kind": "HOST_COUNT", "value": 1}), nil, 400, "too long"},
		{"deployment app path-ish", "POST", "/v1/deployments", tk, jsonBody(t, map[string]any{"app": pathish, "revision": "r", "group": "g"}), nil, 400, "A-Z a-z 0-9"},
		{"deployment revision escape", "POST", "/v1/deployments", tk, jsonBody(t, map[string]any{"app": "bounds", "revision": esc, "group": "g"}), nil, 400, "control character"},
		{"limit not a number", "GET", "/v1/apps?limit=" + strings.Repeat("9", 200), reader.SecretID, "", nil, 400, "limit must be"},
		{"limit 900 KB", "GET", "/v1/apps?limit=" + strings.Repeat("9", 900<<10), reader.SecretID, "", nil, 431, ""},
		{"next over its bound", "GET", "/v1/apps?next=" + strings.Repeat("a", 300), reader.SecretID, "", nil, 400, "next is 300 bytes"},
		{"idempotency key too long", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": "ik"}), map[string]string{"Idempotency-Key": strings.Repeat("k", 65)}, 400, "Idempotency-Key"},
		{"idempotency key not printable ASCII", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": "ik"}), map[string]string{"Idempotency-Key": "ключ"}, 400, "Idempotency-Key"},
		{"idempotency key path-ish", "POST", "/v1/apps", tk, jsonBody(t, map[string]string{"name": "ik"}), map[string]string{"Idempotency-Key": pathish}, 400, "Idempotency-Key"},
		{"events too many kinds", "GET", "/v1/events?kind=" + manyKinds, reader.SecretID, "", nil, 400, "at most 32"},
		{"revision description escape", "POST", "/v1/apps/bounds/revisions?description=%1b%5b31m%0a", tk, bundleBody, nil, 400, "revision description has the control character U+001B"},
		{"events resource escape", "GET", "/v1/events?resource=%1b%5b31m", reader.SecretID, "", nil, 400, "control character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, eb, raw := call(t, tc.method, base+tc.path, tc.token, strings.NewReader(tc.body), tc.hdr)
			if status != tc.status || !strings.Contains(eb.Error.Message, tc.msg) {
				t.Fatalf("status %d body %.300s; want %d with %q", status, raw, tc.status, tc.msg)
			}
			if len(raw) > 1024 {
				t.Fatalf("the answer is %d bytes: a refused value was echoed", len(raw))
			}
		})
	}
	// Nothing was stored: the one app is the one made above, and no group exists.
	apps, err := admin.AppList(ctx, nil)
	if err != nil || len(apps.Apps) != 1 {
		t.Fatalf("apps after the refusals: %+v, %v", apps, err)
	}
	revs, err := admin.RevisionList(ctx, "bounds", nil)
	if err != nil || len(revs.Revisions) != 0 {
		t.Fatalf("revisions after the refusals: %+v, %v", revs, err)
	}
	groups, err := admin.GroupList(ctx, "bounds", nil)
	if err != nil || len(groups.Groups) != 0 {
		t.Fatalf("groups after the refusals: %+v, %v", groups, err)
	}
}
