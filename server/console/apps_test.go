package console_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
)

// consoleBundle is a small tar bundle: an AppSpec and one file.
func consoleBundle(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{{"appspec.yml", "version: 0.0\nos: linux\n"}, {"payload.txt", "hello from the console test\n"}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipBundle is consoleBundle as a zip, its AppSpec inside a folder (as agents allow).
func zipBundle(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{{"site/appspec.yml", "version: 0.0\nos: linux\n"}, {"site/index.html", "<p>hi</p>\n"}} {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// want fails the test unless the answer has status and page has every string of has and none
// of hasNot.
func want(t *testing.T, what string, resp answer, page string, status int, has []string, hasNot []string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d; want %d\n%s", what, resp.StatusCode, status, page)
	}
	for _, s := range has {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
	for _, s := range hasNot {
		if strings.Contains(page, s) {
			t.Errorf("%s shows %q", what, s)
		}
	}
}

// TestHostsAndAppsPages drives the hosts, applications, revision and group pages on a real
// cluster with a real agent: what an administrator sees, the filters, the create form, the
// bundle's contents and download, and that a user without policies gets the edge's 403 while a
// reader sees no form and is refused a forged create.
func TestHostsAndAppsPages(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	testutil.StartAgent(t, c, "host-1", "env=prod")
	c.WaitHost("host-1")
	mustJSON(t, c, "POST", "/v1/apps", `{"name":"shop","description":"the shop"}`)
	mustJSON(t, c, "POST", "/v1/apps/shop/groups", `{"name":"prod","tags":{"env":"prod"}}`)
	b := consoleBundle(t)
	sum := sha256.Sum256(b)
	rev, _, err := c.Client(0).RevisionPush(t.Context(), "shop", bytes.NewReader(b), int64(len(b)), hex.EncodeToString(sum[:]), "first cut")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ana", "bo", "cy"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	doc, _ := json.Marshal(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Action":["codedeploy:Get*","codedeploy:List*","hosts:Get*","hosts:List*"],"Resource":"*"}]}`)
	mustJSON(t, c, "POST", "/v1/iam/policies", `{"name":"reader","document":`+string(doc)+`}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/reader/attach", `{"user":"cy"}`)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"di","password":"`+password+`"}`)
	doc, _ = json.Marshal(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codedeploy:Get*"],"Resource":"srn:slipway:codedeploy:app/shop"}]}`)
	mustJSON(t, c, "POST", "/v1/iam/policies", `{"name":"shop-reader","document":`+string(doc)+`}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/shop-reader/attach", `{"user":"di"}`)

	ana := newBrowser(t)
	ana.signIn(base, "ana")
	resp, page := ana.do("GET", base+"/ui/hosts", nil)
	want(t, "hosts", resp, page, http.StatusOK, []string{`href="/ui/hosts/host-1"`, "online", "env=prod", "apps.css"}, nil)
	resp, page = ana.do("GET", base+"/ui/hosts?status=offline", nil)
	want(t, "offline hosts", resp, page, http.StatusOK, []string{"No host matches these filters"}, []string{"/ui/hosts/host-1"})
	resp, page = ana.do("GET", base+"/ui/hosts?tag=env%3Dprod&status=online", nil)
	want(t, "hosts tagged env=prod", resp, page, http.StatusOK, []string{"/ui/hosts/host-1"}, nil)
	resp, page = ana.do("GET", base+"/ui/hosts?tag=env%3Ddev", nil)
	want(t, "hosts tagged env=dev", resp, page, http.StatusOK, []string{"No host matches"}, []string{"/ui/hosts/host-1"})
	resp, page = ana.do("GET", base+"/ui/hosts/host-1", nil)
	want(t, "host-1", resp, page, http.StatusOK, []string{"Host host-1", "Agent version", "<td>env</td><td>prod</td>"}, nil)

	resp, page = ana.do("GET", base+"/ui/apps", nil)
	want(t, "apps", resp, page, http.StatusOK, []string{`href="/ui/apps/shop"`, "the shop", `href="/ui/apps/shop/groups/prod"`, "Create an application"}, nil)
	csrf := field(t, page)
	resp, _ = ana.do("POST", base+"/ui/apps", url.Values{"csrf": {csrf}, "name": {"web"}, "description": {"the web site"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/apps/web" {
		t.Fatalf("create web: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("POST", base+"/ui/apps", url.Values{"csrf": {csrf}, "name": {"web"}})
	want(t, "create web again", resp, page, http.StatusConflict, []string{`class="field-error"`, `value="web"`}, nil)
	resp, page = ana.do("POST", base+"/ui/apps", url.Values{"csrf": {csrf}, "name": {"no spaces allowed"}})
	want(t, "create a bad name", resp, page, http.StatusBadRequest, []string{`role="alert"`, "application"}, nil)
	resp, page = ana.do("GET", base+"/ui/apps/web", nil)
	want(t, "web", resp, page, http.StatusOK, []string{"the web site", "No revisions", "No deployment groups"}, nil)
	z := zipBundle(t)
	zsum := sha256.Sum256(z)
	zrev, _, err := c.Client(0).RevisionPush(t.Context(), "web", bytes.NewReader(z), int64(len(z)), hex.EncodeToString(zsum[:]), "")
	if err != nil {
		t.Fatal(err)
	}
	resp, page = ana.do("GET", base+"/ui/revisions/"+zrev.ID, nil)
	want(t, "zip revision", resp, page, http.StatusOK, []string{"site/appspec.yml", "version: 0.0", "site/index.html", "zip"}, []string{"could not be read"})

	// Sorting: newest name first, the header links to the other order.
	resp, page = ana.do("GET", base+"/ui/apps?sort=-name", nil)
	want(t, "apps by name, descending", resp, page, http.StatusOK, []string{`aria-sort="descending"`, `href="/ui/apps?sort=name"`}, nil)
	if strings.Index(page, `href="/ui/apps/web"`) > strings.Index(page, `href="/ui/apps/shop"`) {
		t.Error("apps sorted by -name: shop is listed before web")
	}
	resp, page = ana.do("GET", base+"/ui/apps?sort=name", nil)
	want(t, "apps by name", resp, page, http.StatusOK, []string{`aria-sort="ascending"`}, nil)
	if strings.Index(page, `href="/ui/apps/web"`) < strings.Index(page, `href="/ui/apps/shop"`) {
		t.Error("apps sorted by name: web is listed before shop")
	}

	// Paging: one application a page, the next link keeping the limit.
	resp, page = ana.do("GET", base+"/ui/apps?limit=1", nil)
	want(t, "apps, first page", resp, page, http.StatusOK, []string{`href="/ui/apps/shop"`, `href="/ui/apps?limit=1&amp;next=shop"`}, []string{`href="/ui/apps/web"`})
	resp, page = ana.do("GET", base+"/ui/apps?limit=1&next=shop", nil)
	want(t, "apps, second page", resp, page, http.StatusOK, []string{`href="/ui/apps/web"`}, []string{`href="/ui/apps/shop"`})
	resp, page = ana.do("GET", base+"/ui/hosts?limit=1", nil)
	want(t, "hosts, one a page", resp, page, http.StatusOK, []string{"/ui/hosts/host-1"}, []string{"Next page"})

	resp, page = ana.do("GET", base+"/ui/apps/shop", nil)
	want(t, "shop", resp, page, http.StatusOK, []string{`href="/ui/revisions/` + rev.ID + `"`, rev.ID[:8], "first cut", `href="/ui/apps/shop/groups/prod"`, "env=prod"}, nil)
	resp, page = ana.do("GET", base+"/ui/revisions/"+rev.ID, nil)
	want(t, "revision", resp, page, http.StatusOK, []string{"appspec.yml", "version: 0.0", "payload.txt", "28 B", `href="/ui/revisions/` + rev.ID + `/content"`}, nil)
	resp, body := ana.do("GET", base+"/ui/revisions/"+rev.ID+"/content", nil)
	if resp.StatusCode != http.StatusOK || body != string(b) || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d, %d bytes, %q", resp.StatusCode, len(body), resp.Header.Get("Content-Disposition"))
	}
	resp, page = ana.do("GET", base+"/ui/apps/shop/groups/prod", nil)
	want(t, "group", resp, page, http.StatusOK, []string{`href="/ui/hosts/host-1"`, "online", "env=prod", "OneAtATime"}, nil)

	// Without policies: the edge's 403 on every page.
	bo := newBrowser(t)
	bo.signIn(base, "bo")
	for _, p := range []string{"/ui/hosts", "/ui/hosts/host-1", "/ui/apps", "/ui/apps/shop", "/ui/apps/shop/groups/prod", "/ui/revisions/" + rev.ID, "/ui/revisions/" + rev.ID + "/content"} {
		if resp, page := bo.do("GET", base+p, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s for a user without policies: %d; want 403\n%s", p, resp.StatusCode, page)
		}
	}

	// A reader reads, sees no create form, and a forged create (with a valid CSRF token) is
	// refused by policy.
	cy := newBrowser(t)
	cy.signIn(base, "cy")
	resp, page = cy.do("GET", base+"/ui/apps", nil)
	want(t, "apps for a reader", resp, page, http.StatusOK, []string{`href="/ui/apps/shop"`, "ask an administrator"}[:1], []string{"Create an application", `action="/ui/apps"`})
	resp, _ = cy.do("POST", base+"/ui/apps", url.Values{"csrf": {field(t, page)}, "name": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a reader's create: %d; want 403", resp.StatusCode)
	}
	if resp, _ := ana.do("GET", base+"/ui/apps/forged", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the refused create made an application: %d", resp.StatusCode)
	}
	resp, page = cy.do("GET", base+"/ui/hosts/host-1", nil)
	want(t, "host for a reader", resp, page, http.StatusOK, []string{"Host host-1"}, nil)

	// A policy on app/shop covers its revisions (their resource is their application's, as in
	// the API), not another application.
	di := newBrowser(t)
	di.signIn(base, "di")
	resp, page = di.do("GET", base+"/ui/revisions/"+rev.ID, nil)
	want(t, "revision for shop's reader", resp, page, http.StatusOK, []string{"payload.txt", "/content\""}, nil)
	if resp, _ := di.do("GET", base+"/ui/revisions/"+rev.ID+"/content", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("download for shop's reader: %d", resp.StatusCode)
	}
	resp, page = di.do("GET", base+"/ui/apps/shop", nil)
	want(t, "shop for shop's reader", resp, page, http.StatusOK, []string{"do not allow codedeploy:ListApplicationRevisions"}, nil)
	if resp, _ := di.do("GET", base+"/ui/apps/web", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("web for shop's reader: %d; want 403", resp.StatusCode)
	}
}
