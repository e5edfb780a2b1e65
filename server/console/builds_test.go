package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

const consoleBuildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n"

// codebuildUser makes user name (the test's password) with one policy allowing actions on
// resources (without the srn:slipway:codebuild: prefix).
func codebuildUser(t *testing.T, c *testutil.Cluster, name string, actions []string, resources ...string) {
	t.Helper()
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+name+`","password":"`+password+`"}`)
	var res, acts []string
	for _, r := range resources {
		res = append(res, fmt.Sprintf("%q", "srn:slipway:codebuild:"+r))
	}
	for _, a := range actions {
		acts = append(acts, fmt.Sprintf("%q", a))
	}
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[%s],"Resource":[%s]}]}`, strings.Join(acts, ","), strings.Join(res, ","))
	mustJSON(t, c, "POST", "/v1/iam/policies", fmt.Sprintf(`{"name":%q,"document":%q}`, name+"-policy", doc))
	mustJSON(t, c, "POST", "/v1/iam/policies/"+name+"-policy/attach", `{"user":"`+name+`"}`)
}

var buildLocation = regexp.MustCompile(`^/ui/builds/([A-Za-z0-9_-]+:[0-9a-f-]{36})$`)

// startThroughForm starts a build of project from its page's form as b's user and answers the
// build's ID.
func startThroughForm(t *testing.T, b *browser, base, project string, form url.Values) string {
	t.Helper()
	resp, page := b.do("GET", base+"/ui/build-projects/"+project, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="start-form"`) {
		t.Fatalf("the project's page has no start form: %d %s", resp.StatusCode, page)
	}
	form.Set("csrf", field(t, page))
	resp, page = b.do("POST", base+"/ui/build-projects/"+project+"/builds", form)
	m := buildLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("start through the form: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	return m[1]
}

// TestBuildPages drives the build projects and builds pages over HTTP on a real server with a
// real repository: a project created through the form (its secret variable shown as a
// reference), refusals shown in their forms, a build started with a source version and an
// override, its page (QUEUED, the commit linked, its phases, the stop form), the lists and
// their filter, the log route the page's script polls, stop, edit and delete; then what a
// read-only user, a user allowed some projects only and a user without policies get.
func TestBuildPages(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	cl := c.Client(0)
	ctx := context.Background()
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.RepoPutFile(ctx, "shop", pub.FilePutRequest{Branch: "main", Path: "buildspec.yml", Content: consoleBuildspec, Message: "buildspec"})
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	admin := newBrowser(t)
	if page := admin.signIn(base, "ana"); !strings.Contains(page, `href="/ui/build-projects"`) || !strings.Contains(page, `href="/ui/builds"`) {
		t.Fatalf("the navigation lacks the build pages: %s", page)
	}

	// The empty list offers the create form.
	resp, page := admin.do("GET", base+"/ui/build-projects", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "No build projects yet") || !strings.Contains(page, `href="/ui/build-projects/new"`) {
		t.Fatalf("the empty projects list: %d %s", resp.StatusCode, page)
	}
	resp, page = admin.do("GET", base+"/ui/build-projects/new", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<option value="shop">`) || !strings.Contains(page, `name="secrets"`) {
		t.Fatalf("the create form (with the repositories offered): %d %s", resp.StatusCode, page)
	}
	csrf := field(t, page)
	form := url.Values{"csrf": {csrf}, "name": {"shop-web"}, "description": {"the shop"}, "source_type": {pub.SourceSlipwayRepo},
		"repository": {"nope"}, "buildspec": {"buildspec.yml"}, "labels": {"os=linux"}, "variables": {"STAGE=test\nGREETING=a=b"},
		"secrets": {"DB_PASSWORD=prod/db/password"}, "timeout": {"30"}, "artifacts_type": {pub.ArtifactsBlob}, "cache_type": {pub.CacheLocal}}
	// A refusal is shown in the form, with what was typed kept.
	resp, page = admin.do("POST", base+"/ui/build-projects", form)
	if resp.StatusCode != http.StatusNotFound || !regexp.MustCompile(`id="form-error">[^<]*nope`).MatchString(page) ||
		!strings.Contains(page, `value="shop-web"`) || !strings.Contains(page, "DB_PASSWORD=prod/db/password</textarea>") {
		t.Fatalf("a project on a missing repository: %d %s", resp.StatusCode, page)
	}
	bad := url.Values{"csrf": {csrf}, "name": {"x-y"}, "repository": {"shop"}, "variables": {"NOEQUALS"}}
	if resp, page := admin.do("POST", base+"/ui/build-projects", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Variables, line 1: write NAME=VALUE") {
		t.Fatalf("a variable line without '=': %d %s", resp.StatusCode, page)
	}
	form.Set("repository", "shop")
	resp, page = admin.do("POST", base+"/ui/build-projects", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/build-projects/shop-web" {
		t.Fatalf("create through the form: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	p, err := cl.ProjectGet(ctx, "shop-web", nil)
	if err != nil || p.Description != "the shop" || p.TimeoutMinutes != 30 || p.Environment.Labels["os"] != "linux" || len(p.Environment.Variables) != 3 ||
		p.Environment.Variables[1].Value != "a=b" || p.Environment.Variables[2].Type != pub.VariableSecretsManager || p.Artifacts.Type != pub.ArtifactsBlob || p.Cache.Type != pub.CacheLocal {
		t.Fatalf("the project made by the form: %+v, %v", p, err)
	}
	resp, page = admin.do("GET", base+"/ui/build-projects/shop-web", nil)
	for _, want := range []string{"Build project shop-web", `href="/ui/repos/shop"`, "secret <code>prod/db/password</code>", "30 minutes running",
		"No builds yet.", `id="start-form"`, `id="delete-form"`, `id="edit"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("the project's page lacks %q (%d)", want, resp.StatusCode)
		}
	}

	// A start naming no such version is refused in its form; one naming the branch queues a
	// build with the override.
	resp, page = admin.do("POST", base+"/ui/build-projects/shop-web/builds", url.Values{"csrf": {csrf}, "source_version": {"nosuchbranch"}})
	if resp.StatusCode != http.StatusNotFound || !regexp.MustCompile(`id="start-error">[^<]*nosuchbranch`).MatchString(page) || !strings.Contains(page, `value="nosuchbranch"`) {
		t.Fatalf("a start of an unknown version: %d %s", resp.StatusCode, page)
	}
	id := startThroughForm(t, admin, base, "shop-web", url.Values{"source_version": {"main"}, "variables": {"STAGE=ci"}})
	b, err := cl.BuildGet(ctx, id, nil)
	if err != nil || b.Status != pub.BuildQueued || b.ResolvedSourceVersion != put.Commit || b.SourceVersion != "main" || b.Environment.Variables[0].Value != "ci" {
		t.Fatalf("the build started by the form: %+v, %v", b, err)
	}
	resp, page = admin.do("GET", base+"/ui/builds/"+id, nil)
	for _, want := range []string{`<span id="build-status" class="badge queued">QUEUED</span>`, `data-phase="SUBMITTED"`, `data-phase="QUEUED"`,
		`id="commit-link" href="/ui/repos/shop/commit/` + put.Commit + `/"`, "Stop build", "/ui/assets/build.js", `data-done="false"`, "ana",
		"secret <code>prod/db/password</code>", "Uploaded when the build ends."} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("the build's page lacks %q (%d)", want, resp.StatusCode)
		}
	}
	if resp, js := admin.do("GET", base+"/ui/assets/build.js", nil); resp.StatusCode != http.StatusOK || !strings.Contains(js, "/log?after=") {
		t.Errorf("build.js: %d", resp.StatusCode)
	}
	// The script's log route answers JSON with the build's status.
	resp, body := admin.do("GET", base+"/ui/builds/"+id+"/log?after=0", nil)
	var la struct {
		Lines  []json.RawMessage `json:"lines"`
		Status string            `json:"status"`
		Phase  string            `json:"phase"`
		Ended  bool              `json:"ended"`
		Phases []struct {
			Name, Status, Started, Duration string
			Running                         bool
		} `json:"phases"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &la) != nil || la.Status != pub.BuildQueued || la.Phase != "QUEUED" || la.Ended || la.Lines == nil {
		t.Fatalf("the log route: %d %s", resp.StatusCode, body)
	}
	// With the phases table's rows: SUBMITTED ended, QUEUED running (no status yet), each with
	// its start and a duration.
	if len(la.Phases) != 2 || la.Phases[0].Name != "SUBMITTED" || la.Phases[0].Status != "SUCCEEDED" || la.Phases[0].Running ||
		la.Phases[1].Name != "QUEUED" || la.Phases[1].Status != "" || !la.Phases[1].Running || la.Phases[1].Duration == "" || !strings.HasSuffix(la.Phases[1].Started, "Z") {
		t.Errorf("the log route's phases: %+v", la.Phases)
	}
	if resp, _ := admin.do("GET", base+"/ui/builds/"+id+"/log?after=x", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the log route after=x: %d", resp.StatusCode)
	}
	if resp, _ := admin.do("GET", base+"/ui/builds/"+id+"/artifacts/primary", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an artifact of a build without artifacts: %d", resp.StatusCode)
	}
	if resp, _ := admin.do("GET", base+"/ui/builds/not-an-id", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a malformed build ID: %d", resp.StatusCode)
	}

	// The lists: every build, the status filter, the project's last build.
	for _, tc := range []struct {
		query string
		want  bool
	}{{"", true}, {"?status=QUEUED", true}, {"?status=SUCCEEDED", false}} {
		resp, page := admin.do("GET", base+"/ui/builds"+tc.query, nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(page, `href="/ui/builds/`+id+`"`) != tc.want {
			t.Errorf("builds %q: %d, lists the build: %v; want %v", tc.query, resp.StatusCode, !tc.want, tc.want)
		}
	}
	if resp, page := admin.do("GET", base+"/ui/builds?status=bogus", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not a build status") {
		t.Errorf("builds with a bad status: %d", resp.StatusCode)
	}
	resp, page = admin.do("GET", base+"/ui/build-projects", nil)
	if resp.StatusCode != http.StatusOK || !regexp.MustCompile(`href="/ui/builds/`+regexp.QuoteMeta(id)+`">#1</a> <span class="badge queued">QUEUED`).MatchString(page) {
		t.Errorf("the projects list lacks the last build: %d %s", resp.StatusCode, page)
	}

	// Delete is refused while a build is queued; stop, then delete works.
	resp, page = admin.do("POST", base+"/ui/build-projects/shop-web/delete", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, `id="delete-error"`) {
		t.Errorf("delete with a queued build: %d %s", resp.StatusCode, page)
	}
	resp, _ = admin.do("POST", base+"/ui/builds/"+id+"/stop", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/builds/"+id {
		t.Fatalf("stop through the form: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = admin.do("GET", base+"/ui/builds/"+id, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `class="badge stopped">STOPPED</span>`) || strings.Contains(page, "Stop build") ||
		!strings.Contains(page, `data-done="true"`) || !strings.Contains(page, "This build has ended.") {
		t.Errorf("the stopped build's page: %d %s", resp.StatusCode, page)
	}

	// Edit: the form replaces the settings; a refusal shows it again, open.
	resp, page = admin.do("POST", base+"/ui/build-projects/shop-web", url.Values{"csrf": {csrf}, "description": {"edited"}, "source_type": {pub.SourceSlipwayRepo},
		"repository": {"shop"}, "timeout": {"1"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="edit-error"`) || !strings.Contains(page, `<details id="edit" open>`) {
		t.Errorf("an edit with a timeout under the bound: %d %s", resp.StatusCode, page)
	}
	resp, _ = admin.do("POST", base+"/ui/build-projects/shop-web", url.Values{"csrf": {csrf}, "description": {"edited"}, "source_type": {pub.SourceSlipwayRepo},
		"repository": {"shop"}, "timeout": {"45"}, "secrets": {"TOKEN=ci/token"}})
	if p, err := cl.ProjectGet(ctx, "shop-web", &pub.QueryOptions{Consistent: true}); resp.StatusCode != http.StatusSeeOther || err != nil || p.Description != "edited" ||
		p.TimeoutMinutes != 45 || len(p.Environment.Variables) != 1 || p.Environment.Variables[0].Name != "TOKEN" {
		t.Errorf("edit through the form: %d %+v %v", resp.StatusCode, p, err)
	}

	// A reader sees the pages without forms; a forged form is refused by policy.
	codebuildUser(t, c, "rita", []string{"codebuild:ListProjects", "codebuild:BatchGetProjects", "codebuild:ListBuilds", "codebuild:BatchGetBuilds",
		"codebuild:ListBuildsForProject"}, "project/*")
	reader := newBrowser(t)
	reader.signIn(base, "rita")
	resp, page = reader.do("GET", base+"/ui/build-projects/shop-web", nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, `id="start-form"`) || strings.Contains(page, `id="delete-form"`) || strings.Contains(page, `id="edit"`) ||
		!strings.Contains(page, `href="/ui/builds/`+id+`"`) {
		t.Errorf("the reader's project page: %d %s", resp.StatusCode, page)
	}
	queued, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "shop-web"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, page := reader.do("GET", base+"/ui/builds/"+queued.ID, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "QUEUED") || strings.Contains(page, "Stop build") {
		t.Errorf("the reader's page of a queued build (no Stop): %d %s", resp.StatusCode, page)
	}
	if _, err := cl.BuildStop(ctx, queued.ID); err != nil {
		t.Fatal(err)
	}
	if resp, page := reader.do("GET", base+"/ui/build-projects", nil); resp.StatusCode != http.StatusOK || strings.Contains(page, `id="new-project"`) {
		t.Errorf("the reader's projects list: %d", resp.StatusCode)
	}
	rcsrf := field(t, page)
	for _, forged := range []struct{ path string }{{"/ui/builds/" + id + "/stop"}, {"/ui/build-projects/shop-web/builds"}, {"/ui/build-projects/shop-web/delete"},
		{"/ui/build-projects/shop-web"}, {"/ui/build-projects"}} {
		if resp, _ := reader.do("POST", base+forged.path, url.Values{"csrf": {rcsrf}, "name": {"forged"}, "repository": {"shop"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("the reader's forged POST %s: %d; want 403", forged.path, resp.StatusCode)
		}
	}
	if resp, _ := reader.do("GET", base+"/ui/build-projects/new", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the reader's create form: %d; want 403", resp.StatusCode)
	}
	// A form without its CSRF token is refused before any policy.
	if resp, _ := admin.do("POST", base+"/ui/build-projects/shop-web/builds", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a start without its CSRF token: %d; want 403", resp.StatusCode)
	}

	// A user allowed the a-* projects only: another project's build and page are 403.
	codebuildUser(t, c, "alex", []string{"codebuild:BatchGetBuilds", "codebuild:BatchGetProjects", "codebuild:StopBuild"}, "project/a-*")
	limited := newBrowser(t)
	limited.signIn(base, "alex")
	for _, path := range []string{"/ui/builds/" + id, "/ui/builds/" + id + "/log", "/ui/build-projects/shop-web"} {
		if resp, _ := limited.do("GET", base+path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s allowed a-* only: %d; want 403", path, resp.StatusCode)
		}
	}
	resp, page = limited.do("GET", base+"/ui/", nil)
	if resp, _ := limited.do("POST", base+"/ui/builds/"+id+"/stop", url.Values{"csrf": {field(t, page)}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a stop of another project's build, allowed a-* only: %d; want 403", resp.StatusCode)
	}

	// A user without policies gets 403 on every build page.
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"nora","password":"`+password+`"}`)
	none := newBrowser(t)
	none.signIn(base, "nora")
	for _, path := range []string{"/ui/builds", "/ui/build-projects", "/ui/builds/" + id, "/ui/build-projects/shop-web"} {
		if resp, _ := none.do("GET", base+path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s without policies: %d; want 403", path, resp.StatusCode)
		}
	}

	// Delete through the form, now that no build is queued.
	resp, _ = admin.do("POST", base+"/ui/build-projects/shop-web/delete", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/build-projects" {
		t.Fatalf("delete through the form: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := admin.do("GET", base+"/ui/build-projects/shop-web", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the deleted project's page: %d; want 404", resp.StatusCode)
	}
}

var (
	buildNumbers = regexp.MustCompile(`<a href="/ui/builds/[^"]+">p-a #(\d+)</a>`)
	nextLink     = regexp.MustCompile(`<a rel="next" href="([^"]+)">`)
)

// listPages follows a list's pages from path and answers the build numbers (or, with re, the
// matches) of each page.
func listPages(t *testing.T, b *browser, base, path string, re *regexp.Regexp) [][]string {
	t.Helper()
	var pages [][]string
	for path != "" && len(pages) < 10 {
		resp, page := b.do("GET", base+path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, page)
		}
		var got []string
		for _, m := range re.FindAllStringSubmatch(page, -1) {
			got = append(got, m[1])
		}
		pages = append(pages, got)
		path = ""
		if m := nextLink.FindStringSubmatch(page); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return pages
}

// TestBuildListsPaging pages the builds list (every build, and filtered by status across the
// service's pages) and the projects list with ?limit=.
func TestBuildListsPaging(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	cl := c.Client(0)
	ctx := context.Background()
	for _, name := range []string{"p-c", "p-a", "p-b"} {
		if _, err := cl.ProjectCreate(ctx, pub.ProjectCreateRequest{Name: name, Source: pub.ProjectSource{Type: pub.SourceNone, BuildspecInline: consoleBuildspec}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		b, err := cl.BuildStart(ctx, pub.BuildStartRequest{Project: "p-a"})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := cl.BuildStop(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"ana","password":"`+password+`"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	admin := newBrowser(t)
	admin.signIn(base, "ana")
	for _, tc := range []struct{ path, want string }{
		{"/ui/builds?limit=2", "[[5 4] [3 2] [1]]"},
		{"/ui/builds?status=QUEUED&limit=2", "[[5 3] [1]]"},
		{"/ui/builds?status=STOPPED&limit=1", "[[4] [2] []]"},
		{"/ui/builds?status=QUEUED", "[[5 3 1]]"},
	} {
		if got := fmt.Sprint(listPages(t, admin, base, tc.path, buildNumbers)); got != tc.want {
			t.Errorf("%s: pages of build numbers %s; want %s", tc.path, got, tc.want)
		}
	}
	projects := regexp.MustCompile(`<tr class="project" data-project="([^"]+)">`)
	if got := fmt.Sprint(listPages(t, admin, base, "/ui/build-projects?limit=2", projects)); got != "[[p-a p-b] [p-c]]" {
		t.Errorf("the projects' pages: %s", got)
	}
}
