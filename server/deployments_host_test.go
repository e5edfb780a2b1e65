package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestDeploymentListByHost: GET /v1/deployments?host=NAME lists the deployments that target the
// host, each with the host's own status, oldest first or newest first (?order=newest) a page at
// a time; an unknown host is 404 and an unknown order 400; the list's authorization is as
// without the filter.
func TestDeploymentListByHost(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	for _, h := range []string{"h1", "h2"} {
		testutil.StartAgent(t, c, h)
		c.WaitHost(h)
	}
	b := hookBundle(t, t.TempDir()+"/record", "", nil)
	var ids []string // shop to h1, shop to h2, web to h1
	for _, d := range []struct{ app, host string }{{"shop", "h1"}, {"shop", "h2"}, {"web", "h1"}} {
		cl, dep := deployRevision(t, c, d.app, b, d.host)
		waitDeployment(t, cl, dep.ID)
		ids = append(ids, dep.ID)
	}
	u := c.URL(0)
	list := func(query string) api.DeploymentList {
		t.Helper()
		var l api.DeploymentList
		if err := json.Unmarshal([]byte(mustCall(t, http.StatusOK, "GET", u+"/v1/deployments?"+query, testutil.ManagementToken, nil)), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	got := func(l api.DeploymentList) string {
		var s []string
		for _, d := range l.Deployments {
			s = append(s, d.ID+":"+d.HostStatus)
		}
		return strings.Join(s, ",")
	}
	ok := api.DeploymentSucceeded
	if l := list("host=h1"); got(l) != ids[0]+":"+ok+","+ids[2]+":"+ok || l.Next != "" {
		t.Errorf("host=h1: %s next %q; want %s and %s, oldest first", got(l), l.Next, ids[0], ids[2])
	}
	first := list("host=h1&order=newest&limit=1")
	if got(first) != ids[2]+":"+ok || first.Next == "" {
		t.Fatalf("host=h1 newest, limit 1: %s next %q; want %s and a next page", got(first), first.Next, ids[2])
	}
	if l := list("host=h1&order=newest&limit=1&next=" + first.Next); got(l) != ids[0]+":"+ok || l.Next != "" {
		t.Errorf("host=h1 newest, second page: %s next %q; want %s and no more", got(l), l.Next, ids[0])
	}
	if l := list("host=h2&app=shop"); got(l) != ids[1]+":"+ok {
		t.Errorf("host=h2 app=shop: %s; want %s", got(l), ids[1])
	}
	if l := list("order=newest"); len(l.Deployments) != 3 || l.Deployments[0].ID != ids[2] || l.Deployments[0].HostStatus != "" {
		t.Errorf("order=newest without a host: %s", got(l))
	}
	for _, tc := range []struct {
		query string
		want  int
		says  string
	}{
		{"host=nowhere", http.StatusNotFound, `host \"nowhere\" not found: see slipway host list`},
		{"host=h1&order=sideways", http.StatusBadRequest, "order must be oldest or newest"},
	} {
		if status, out := rawCall(t, "GET", u+"/v1/deployments?"+tc.query, testutil.ManagementToken, nil); status != tc.want || !strings.Contains(out, tc.says) {
			t.Errorf("%s: %d %s; want %d saying %q", tc.query, status, out, tc.want, tc.says)
		}
	}

	// A user allowed shop's deployments lists them by host with ?app=shop, as without ?host=.
	tok := userToken(t, c, "ana", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": ["codedeploy:List*"], "Resource": ["srn:slipway:codedeploy:app/shop", "srn:slipway:codedeploy:app/shop/*"]}]}`)
	if status, out := rawCall(t, "GET", u+"/v1/deployments?host=h1", tok, nil); status != http.StatusForbidden {
		t.Errorf("host=h1 without app for shop's user: %d %s; want 403", status, out)
	}
	var l api.DeploymentList
	if err := json.Unmarshal([]byte(mustCall(t, http.StatusOK, "GET", u+"/v1/deployments?host=h1&app=shop", tok, nil)), &l); err != nil {
		t.Fatal(err)
	}
	if got(l) != ids[0]+":"+ok {
		t.Errorf("host=h1 app=shop for shop's user: %s; want %s", got(l), ids[0])
	}
}
