package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
)

var sourceField = regexp.MustCompile(`name="source_commit" value="([0-9a-f]{40})"`)

// between fails unless page has a, then b, then c, in that order.
func between(t *testing.T, what, page, a, b, c string) {
	t.Helper()
	i, j, k := strings.Index(page, a), strings.Index(page, b), strings.Index(page, c)
	if i < 0 || j < i || k < j {
		t.Fatalf("%s: want %q, then %q, then %q; at %d, %d, %d", what, a, b, c, i, j, k)
	}
}

// TestPullRequestPages drives the pull request pages on a real cluster with pushes by the real
// git: opening one through the form (a refusal shown in it), the list and its filters, the
// conversation page (escaped description, the rule and whether it holds, mergeability, the
// timeline), a merge refused while the rule does not hold, a line comment placed under its line
// on the files page, another user without edit or delete on it and refused a forged delete,
// an approval made stale by a new revision and the comment then "on an older revision", a merge
// of a source that moved since the page refused, the squash merge through the form, and the
// edge's 403 for a user without codecommit:GetPullRequest.
func TestPullRequestPages(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	for _, u := range []string{"ana", "bo", "cy", "dee"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"bo"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/CodeCommitReadOnlyAccess/attach", `{"user":"cy"}`)
	doc, _ := json.Marshal(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codecommit:ListPullRequests","codecommit:GetRepository"],"Resource":"*"}]}`)
	mustJSON(t, c, "POST", "/v1/iam/policies", `{"name":"pr-list-only","document":`+string(doc)+`}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/pr-list-only/attach", `{"user":"dee"}`)
	mustJSON(t, c, "POST", "/v1/repos", `{"name":"site"}`)
	dir := pushSite(t, c, "site")
	gitIn(t, dir, "checkout", "--quiet", "-b", "feature/y")
	writeFile(t, dir, "README.md", "Hello from the site.\nA <changed> second line.\nA third line.\n")
	gitIn(t, dir, "commit", "--quiet", "-am", "change the README")
	push := func() {
		u, _ := url.Parse(base + "/git/site.git")
		u.User = url.UserPassword("x", testutil.ManagementToken)
		gitIn(t, dir, "push", "--quiet", u.String(), "feature/y")
	}
	push()

	ana := newBrowser(t)
	csrf := field(t, ana.signIn(base, "ana"))
	resp, page := ana.do("GET", base+"/ui/repos/site", nil)
	want(t, "the repository's links", resp, page, http.StatusOK, []string{`href="/ui/pulls?repository=site"`, `href="/ui/repos/site/pulls/new"`, `href="/ui/pulls">Pull requests</a>`}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/pulls/new?source=feature%2Fy", nil)
	want(t, "the new form", resp, page, http.StatusOK, []string{`<option value="feature/y" selected>`, `<option value="main" selected>`}, nil)
	resp, page = ana.do("POST", base+"/ui/repos/site/pulls", url.Values{"csrf": {csrf}, "source": {"main"}, "destination": {"main"}, "title": {"same"}})
	want(t, "the same branch twice", resp, page, http.StatusBadRequest, []string{`class="error"`, "both main", `value="same"`}, nil)
	resp, _ = ana.do("POST", base+"/ui/repos/site/pulls", url.Values{"csrf": {csrf}, "source": {"feature/y"}, "destination": {"main"},
		"title": {"Change the README"}, "description": {"Why:\r\n<script>alert(1)</script>"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/pulls/1" {
		t.Fatalf("create: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustJSON(t, c, "POST", "/v1/pull-requests/1/rules", `{"name":"one reviewer","approvals":1,"pool":["bo"]}`)
	testutil.Eventually(t, 20*time.Second, func() error {
		p, err := c.Client(0).PullRequestGet(t.Context(), "1", nil)
		if err != nil || p.Mergeable == nil {
			return fmt.Errorf("mergeability not checked yet: %w", err)
		}
		return nil
	})

	// The list and its filters.
	resp, page = ana.do("GET", base+"/ui/pulls", nil)
	want(t, "the list", resp, page, http.StatusOK, []string{`href="/ui/pulls/1">Change the README`, "<code>feature/y</code> → <code>main</code>", "needs approval", "ana"}, nil)
	for q, shown := range map[string]bool{"?repository=site&author=ana": true, "?author=bo": false, "?status=merged": false, "?destination=main&status=all": true, "?destination=other": false} {
		resp, page = ana.do("GET", base+"/ui/pulls"+q, nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(page, `href="/ui/pulls/1"`) != shown {
			t.Errorf("the list %s: %d, shows #1: %v; want %v", q, resp.StatusCode, !shown, shown)
		}
	}
	mustJSON(t, c, "POST", "/v1/pull-requests", `{"repository":"site","source":"feature/x","destination":"main","title":"Second"}`)
	resp, page = ana.do("GET", base+"/ui/pulls?status=all&limit=1", nil)
	want(t, "the first page", resp, page, http.StatusOK, []string{`href="/ui/pulls/1"`, `href="/ui/pulls?limit=1&amp;next=1&amp;status=all"`}, []string{`href="/ui/pulls/2"`})
	resp, page = ana.do("GET", base+"/ui/pulls?limit=1&next=1&status=all", nil)
	want(t, "the second page", resp, page, http.StatusOK, []string{`href="/ui/pulls/2"`}, []string{`href="/ui/pulls/1"`})
	resp, page = ana.do("GET", base+"/ui/pulls?sort=-number", nil)
	want(t, "newest first", resp, page, http.StatusOK, []string{`aria-sort="descending"`}, nil)
	between(t, "newest first", page, `href="/ui/pulls/2"`, `href="/ui/pulls/1"`, "</table>")
	resp, page = ana.do("GET", base+"/ui/pulls?status=bogus", nil)
	want(t, "a bad status", resp, page, http.StatusBadRequest, []string{"bogus"}, nil)

	// The conversation page.
	resp, page = ana.do("GET", base+"/ui/pulls/1", nil)
	want(t, "the pull request", resp, page, http.StatusOK, []string{"Change the README", "Why:\n&lt;script&gt;alert(1)&lt;/script&gt;", "one reviewer",
		"not yet", `<span class="badge ok">mergeable</span>`, "created", "Squash and merge", "Fast-forward", "Close the pull request", "No approvals yet."},
		[]string{"<script>alert(1)", "Approve revision"}) // ana opened it: she cannot approve it
	src := sourceField.FindStringSubmatch(page)[1]
	resp, page = ana.do("POST", base+"/ui/pulls/1/merge/squash", url.Values{"csrf": {csrf}, "source_commit": {src}})
	want(t, "a merge before the approval", resp, page, http.StatusConflict, []string{`role="alert"`, "does not meet its approval rules", "one reviewer needs 1 approvals"}, nil)

	// Title, description, close and reopen; an unknown number and one that is not a number.
	for _, f := range []struct {
		path string
		form url.Values
		has  string
	}{
		{"title", url.Values{"title": {"Change the README, better"}}, "Change the README, better"},
		{"description", url.Values{"description": {"Now with <b>reasons</b>."}}, "Now with &lt;b&gt;reasons&lt;/b&gt;."},
		{"status", url.Values{"status": {"closed"}}, "Reopen the pull request"},
		{"status", url.Values{"status": {"open"}}, "Close the pull request"},
	} {
		f.form.Set("csrf", csrf)
		if resp, _ := ana.do("POST", base+"/ui/pulls/1/"+f.path, f.form); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/pulls/1" {
			t.Fatalf("%s %v: %d %q", f.path, f.form, resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, page = ana.do("GET", base+"/ui/pulls/1", nil)
		want(t, "after "+f.path, resp, page, http.StatusOK, []string{f.has}, nil)
	}
	resp, page = ana.do("POST", base+"/ui/pulls/1/status", url.Values{"csrf": {csrf}, "status": {"open"}})
	want(t, "reopening an open one", resp, page, http.StatusConflict, []string{"already open"}, nil)
	resp, _ = ana.do("GET", base+"/ui/pulls/999", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown pull request: %d", resp.StatusCode)
	}
	resp, _ = ana.do("GET", base+"/ui/pulls/x", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a pull request that is not a number: %d", resp.StatusCode)
	}

	// A reader sees it all and none of the forms; a forged merge is refused by the edge.
	cy := newBrowser(t)
	cyCSRF := field(t, cy.signIn(base, "cy"))
	resp, page = cy.do("GET", base+"/ui/pulls/1", nil)
	want(t, "the pull request for a reader", resp, page, http.StatusOK, []string{"Change the README", "one reviewer", "No comments yet."},
		[]string{"Squash and merge", "Approve revision", "Close the pull request", `action="/ui/pulls/1/comments"`, "Edit the title"})
	resp, _ = cy.do("POST", base+"/ui/pulls/1/merge/squash", url.Values{"csrf": {cyCSRF}, "source_commit": {src}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a reader's forged merge: %d", resp.StatusCode)
	}

	// A line comment, placed under its line; the commits page.
	resp, page = ana.do("GET", base+"/ui/pulls/1/commits", nil)
	want(t, "the commits", resp, page, http.StatusOK, []string{"change the README", `href="/ui/repos/site/commit/` + src + `"`}, nil)
	resp, page = ana.do("GET", base+"/ui/pulls/1/files", nil)
	link := "/ui/pulls/1/files?comment=README.md%3Asource%3A2#f0-s2"
	want(t, "the files", resp, page, http.StatusOK, []string{"<code>README.md</code>", `id="f0-s2"`, `id="f0-d2"`, `href="` + attr(link) + `"`, "&lt;changed&gt;"}, []string{`name="line"`})
	resp, page = ana.do("GET", base+strings.Split(link, "#")[0], nil)
	want(t, "the comment form", resp, page, http.StatusOK, []string{`name="path" value="README.md"`, `name="side" value="source"`, `name="line" value="2"`, `name="commit" value="` + src + `"`}, nil)
	resp, _ = ana.do("POST", base+"/ui/pulls/1/comments", url.Values{"csrf": {csrf}, "back": {"files"}, "path": {"README.md"}, "side": {"source"}, "line": {"2"}, "commit": {src}, "body": {"Why <this> line?"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/pulls/1/files#c1" {
		t.Fatalf("a line comment: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", base+"/ui/pulls/1/files", nil)
	want(t, "the files with the comment", resp, page, http.StatusOK, []string{"/ui/pulls/1/comments/1/edit", "/ui/pulls/1/comments/1/delete"}, nil)
	between(t, "the comment under its line", page, `id="f0-s2"`, "Why &lt;this&gt; line?", `id="f0-s3"`)
	resp, page = ana.do("POST", base+"/ui/pulls/1/comments", url.Values{"csrf": {csrf}, "body": {""}})
	want(t, "an empty comment", resp, page, http.StatusBadRequest, []string{"the comment is empty", `id="new-comment"`}, nil)
	resp, page = ana.do("POST", base+"/ui/pulls/1/comments", url.Values{"csrf": {csrf}, "back": {"files"}, "path": {"README.md"}, "side": {"source"}, "line": {"2"}, "commit": {strings.Repeat("0", 40)}, "body": {"kept <text>"}})
	want(t, "a line comment refused", resp, page, http.StatusBadRequest, []string{`role="alert"`, "is not the source of any revision", `class="stack line-comment"`, "kept &lt;text&gt;</textarea>"}, nil)

	// Another user: no edit or delete on ana's comment, and a forged delete refused.
	bo := newBrowser(t)
	boCSRF := field(t, bo.signIn(base, "bo"))
	resp, page = bo.do("GET", base+"/ui/pulls/1/files", nil)
	want(t, "the files for bo", resp, page, http.StatusOK, []string{"Why &lt;this&gt; line?", "/ui/pulls/1/comments/1/replies"}, []string{"/comments/1/edit", "/comments/1/delete"})
	resp, page = bo.do("POST", base+"/ui/pulls/1/comments/1/delete", url.Values{"csrf": {boCSRF}, "back": {"files"}})
	want(t, "bo deleting ana's comment", resp, page, http.StatusForbidden, []string{"only its author may"}, nil)
	resp, _ = bo.do("POST", base+"/ui/pulls/1/comments/1/replies", url.Values{"csrf": {boCSRF}, "body": {"Because."}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/pulls/1#c2" {
		t.Fatalf("a reply: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = bo.do("POST", base+"/ui/pulls/1/approval", url.Values{"csrf": {boCSRF}, "state": {"APPROVE"}, "revision": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	resp, page = bo.do("GET", base+"/ui/pulls/1", nil)
	want(t, "after the approval", resp, page, http.StatusOK, []string{`<span class="badge ok">holds</span>`, "bo approved revision 1", "Revoke my approval", "Because."}, []string{"stale"})
	resp, _ = bo.do("POST", base+"/ui/pulls/1/approval", url.Values{"csrf": {boCSRF}, "state": {"REVOKE"}, "revision": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	resp, page = bo.do("GET", base+"/ui/pulls/1", nil)
	want(t, "after the revoke", resp, page, http.StatusOK, []string{"No approvals yet.", "Approve revision 1"}, []string{"holds"})
	if resp, _ := bo.do("POST", base+"/ui/pulls/1/approval", url.Values{"csrf": {boCSRF}, "state": {"APPROVE"}, "revision": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve again: %d", resp.StatusCode)
	}
	between(t, "the reply in its thread", page, `id="c1"`, `id="c2"`, `id="new-comment"`)

	// A new revision: bo's approval is stale, ana's comment on an older revision.
	writeFile(t, dir, "README.md", "Hello from the site.\nA <changed> second line.\nA third line, again.\n")
	gitIn(t, dir, "commit", "--quiet", "-am", "again")
	push()
	testutil.Eventually(t, 20*time.Second, func() error {
		if p, err := c.Client(0).PullRequestGet(t.Context(), "1", nil); err != nil || p.Revision.Number != 2 {
			return fmt.Errorf("no revision 2 yet: %w", err)
		}
		return nil
	})
	resp, page = ana.do("GET", base+"/ui/pulls/1", nil)
	want(t, "a stale approval", resp, page, http.StatusOK, []string{"stale: a later revision exists", "not yet", "Revision 2"}, nil)
	resp, page = ana.do("GET", base+"/ui/pulls/1/files", nil)
	want(t, "the files of revision 2", resp, page, http.StatusOK, []string{"Comments on an older revision", "README.md:2", "an older revision"}, nil)
	between(t, "the comment apart", page, "Comments on an older revision", "Why &lt;this&gt; line?", "</main>")
	resp, _ = bo.do("POST", base+"/ui/pulls/1/approval", url.Values{"csrf": {boCSRF}, "state": {"APPROVE"}, "revision": {"2"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve revision 2: %d", resp.StatusCode)
	}

	// Merge: the source the first page showed is refused, the current one merged with squash.
	resp, page = ana.do("POST", base+"/ui/pulls/1/merge/squash", url.Values{"csrf": {csrf}, "source_commit": {src}})
	want(t, "a merge of a moved source", resp, page, http.StatusConflict, []string{"moved since you looked", "review it and merge again"}, nil)
	_, page = ana.do("GET", base+"/ui/pulls/1", nil)
	src2 := sourceField.FindStringSubmatch(page)[1]
	resp, _ = ana.do("POST", base+"/ui/pulls/1/merge/squash", url.Values{"csrf": {csrf}, "source_commit": {src2}, "message": {"Squashed README"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/pulls/1" {
		t.Fatalf("merge: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", base+"/ui/pulls/1", nil)
	want(t, "merged", resp, page, http.StatusOK, []string{`<span class="badge pr-merged">merged</span> by ana with squash at revision 2`}, []string{"Squash and merge", "Close the pull request"})
	resp, page = ana.do("GET", base+"/ui/repos/site/commits/main", nil)
	want(t, "the squash on main", resp, page, http.StatusOK, []string{"Squashed README"}, nil)
	resp, page = ana.do("GET", base+"/ui/pulls?status=merged", nil)
	want(t, "the merged list", resp, page, http.StatusOK, []string{`href="/ui/pulls/1"`}, nil)

	// A user who may list but not read a pull request.
	dee := newBrowser(t)
	dee.signIn(base, "dee")
	resp, page = dee.do("GET", base+"/ui/pulls?status=all", nil)
	want(t, "the list for dee", resp, page, http.StatusOK, []string{`href="/ui/pulls/1"`}, nil)
	resp, page = dee.do("GET", base+"/ui/pulls/1", nil)
	want(t, "the pull request for dee", resp, page, http.StatusForbidden, []string{"codecommit:GetPullRequest"}, nil)
	resp, _ = dee.do("GET", base+"/ui/pulls/1/files", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the files for dee: %d", resp.StatusCode)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// attr escapes a link as html/template writes it in an attribute.
func attr(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }
