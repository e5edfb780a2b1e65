package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestProtectionPages drives a repository's branch protection page on a real cluster: a rule
// added through the form and read back by the API, refusals shown in the form with what was
// typed, the edit link's filled form replacing the rule, a reader who sees the rules without
// forms and is refused a forged one, a user without policies given the 403 page, and delete.
func TestProtectionPages(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	for _, u := range []string{"ana", "cy", "dan"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/CodeCommitReadOnlyAccess/attach", `{"user":"cy"}`)
	mustJSON(t, c, "POST", "/v1/repos", `{"name":"site"}`)
	page0 := base + "/ui/repos/site/protection"
	api := func() []pub.BranchProtection {
		t.Helper()
		l, err := c.Client(0).RepoProtections(t.Context(), "site")
		if err != nil {
			t.Fatal(err)
		}
		return l.Protections
	}

	ana := newBrowser(t)
	csrf := field(t, ana.signIn(base, "ana"))
	resp, page := ana.do("GET", base+"/ui/repos/site", nil)
	want(t, "the repository's links", resp, page, http.StatusOK, []string{`href="/ui/repos/site/protection"`, `href="/ui/repos/site/hooks"`}, nil)
	resp, page = ana.do("GET", page0, nil)
	want(t, "no rules", resp, page, http.StatusOK, []string{"No branch is protected", "Add a rule", `name="pattern"`, "No approval rule template"}, nil)

	resp, _ = ana.do("POST", page0, url.Values{"csrf": {csrf}, "pattern": {"main"}, "no_force_push": {"1"}, "require_pr": {"1"},
		"push_principals": {"ana\r\ngroup:leads\r\n"}, "required_statuses": {"ci/build"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/site/protection" {
		t.Fatalf("add a rule: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got := api()
	if len(got) != 1 || got[0].Pattern != "main" || !got[0].NoForcePush || got[0].NoDelete || !got[0].RequirePR ||
		!slices.Equal(got[0].PushPrincipals, []string{"ana", "group:leads"}) || !slices.Equal(got[0].RequiredStatuses, []string{"ci/build"}) {
		t.Fatalf("the rule the API reads: %+v", got)
	}
	resp, page = ana.do("GET", page0, nil)
	want(t, "the rule", resp, page, http.StatusOK, []string{"<code>main</code>", "<code>group:leads</code>", "<code>ci/build</code>", `href="?edit=main"`, ">Delete</button>"}, []string{"No branch is protected"})

	// Refusals: shown in the form, with what was typed.
	resp, page = ana.do("POST", page0, url.Values{"csrf": {csrf}, "pattern": {"release/*"}})
	want(t, "a rule that protects nothing", resp, page, http.StatusBadRequest, []string{`class="error"`, "protects nothing", `value="release/*"`}, nil)
	resp, page = ana.do("POST", page0, url.Values{"csrf": {csrf}, "pattern": {"refs/heads/x"}, "no_delete": {"1"}})
	want(t, "a bad pattern", resp, page, http.StatusBadRequest, []string{"without refs/heads/", `value="refs/heads/x"`, `name="no_delete" value="1" checked`}, nil)

	// The edit link fills the form; saving the same pattern replaces the rule.
	resp, page = ana.do("GET", page0+"?edit=main", nil)
	want(t, "the edit form", resp, page, http.StatusOK, []string{"Change the rule", `name="pattern" value="main"`, `name="no_force_push" value="1" checked`,
		`name="require_pr" value="1" checked`, "ana\ngroup:leads\n</textarea>", "ci/build\n</textarea>"}, []string{`name="no_delete" value="1" checked`})
	resp, _ = ana.do("POST", page0, url.Values{"csrf": {csrf}, "pattern": {"main"}, "no_delete": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replace the rule: %d", resp.StatusCode)
	}
	if got := api(); len(got) != 1 || got[0].NoForcePush || !got[0].NoDelete || got[0].RequirePR || len(got[0].PushPrincipals) != 0 {
		t.Fatalf("the replaced rule: %+v", got)
	}

	// A reader sees the rules and no forms; a forged change is refused and the rule stays.
	cy := newBrowser(t)
	cyCSRF := field(t, cy.signIn(base, "cy"))
	resp, page = cy.do("GET", page0, nil)
	want(t, "the rules for a reader", resp, page, http.StatusOK, []string{"<code>main</code>"}, []string{"Add a rule", "?edit=", ">Delete</button>"})
	for _, forged := range []string{page0, page0 + "/delete"} {
		resp, _ = cy.do("POST", forged, url.Values{"csrf": {cyCSRF}, "pattern": {"main"}, "no_force_push": {"1"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a reader's forged POST %s: %d", forged, resp.StatusCode)
		}
	}
	if got := api(); len(got) != 1 || !got[0].NoDelete {
		t.Fatalf("after the forged forms: %+v", got)
	}

	// A user without policies gets the 403 page.
	dan := newBrowser(t)
	dan.signIn(base, "dan")
	resp, page = dan.do("GET", page0, nil)
	want(t, "no policies", resp, page, http.StatusForbidden, []string{"Not allowed", "codecommit:GetBranchProtection"}, []string{"<code>main</code>"})

	// Delete; a second delete of the same pattern is refused on the page.
	resp, _ = ana.do("POST", page0+"/delete", url.Values{"csrf": {csrf}, "pattern": {"main"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if got := api(); len(got) != 0 {
		t.Fatalf("after delete: %+v", got)
	}
	resp, page = ana.do("POST", page0+"/delete", url.Values{"csrf": {csrf}, "pattern": {"main"}})
	want(t, "delete again", resp, page, http.StatusNotFound, []string{`class="error"`, "No branch is protected"}, nil)
	resp, _ = ana.do("GET", base+"/ui/repos/nope/protection", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown repository: %d", resp.StatusCode)
	}
}
