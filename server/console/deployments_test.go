package console_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/pkg/bundle"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/config"
)

// hookEvents are a bundle's hooks, in the order an agent runs them.
var hookEvents = []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"}

// echoBundle makes a bundle whose every hook prints "hello from EVENT"; ApplicationStart waits
// until the file gate exists when gate is set (so a deployment stays in progress until then).
func echoBundle(t testing.TB, gate string) []byte {
	t.Helper()
	dir := t.TempDir()
	var spec strings.Builder
	spec.WriteString("version: 0.0\nos: linux\nhooks:\n")
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ev := range hookEvents {
		body := "#!/bin/sh\necho hello from $LIFECYCLE_EVENT\n"
		if gate != "" && ev == "ApplicationStart" {
			body += "while [ ! -f " + gate + " ]; do sleep 0.1; done\n"
		}
		name := "scripts/" + strings.ToLower(ev) + ".sh"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&spec, "  %s:\n    - location: %s\n      timeout: 120\n", ev, name)
	}
	if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(spec.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Create(&buf, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fastAgents(_ int, cfg *config.Config) {
	cfg.Agents.Heartbeat = 300 * time.Millisecond
	cfg.Agents.HostTimeout = 3 * time.Second
}

// userWithPolicy makes user name (the test's password) with one policy allowing actions on
// resources (without the srn:slipway:codedeploy: prefix).
func userWithPolicy(t *testing.T, c *testutil.Cluster, name string, actions, resources []string) {
	t.Helper()
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+name+`","password":"`+password+`"}`)
	for i := range resources {
		resources[i] = fmt.Sprintf("%q", "srn:slipway:codedeploy:"+resources[i])
	}
	for i := range actions {
		actions[i] = fmt.Sprintf("%q", actions[i])
	}
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[%s],"Resource":[%s]}]}`, strings.Join(actions, ","), strings.Join(resources, ","))
	mustJSON(t, c, "POST", "/v1/iam/policies", fmt.Sprintf(`{"name":%q,"document":%q}`, name+"-policy", doc))
	mustJSON(t, c, "POST", "/v1/iam/policies/"+name+"-policy/attach", `{"user":"`+name+`"}`)
}

var deploymentLocation = regexp.MustCompile(`^/ui/deployments/(d-[0-9a-f-]+)$`)

// createThroughForm fills in the create form as b's user and returns the new deployment's ID.
func createThroughForm(t *testing.T, b *browser, base, app, group string) string {
	t.Helper()
	resp, page := b.do("GET", base+"/ui/deployments/new?app="+app, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="group"`) || !strings.Contains(page, `value="latest"`) {
		t.Fatalf("the create form: %d %s", resp.StatusCode, page)
	}
	resp, page = b.do("POST", base+"/ui/deployments", url.Values{"csrf": {field(t, page)}, "app": {app}, "group": {group}, "revision": {"latest"}})
	m := deploymentLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create through the form: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	return m[1]
}

func waitStatus(t *testing.T, c *testutil.Cluster, id string, done func(*pub.Deployment) error) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, func() error {
		d, err := c.Client(0).DeploymentGet(context.Background(), id, &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		return done(d)
	})
}

// TestDeploymentPages drives the deployments pages over HTTP with a real agent: a deployment
// created through the form, its page with each host's events and output, the list's filters,
// stop through the form, and what a read-only user, a user allowed one group and a user
// without policies get.
func TestDeploymentPages(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	testutil.StartAgent(t, c, "h1")
	c.WaitHost("h1")
	base := c.URL(0)
	cl := c.Client(0)
	ctx := context.Background()
	if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	push := func(b []byte) {
		t.Helper()
		if _, _, err := cl.RevisionPush(ctx, "web", bytes.NewReader(b), int64(len(b)), "", ""); err != nil {
			t.Fatal(err)
		}
	}
	push(echoBundle(t, ""))
	for _, g := range []string{"prod", "other"} {
		if _, err := cl.GroupCreate(ctx, "web", pub.GroupRequest{Name: g, Hosts: []string{"h1"}}); err != nil {
			t.Fatal(err)
		}
	}
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	admin := newBrowser(t)
	admin.signIn(base, "ana")

	// Create through the form; the page lists each host's events and output.
	id := createThroughForm(t, admin, base, "web", "prod")
	waitStatus(t, c, id, func(d *pub.Deployment) error {
		if d.Status != "succeeded" {
			return fmt.Errorf("deployment %s is %s", id, d.Status)
		}
		return nil
	})
	resp, page := admin.do("GET", base+"/ui/deployments/"+id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deployment page: %d %s", resp.StatusCode, page)
	}
	for _, ev := range hookEvents {
		if !regexp.MustCompile(`data-event="` + ev + `"><span class="state succeeded">succeeded</span> <span class="took">[0-9.]+[mµn]?s</span>`).MatchString(page) {
			t.Errorf("the page lacks %s succeeded with its duration", ev)
		}
		// The first deployment to a host has no earlier revision whose ApplicationStop to run.
		if ev != "ApplicationStop" && !strings.Contains(page, "hello from "+ev) {
			t.Errorf("the page lacks %s's output", ev)
		}
	}
	for _, want := range []string{`data-host="h1"`, "1 of 1 hosts succeeded", "/ui/assets/deployment.js", "Redeploy this revision"} {
		if !strings.Contains(page, want) {
			t.Errorf("the deployment page lacks %q", want)
		}
	}
	if strings.Contains(page, "Stop deployment") {
		t.Error("a finished deployment offers Stop")
	}
	if resp, js := admin.do("GET", base+"/ui/assets/deployment.js", nil); resp.StatusCode != http.StatusOK || !strings.Contains(js, "WebSocket") {
		t.Errorf("deployment.js: %d", resp.StatusCode)
	}

	// The list and its filters.
	for _, tc := range []struct {
		query string
		want  bool
	}{{"", true}, {"?app=web&group=prod", true}, {"?status=succeeded", true}, {"?group=other", false}, {"?status=failed", false}} {
		resp, page := admin.do("GET", base+"/ui/deployments"+tc.query, nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(page, `href="/ui/deployments/`+id+`"`) != tc.want {
			t.Errorf("list %q: %d, lists %s: %v; want %v", tc.query, resp.StatusCode, id, !tc.want, tc.want)
		}
		if !tc.want && !strings.Contains(page, "No deployment matches these filters") {
			t.Errorf("list %q: no empty state", tc.query)
		}
	}
	if resp, page := admin.do("GET", base+"/ui/deployments?status=bogus", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not a deployment status") {
		t.Errorf("list with a bad status: %d", resp.StatusCode)
	}

	// A form that fails is shown again with the error next to its field.
	_, page = admin.do("GET", base+"/ui/deployments/new", nil)
	resp, page = admin.do("POST", base+"/ui/deployments", url.Values{"csrf": {field(t, page)}, "app": {"web"}, "group": {"prod"}, "revision": {"nosuchrevision"}})
	if resp.StatusCode != http.StatusBadRequest || !regexp.MustCompile(`name="revision" value="nosuchrevision"[^>]*></label>\s*<p class="error field">[^<]*revision`).MatchString(page) {
		t.Errorf("a form naming no revision: %d %s", resp.StatusCode, page)
	}

	// A deployment that stays in progress until released.
	gate := filepath.Join(t.TempDir(), "release")
	t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) })
	push(echoBundle(t, gate))
	slow := createThroughForm(t, admin, base, "web", "prod")
	waitStatus(t, c, slow, func(d *pub.Deployment) error {
		for _, tg := range d.Targets {
			for _, ev := range tg.Events {
				if ev.Name == "ApplicationStart" && ev.Start != nil {
					return nil
				}
			}
		}
		return fmt.Errorf("ApplicationStart has not started: %+v", d.Targets)
	})

	// A read-only user reads, sees no create or stop, and a forged form is refused by policy.
	userWithPolicy(t, c, "ro", []string{"codedeploy:Get*", "codedeploy:List*"}, []string{"deployment/*", "app/web", "app/web/*"})
	ro := newBrowser(t)
	ro.signIn(base, "ro")
	resp, page = ro.do("GET", base+"/ui/deployments", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, slow) || strings.Contains(page, "New deployment") {
		t.Errorf("read-only list: %d, offers create: %v", resp.StatusCode, strings.Contains(page, "New deployment"))
	}
	resp, page = ro.do("GET", base+"/ui/deployments/"+slow, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, "Stop deployment") || strings.Contains(page, "/stop") {
		t.Errorf("read-only deployment page: %d, offers stop: %v", resp.StatusCode, strings.Contains(page, "Stop deployment"))
	}
	csrf := field(t, page)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/ui/deployments/" + slow + "/stop", url.Values{"csrf": {csrf}}},
		{"/ui/deployments/" + id + "/redeploy", url.Values{"csrf": {csrf}}},
		{"/ui/deployments", url.Values{"csrf": {csrf}, "app": {"web"}, "group": {"prod"}}},
	} {
		if resp, _ := ro.do("POST", base+tc.path, tc.form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("read-only POST %s: %d; want 403", tc.path, resp.StatusCode)
		}
	}
	if resp, _ := ro.do("GET", base+"/ui/deployments/new", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only create form: %d; want 403", resp.StatusCode)
	}

	// A user allowed to deploy to prod only cannot create in another group.
	userWithPolicy(t, c, "pat", []string{"codedeploy:CreateDeployment", "codedeploy:Get*"}, []string{"deployment/*", "app/web/group/prod"})
	pat := newBrowser(t)
	pat.signIn(base, "pat")
	_, page = pat.do("GET", base+"/ui/deployments/new", nil)
	if resp, page := pat.do("POST", base+"/ui/deployments", url.Values{"csrf": {field(t, page)}, "app": {"web"}, "group": {"other"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("create in a group not allowed: %d %s; want 403", resp.StatusCode, page)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := cl.AuditList(ctx, pub.AuditFilter{Action: "codedeploy:CreateDeployment"}, nil)
		if err != nil {
			return err
		}
		for _, r := range l.Records {
			if r.Outcome == "denied" && r.Principal.Name == "pat" && strings.HasSuffix(r.Resource, "app/web/group/other") {
				return nil
			}
		}
		return fmt.Errorf("no denied create by pat in %+v", l.Records)
	})

	// A user without policies gets the edge's 403 on every page.
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"bo","password":"`+password+`"}`)
	bo := newBrowser(t)
	bo.signIn(base, "bo")
	for _, p := range []string{"/ui/deployments", "/ui/deployments/" + id, "/ui/deployments/new"} {
		if resp, _ := bo.do("GET", base+p, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s without policies: %d; want 403", p, resp.StatusCode)
		}
	}

	// Stop through the form.
	_, page = admin.do("GET", base+"/ui/deployments/"+slow, nil)
	if !strings.Contains(page, "Stop deployment") || !strings.Contains(page, `name="rollback"`) {
		t.Fatalf("the page of a running group deployment offers no stop with rollback: %s", page)
	}
	resp, _ = admin.do("POST", base+"/ui/deployments/"+slow+"/stop", url.Values{"csrf": {field(t, page)}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/deployments/"+slow {
		t.Fatalf("stop through the form: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	waitStatus(t, c, slow, func(d *pub.Deployment) error {
		if d.Status != "stopped" {
			return fmt.Errorf("deployment %s is %s", slow, d.Status)
		}
		return nil
	})

	// Redeploy the good deployment's revision from its page.
	_, page = admin.do("GET", base+"/ui/deployments/"+id, nil)
	resp, _ = admin.do("POST", base+"/ui/deployments/"+id+"/redeploy", url.Values{"csrf": {field(t, page)}})
	m := deploymentLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil || m[1] == id {
		t.Fatalf("redeploy: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	first, err := cl.DeploymentGet(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, m[1], func(d *pub.Deployment) error {
		if d.Revision != first.Revision || d.Group != "prod" || d.Status != "succeeded" {
			return fmt.Errorf("redeployment %s: revision %s group %s %s; want %s to prod, succeeded", d.ID, d.Revision, d.Group, d.Status, first.Revision)
		}
		return nil
	})
}

// TestDeploymentWatchSocket: the console's watch refuses a foreign Origin and a request
// without a session, and streams the deployment to a same-origin page's socket.
func TestDeploymentWatchSocket(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	testutil.StartAgent(t, c, "h1")
	c.WaitHost("h1")
	base := c.URL(0)
	cl := c.Client(0)
	ctx := context.Background()
	if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(t.TempDir(), "release")
	t.Cleanup(func() { _ = os.WriteFile(gate, nil, 0o644) })
	b := echoBundle(t, gate)
	if _, _, err := cl.RevisionPush(ctx, "web", bytes.NewReader(b), int64(len(b)), "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GroupCreate(ctx, "web", pub.GroupRequest{Name: "prod", Hosts: []string{"h1"}}); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	br := newBrowser(t)
	br.signIn(base, "ana")
	id := createThroughForm(t, br, base, "web", "prod")

	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	wsURL := "ws://" + u.Host + "/ui/deployments/" + id + "/watch"
	cookie := api.ConsoleCookie + "=" + br.cookies[api.ConsoleCookie].Value + "; slipway_seen=" + br.cookies["slipway_seen"].Value
	dial := func(origin, cookie string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		if cookie != "" {
			h.Set("Cookie", cookie)
		}
		return websocket.DefaultDialer.Dial(wsURL, h)
	}
	for _, tc := range []struct {
		name, origin, cookie string
		want                 int
	}{
		{"a foreign origin", "http://evil.example", cookie, http.StatusForbidden},
		{"no origin", "", cookie, http.StatusForbidden},
		{"no session", "http://" + u.Host, "", http.StatusSeeOther},
	} {
		ws, resp, err := dial(tc.origin, tc.cookie)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			_ = ws.Close()
			t.Errorf("%s: the watch was opened", tc.name)
			continue
		}
		if resp == nil || resp.StatusCode != tc.want {
			t.Errorf("%s: %v %v; want %d", tc.name, resp, err, tc.want)
		}
	}

	ws, resp, err := dial("http://"+u.Host, cookie)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("same-origin watch: %v", err)
	}
	defer func() { _ = ws.Close() }()
	_ = ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	// The deployment comes first, then its output and changes as they commit: the output of
	// BeforeInstall arrives on the socket.
	sawDeployment, sawLine := false, false
	for !sawDeployment || !sawLine {
		var m pub.WatchMessage
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("watch: %v (deployment seen %v, line seen %v)", err, sawDeployment, sawLine)
		}
		if m.Deployment != nil && m.Deployment.ID == id {
			sawDeployment = true
		}
		for _, l := range m.Lines {
			if m.Host == "h1" && strings.Contains(l.Text, "hello from BeforeInstall") {
				sawLine = true
			}
		}
	}
}

// TestDeploymentListPages: the list shows 100 deployments a page and links the next page,
// keeping the filters.
func TestDeploymentListPages(t *testing.T) {
	// The default host timeout (60 s): a paused host's deployments stay in progress.
	c := testutil.NewCluster(t, 1)
	a := testutil.StartAgent(t, c, "h1")
	c.WaitHost("h1")
	a.Pause() // a host that runs nothing: its deployments wait, in progress
	cl := c.Client(0)
	ctx := context.Background()
	// A host runs one deployment of an application at a time: one application per deployment.
	b := echoBundle(t, "")
	for i := range 101 {
		app := fmt.Sprintf("app%03d", i)
		if _, err := cl.AppCreate(ctx, pub.AppCreateRequest{Name: app}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cl.RevisionPush(ctx, app, bytes.NewReader(b), int64(len(b)), "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.DeploymentCreate(ctx, pub.DeploymentCreateRequest{App: app, Hosts: []string{"h1"}, Revision: "latest"}); err != nil {
			t.Fatal(err)
		}
	}
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	br := newBrowser(t)
	br.signIn(c.URL(0), "ana")
	rows := regexp.MustCompile(`<tr><td><a href="/ui/deployments/d-`)
	next := regexp.MustCompile(`<a rel="next" href="([^"]+)">`)
	resp, page := br.do("GET", c.URL(0)+"/ui/deployments?status=in_progress", nil)
	m := next.FindStringSubmatch(page)
	if n := len(rows.FindAllString(page, -1)); resp.StatusCode != http.StatusOK || n != 100 || m == nil {
		t.Fatalf("first page: %d, %d rows, next link %v; want 100 rows and a next link", resp.StatusCode, n, m)
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(link, "status=in_progress") {
		t.Errorf("the next link %q loses the filter", link)
	}
	resp, page = br.do("GET", c.URL(0)+link, nil)
	if n := len(rows.FindAllString(page, -1)); resp.StatusCode != http.StatusOK || n != 1 || next.MatchString(page) {
		t.Fatalf("second page: %d, %d rows, next link %v; want 1 row and none", resp.StatusCode, n, next.MatchString(page))
	}
}
