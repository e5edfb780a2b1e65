package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestApprovalTemplatePages drives the approval rule templates' pages on a real cluster: create
// (refusals in the form with what was typed), associate with a repository (an unknown one
// refused on the page) and see it on the repository's protection page, change the rule,
// disassociate, a reader without forms and refused a forged association, a user allowed the
// content but not the description refused a changed description, and delete; each change read
// back through the API.
func TestApprovalTemplatePages(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	for _, u := range []string{"ana", "cy", "flo"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	policy := func(name string, actions ...string) {
		a, _ := json.Marshal(actions)
		doc, _ := json.Marshal(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + string(a) + `,"Resource":"*"}]}`)
		mustJSON(t, c, "POST", "/v1/iam/policies", `{"name":"`+name+`","document":`+string(doc)+`}`)
	}
	policy("tpl-read", "codecommit:ListApprovalRuleTemplates", "codecommit:GetApprovalRuleTemplate", "codecommit:ListRepositories")
	policy("tpl-content", "codecommit:GetApprovalRuleTemplate", "codecommit:UpdateApprovalRuleTemplateContent")
	mustJSON(t, c, "POST", "/v1/iam/policies/tpl-read/attach", `{"user":"cy"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/tpl-content/attach", `{"user":"flo"}`)
	for _, r := range []string{"site", "web"} {
		mustJSON(t, c, "POST", "/v1/repos", `{"name":"`+r+`"}`)
	}
	list, tpl := base+"/ui/approval-templates", base+"/ui/approval-templates/reviewers-required"
	read := func() pub.ApprovalTemplate {
		t.Helper()
		got, err := c.Client(0).ApprovalTemplateGet(t.Context(), "reviewers-required", nil)
		if err != nil {
			t.Fatal(err)
		}
		return *got
	}

	ana := newBrowser(t)
	csrf := field(t, ana.signIn(base, "ana"))
	resp, page := ana.do("GET", list, nil)
	want(t, "no templates", resp, page, http.StatusOK, []string{"No approval rule templates yet", "Create a template", `href="/ui/approval-templates"`}, nil)
	form := url.Values{"csrf": {csrf}, "name": {"reviewers-required"}, "description": {"one reviewer"}, "approvals": {"x"}, "pool": {"group:reviewers"}, "branches": {"main"}}
	resp, page = ana.do("POST", list, form)
	want(t, "approvals not a number", resp, page, http.StatusBadRequest, []string{"Approvals is a number", `value="reviewers-required"`, "group:reviewers\n</textarea>"}, nil)
	form.Set("approvals", "30")
	resp, page = ana.do("POST", list, form)
	want(t, "too many approvals", resp, page, http.StatusBadRequest, []string{"1-25 approvals", `value="30"`}, nil)
	form.Set("approvals", "1")
	resp, _ = ana.do("POST", list, form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/approval-templates/reviewers-required" {
		t.Fatalf("create: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := read(); got.Approvals != 1 || !slices.Equal(got.Pool, []string{"group:reviewers"}) || !slices.Equal(got.Branches, []string{"main"}) || got.Description != "one reviewer" {
		t.Fatalf("the created template: %+v", got)
	}
	resp, page = ana.do("POST", list, form)
	want(t, "a taken name", resp, page, http.StatusConflict, []string{`class="error"`}, nil)

	// Associate with site: shown on the template's page and on site's protection page.
	resp, page = ana.do("GET", tpl, nil)
	want(t, "the template", resp, page, http.StatusOK, []string{"Not associated", `<option value="site">`, `<option value="web">`, "Change the template", "Delete reviewers-required"}, nil)
	resp, _ = ana.do("POST", tpl+"/associate", url.Values{"csrf": {csrf}, "repo": {"site"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("associate: %d", resp.StatusCode)
	}
	if got := read(); !slices.Equal(got.Repositories, []string{"site"}) {
		t.Fatalf("after associate: %+v", got)
	}
	resp, page = ana.do("GET", tpl, nil)
	want(t, "the associated template", resp, page, http.StatusOK, []string{`href="/ui/repos/site"`, "Disassociate", `<option value="web">`}, []string{"Not associated", `<option value="site">`})
	resp, page = ana.do("POST", tpl+"/associate", url.Values{"csrf": {csrf}, "repo": {"nope"}})
	want(t, "an unknown repository", resp, page, http.StatusNotFound, []string{`class="error"`, "nope", `value="nope"`}, nil)
	resp, page = ana.do("GET", base+"/ui/repos/site/protection", nil)
	want(t, "site's templates", resp, page, http.StatusOK, []string{`href="/ui/approval-templates/reviewers-required"`, "<code>group:reviewers</code>"}, []string{"No approval rule template is associated"})
	resp, page = ana.do("GET", base+"/ui/repos/web/protection", nil)
	want(t, "web's templates", resp, page, http.StatusOK, []string{"No approval rule template is associated"}, []string{"reviewers-required"})

	// Change the rule and the description.
	resp, _ = ana.do("POST", tpl, url.Values{"csrf": {csrf}, "description": {"two now"}, "approvals": {"2"}, "pool": {"group:reviewers\nlead"}, "branches": {""}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	if got := read(); got.Approvals != 2 || !slices.Equal(got.Pool, []string{"group:reviewers", "lead"}) || len(got.Branches) != 0 || got.Description != "two now" || !slices.Equal(got.Repositories, []string{"site"}) {
		t.Fatalf("the changed template: %+v", got)
	}
	resp, page = ana.do("POST", tpl, url.Values{"csrf": {csrf}, "description": {"two now"}, "approvals": {"2"}, "pool": {""}})
	want(t, "an empty pool", resp, page, http.StatusBadRequest, []string{"pool", `class="error"`}, nil)

	// A reader: the pages without forms, a forged association refused.
	cy := newBrowser(t)
	cyCSRF := field(t, cy.signIn(base, "cy"))
	resp, page = cy.do("GET", list, nil)
	want(t, "the list for a reader", resp, page, http.StatusOK, []string{"reviewers-required", "two now"}, []string{"Create a template"})
	resp, page = cy.do("GET", tpl, nil)
	want(t, "the template for a reader", resp, page, http.StatusOK, []string{`href="/ui/repos/site"`}, []string{"Disassociate", "Associate with", "Change the template", "Delete reviewers-required"})
	resp, _ = cy.do("POST", tpl+"/associate", url.Values{"csrf": {cyCSRF}, "repo": {"web"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a reader's forged association: %d", resp.StatusCode)
	}

	// A user allowed the content but not the description.
	flo := newBrowser(t)
	floCSRF := field(t, flo.signIn(base, "flo"))
	resp, page = flo.do("POST", tpl, url.Values{"csrf": {floCSRF}, "description": {"flo's words"}, "approvals": {"3"}, "pool": {"lead"}})
	want(t, "a description without its permission", resp, page, http.StatusForbidden, []string{"codecommit:UpdateApprovalRuleTemplateDescription"}, nil)
	resp, _ = flo.do("POST", tpl, url.Values{"csrf": {floCSRF}, "description": {"two now"}, "approvals": {"3"}, "pool": {"lead"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("flo's content: %d", resp.StatusCode)
	}
	if got := read(); got.Approvals != 3 || got.Description != "two now" {
		t.Fatalf("after flo: %+v", got)
	}

	// Disassociate, then delete.
	resp, _ = ana.do("POST", tpl+"/disassociate", url.Values{"csrf": {csrf}, "repo": {"site"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disassociate: %d", resp.StatusCode)
	}
	if got := read(); len(got.Repositories) != 0 {
		t.Fatalf("after disassociate: %+v", got)
	}
	resp, _ = ana.do("POST", tpl+"/delete", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/approval-templates" {
		t.Fatalf("delete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", list, nil)
	want(t, "no templates after delete", resp, page, http.StatusOK, []string{"No approval rule templates yet"}, nil)
	resp, _ = ana.do("GET", tpl, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the deleted template's page: %d", resp.StatusCode)
	}
}
