package console_test

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// gitIn runs the real git in dir with a clean environment and fails the test on an error.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"), "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=pusher", "GIT_AUTHOR_EMAIL=p@example.com", "GIT_COMMITTER_NAME=pusher", "GIT_COMMITTER_EMAIL=p@example.com"}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}

// hostile is a file that would run script in the console's origin if it were not escaped.
const hostile = "<script>alert(document.cookie)</script>\n<img src=x onerror=alert(1)>\n"

// pushSite pushes a repository with real git over HTTP: main with README.md, a hostile
// evil.html, a binary bin.dat and dir/a.txt; a branch feature/x one commit behind.
func pushSite(t *testing.T, c *testutil.Cluster, repo string) (dir string) {
	t.Helper()
	dir = t.TempDir()
	gitIn(t, dir, "init", "--quiet", "--initial-branch=main")
	write := func(name string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", []byte("Hello from the site.\nSecond line.\n"))
	write("dir/a.txt", []byte("a\n"))
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "--quiet", "-m", "first commit")
	gitIn(t, dir, "branch", "feature/x")
	write("evil.html", []byte(hostile))
	write("bin.dat", []byte{0, 1, 2, 3, 0})
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "--quiet", "-m", "add evil.html and bin.dat")
	u, _ := url.Parse(c.URL(0) + "/git/" + repo + ".git")
	u.User = url.UserPassword("x", testutil.ManagementToken)
	gitIn(t, dir, "push", "--quiet", u.String(), "main", "feature/x")
	return dir
}

var parentField = regexp.MustCompile(`name="parent" value="([0-9a-f]*)"`)

// TestRepoPages drives the repository pages on a real cluster with real pushes: creating a
// repository through the form, its clone URL and empty state, the tree, README, a file with
// line numbers and hostile content escaped, a binary file, the raw download's safe headers,
// the log, a commit, compare, branches and tags, editing a file (a commit through the push
// path, then a stale base refused with the text kept), a new file, a reader without forms and
// refused a forged edit, a user whose push policy allows feature/* only, and delete with
// typed confirmation after a rename in the settings form.
func TestRepoPages(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	for _, u := range []string{"ana", "cy"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "PATCH", "/v1/iam/users/ana", `{"display_name":"Ana Admin","email":"ana@example.com"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/CodeCommitReadOnlyAccess/attach", `{"user":"cy"}`)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"fay","password":"`+password+`"}`)
	doc, _ := json.Marshal(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":["codecommit:PutFile","codecommit:Get*","codecommit:List*"],"Resource":"*"},
	  {"Effect":"Allow","Action":"codecommit:GitPush","Resource":"*","Condition":{"StringLike":{"slipway:ReferenceName":"refs/heads/feature/*"}}}]}`)
	mustJSON(t, c, "POST", "/v1/iam/policies", `{"name":"feature-only","document":`+string(doc)+`}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/feature-only/attach", `{"user":"fay"}`)

	ana := newBrowser(t)
	csrf := field(t, ana.signIn(base, "ana"))
	resp, page := ana.do("GET", base+"/ui/repos", nil)
	want(t, "no repositories", resp, page, http.StatusOK, []string{"No repositories yet", "Create a repository", `href="/ui/repos"`}, nil)
	resp, page = ana.do("POST", base+"/ui/repos", url.Values{"csrf": {csrf}, "name": {"bad name"}, "default_branch": {"main"}})
	want(t, "a bad name", resp, page, http.StatusBadRequest, []string{`class="error"`, "bad name"}, nil)
	resp, _ = ana.do("POST", base+"/ui/repos", url.Values{"csrf": {csrf}, "name": {"site"}, "description": {"the site"}, "default_branch": {"main"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/site" {
		t.Fatalf("create: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", base+"/ui/repos/site", nil)
	want(t, "an empty repository", resp, page, http.StatusOK, []string{"An empty repository", `value="` + base + `/git/site.git"`, `data-copy="clone-http"`, `id="clone-ssh"`, `value="ssh://git@127.0.0.1:`, `data-copy="clone-ssh"`, "git.js", "create the first file"}, nil)

	pushSite(t, c, "site")
	resp, page = ana.do("GET", base+"/ui/repos", nil)
	want(t, "repositories", resp, page, http.StatusOK, []string{`href="/ui/repos/site"`, "the site"}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site", nil)
	want(t, "the repository", resp, page, http.StatusOK, []string{"Hello from the site.\nSecond line.", `href="/ui/repos/site/tree/main/dir"`,
		`href="/ui/repos/site/blob/main/evil.html"`, `href="/ui/repos/site/tree/feature%2Fx/"`, "Delete this repository", "Settings", "New file"}, []string{"An empty repository"})
	resp, page = ana.do("GET", base+"/ui/repos/site/tree/main/dir", nil)
	want(t, "a directory", resp, page, http.StatusOK, []string{`href="/ui/repos/site/blob/main/dir/a.txt"`, `href="/ui/repos/site/tree/main/"`}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/tree/feature%2Fx/", nil)
	if resp, _ := ana.do("GET", base+"/ui/repos/site/tree/feature%2Fx", nil); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/ui/repos/site/tree/feature%2Fx/" {
		t.Fatalf("a tree without its slash: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	want(t, "a branch with a slash", resp, page, http.StatusOK, []string{"README.md", "Branch: <code>feature/x</code>"}, []string{"evil.html"})
	resp, page = ana.do("GET", base+"/ui/repos/site/blob/main/evil.html", nil)
	want(t, "a hostile file", resp, page, http.StatusOK, []string{`<td class="ln"><a href="#L2">2</a>`, html.EscapeString("<script>alert(document.cookie)</script>"),
		`href="/ui/repos/site/raw/main/evil.html"`, `href="/ui/repos/site/edit/main/evil.html"`}, []string{"<script>alert", "<img src=x"})
	resp, page = ana.do("GET", base+"/ui/repos/site/blob/main/bin.dat", nil)
	want(t, "a binary file", resp, page, http.StatusOK, []string{"This is a binary file"}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/raw/main/evil.html", nil)
	if resp.StatusCode != http.StatusOK || page != hostile || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		resp.Header.Get("Content-Disposition") != "attachment; filename=evil.html" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("raw: %d %v %q", resp.StatusCode, resp.Header, page)
	}
	resp, page = ana.do("GET", base+"/ui/repos/site/blob/main/nope.txt", nil)
	want(t, "a missing file", resp, page, http.StatusNotFound, []string{"nope.txt"}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/tree/main/..%2F..%2Fetc", nil)
	want(t, "a path out of the tree", resp, page, http.StatusBadRequest, nil, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/commits/main", nil)
	want(t, "the log", resp, page, http.StatusOK, []string{"add evil.html and bin.dat", "first commit", "pusher"}, nil)
	head := regexp.MustCompile(`/ui/repos/site/commit/([0-9a-f]{40})`).FindStringSubmatch(page)[1]
	resp, page = ana.do("GET", base+"/ui/repos/site/commit/"+head, nil)
	want(t, "a commit", resp, page, http.StatusOK, []string{"add evil.html and bin.dat", `<span class="add">&#43;&lt;script&gt;`, "binary"}, []string{"<script>alert"})
	resp, page = ana.do("GET", base+"/ui/repos/site/compare?base=feature%2Fx&head=main", nil)
	want(t, "compare", resp, page, http.StatusOK, []string{"evil.html", "bin.dat"}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/branches", nil)
	want(t, "branches", resp, page, http.StatusOK, []string{`href="/ui/repos/site/tree/feature%2Fx/"`, "default"}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/tags", nil)
	want(t, "tags", resp, page, http.StatusOK, []string{"No tags yet"}, nil)

	// Edit README.md on main: a commit through the push path, authored by the user.
	resp, page = ana.do("GET", base+"/ui/repos/site/edit/main/README.md", nil)
	want(t, "the editor", resp, page, http.StatusOK, []string{"<textarea", "Hello from the site.\nSecond line.\n</textarea>", `value="` + head + `"`}, nil)
	resp, _ = ana.do("POST", base+"/ui/repos/site/edit/main/README.md", url.Values{"csrf": {csrf}, "parent": {head}, "content": {"Hello, edited.\r\n"}, "message": {"Edit the README in the browser"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/site/blob/main/README.md" {
		t.Fatalf("save: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", base+"/ui/repos/site/commits/main?path=README.md", nil)
	want(t, "the README's log", resp, page, http.StatusOK, []string{"Edit the README in the browser", "Ana Admin", "first commit"}, []string{"add evil.html"})
	var readme bytes.Buffer
	if err := c.Client(0).RepoContents(t.Context(), "site", contentsOf("main", "README.md"), 0, &readme); err != nil || readme.String() != "Hello, edited.\n" {
		t.Fatalf("README.md after the edit: %q, %v (CRLF from the browser is LF)", readme.String(), err)
	}
	resp, page = ana.do("POST", base+"/ui/repos/site/edit/main/README.md", url.Values{"csrf": {csrf}, "parent": {head}, "content": {"my <b>stale</b> text"}, "message": {"stale edit"}})
	want(t, "a stale edit", resp, page, http.StatusConflict, []string{"moved since you opened the file", "my &lt;b&gt;stale&lt;/b&gt; text</textarea>", `value="stale edit"`, `value="` + head + `"`}, nil)
	resp, _ = ana.do("GET", base+"/ui/repos/site/new/main/dir", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("new file form: %d", resp.StatusCode)
	}
	_, page = ana.do("GET", base+"/ui/repos/site/edit/main/README.md", nil)
	now := parentField.FindStringSubmatch(page)[1]
	resp, _ = ana.do("POST", base+"/ui/repos/site/new/main/dir", url.Values{"csrf": {csrf}, "parent": {now}, "path": {"dir/new.txt"}, "content": {"new\n"}, "message": {"Add dir/new.txt"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/site/blob/main/dir/new.txt" {
		t.Fatalf("new file: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", base+"/ui/repos/site/edit/main/bin.dat", nil)
	want(t, "editing a binary file", resp, page, http.StatusBadRequest, []string{"binary file"}, nil)

	// A reader: no forms, no edit links, and a forged edit refused by the edge.
	cy := newBrowser(t)
	cyCSRF := field(t, cy.signIn(base, "cy"))
	resp, page = cy.do("GET", base+"/ui/repos/site", nil)
	want(t, "the repository for a reader", resp, page, http.StatusOK, []string{"Hello, edited."}, []string{"Delete this repository", "Settings", "New file"})
	resp, page = cy.do("GET", base+"/ui/repos/site/blob/main/README.md", nil)
	want(t, "a file for a reader", resp, page, http.StatusOK, []string{"Download"}, []string{"/edit/"})
	resp, _ = cy.do("POST", base+"/ui/repos/site/edit/main/README.md", url.Values{"csrf": {cyCSRF}, "parent": {now}, "content": {"x"}, "message": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a reader's forged edit: %d", resp.StatusCode)
	}
	resp, _ = cy.do("POST", base+"/ui/repos", url.Values{"csrf": {cyCSRF}, "name": {"mine"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a reader's forged create: %d", resp.StatusCode)
	}

	// A user whose push policy allows feature/* only: main refused in the form, feature/x saved.
	fay := newBrowser(t)
	fayCSRF := field(t, fay.signIn(base, "fay"))
	_, page = fay.do("GET", base+"/ui/repos/site/edit/main/dir/new.txt", nil)
	mainHead := parentField.FindStringSubmatch(page)[1]
	resp, page = fay.do("POST", base+"/ui/repos/site/edit/main/dir/new.txt", url.Values{"csrf": {fayCSRF}, "parent": {mainHead}, "content": {"fay's"}, "message": {"on main"}})
	want(t, "fay on main", resp, page, http.StatusForbidden, []string{"refs/heads/main", "fay&#39;s</textarea>"}, nil)
	_, page = fay.do("GET", base+"/ui/repos/site/edit/feature%2Fx/dir/a.txt", nil)
	featHead := parentField.FindStringSubmatch(page)[1]
	resp, _ = fay.do("POST", base+"/ui/repos/site/edit/feature%2Fx/dir/a.txt", url.Values{"csrf": {fayCSRF}, "parent": {featHead}, "content": {"by fay\n"}, "message": {"fay on feature"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/site/blob/feature%2Fx/dir/a.txt" {
		t.Fatalf("fay on feature/x: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The first file of an empty repository, from its page's link.
	mustJSON(t, c, "POST", "/v1/repos", `{"name":"fresh"}`)
	resp, page = ana.do("GET", base+"/ui/repos/fresh/new/main/", nil)
	want(t, "the first file's form", resp, page, http.StatusOK, []string{`name="parent" value=""`, `name="path"`}, nil)
	resp, _ = ana.do("POST", base+"/ui/repos/fresh/new/main/", url.Values{"csrf": {csrf}, "parent": {""}, "path": {"hello.txt"}, "content": {"hi\n"}, "message": {"First file"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/fresh/blob/main/hello.txt" {
		t.Fatalf("the first file: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", base+"/ui/repos/fresh/new/other/", nil)
	want(t, "a new file on a branch that does not exist", resp, page, http.StatusNotFound, []string{"no branch other"}, nil)

	// Settings: a bad default branch refused in the form, then a rename with a new description.
	resp, page = ana.do("POST", base+"/ui/repos/site/settings", url.Values{"csrf": {csrf}, "new_name": {"site"}, "description": {"d"}, "default_branch": {"a..b"}})
	want(t, "a bad default branch", resp, page, http.StatusBadRequest, []string{"a..b"}, nil)
	resp, _ = ana.do("POST", base+"/ui/repos/site/settings", url.Values{"csrf": {csrf}, "new_name": {"web"}, "description": {"renamed"}, "default_branch": {"main"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/web" {
		t.Fatalf("rename: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", base+"/ui/repos/web", nil)
	want(t, "the renamed repository", resp, page, http.StatusOK, []string{"renamed", base + "/git/web.git", "Hello, edited."}, nil)

	// Delete with typed confirmation.
	resp, page = ana.do("POST", base+"/ui/repos/web/delete", url.Values{"csrf": {csrf}, "confirm": {"site"}})
	want(t, "a wrong confirmation", resp, page, http.StatusBadRequest, []string{"Type the repository&#39;s name, web"}, nil)
	resp, _ = ana.do("POST", base+"/ui/repos/web/delete", url.Values{"csrf": {csrf}, "confirm": {"web"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos" {
		t.Fatalf("delete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = ana.do("GET", base+"/ui/repos/web", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after delete: %d", resp.StatusCode)
	}
}

func contentsOf(ref, path string) pub.BrowseOptions { return pub.BrowseOptions{Ref: ref, Path: path} }
