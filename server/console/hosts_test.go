package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestHostPageShowsItsDeployments: a host's page lists the deployments made to it (not those
// made to another host), newest first with the host's own status, and its lifecycle events in
// the newest one; a host without deployments says how to make one; a user who may read hosts
// but not list deployments sees neither section.
func TestHostPageShowsItsDeployments(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	for _, h := range []string{"h1", "h2", "h3"} {
		testutil.StartAgent(t, c, h)
		c.WaitHost(h)
	}
	base := c.URL(0)
	cl := c.Client(0)
	ctx := context.Background()
	if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	b := echoBundle(t, "")
	if _, _, err := cl.RevisionPush(ctx, "web", bytes.NewReader(b), int64(len(b)), "", ""); err != nil {
		t.Fatal(err)
	}
	deploy := func(host string) string {
		t.Helper()
		d, err := cl.DeploymentCreate(ctx, pub.DeploymentCreateRequest{App: "web", Hosts: []string{host}, Revision: "latest"})
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, d.ID, func(d *pub.Deployment) error {
			if d.EndTime == nil {
				return fmt.Errorf("deployment %s is %s", d.ID, d.Status)
			}
			return nil
		})
		return d.ID
	}
	first, other, newest := deploy("h1"), deploy("h2"), deploy("h1")

	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"hal","password":"`+password+`"}`)
	doc, _ := json.Marshal(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["hosts:GetHost","codedeploy:GetDeployment"],"Resource":"*"}]}`)
	mustJSON(t, c, "POST", "/v1/iam/policies", `{"name":"host-reader","document":`+string(doc)+`}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/host-reader/attach", `{"user":"hal"}`)

	ana := newBrowser(t)
	ana.signIn(base, "ana")
	link := func(id string) string { return `href="/ui/deployments/` + id + `"` }
	resp, page := ana.do("GET", base+"/ui/hosts/h1", nil)
	want(t, "h1", resp, page, http.StatusOK, []string{"Recent deployments", link(first), link(newest),
		`<span class="badge succeeded">succeeded</span>`, "Events", `data-event="ApplicationStart"`, `data-event="ValidateService"`,
		"In deployment " + "<a " + link(newest)}, []string{link(other), "No deployment has targeted"})
	if i, j := strings.Index(page, link(newest)), strings.Index(page, link(first)); i > j {
		t.Errorf("h1's deployments are not newest first: %s at %d, %s at %d", newest, i, first, j)
	}
	resp, page = ana.do("GET", base+"/ui/hosts/h2", nil)
	want(t, "h2", resp, page, http.StatusOK, []string{link(other), `data-event="ApplicationStart"`}, []string{link(first), link(newest)})
	resp, page = ana.do("GET", base+"/ui/hosts/h3", nil)
	want(t, "h3", resp, page, http.StatusOK, []string{"No deployment has targeted this host yet", "slipway deploy create --host h3", "No lifecycle events"},
		[]string{link(first), link(other), `data-event=`})

	// The deployments list filtered by host: the host's own, newest first; an unknown host said.
	resp, page = ana.do("GET", base+"/ui/deployments?host=h1", nil)
	want(t, "deployments of h1", resp, page, http.StatusOK, []string{link(first), link(newest), `name="host" value="h1"`}, []string{link(other)})
	if i, j := strings.Index(page, link(newest)), strings.Index(page, link(first)); i > j {
		t.Errorf("the deployments list is not newest first: %s at %d, %s at %d", newest, i, first, j)
	}
	resp, page = ana.do("GET", base+"/ui/deployments?host=nope", nil)
	want(t, "deployments of an unknown host", resp, page, http.StatusBadRequest, []string{`role="alert"`, "nope", "not found"}, nil)

	// May read hosts, not list deployments: the page without its deployments.
	hal := newBrowser(t)
	hal.signIn(base, "hal")
	resp, page = hal.do("GET", base+"/ui/hosts/h1", nil)
	want(t, "h1 for a host reader", resp, page, http.StatusOK, []string{"Host h1", "Current revisions"},
		[]string{"Recent deployments", "host-events", link(first), link(newest)})
}
