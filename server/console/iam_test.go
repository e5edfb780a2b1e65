package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/slipwayhq/slipway/internal/testutil"
)

// TestIAMPages drives the IAM pages on a real cluster: every page renders for an
// administrator; creating a user, a group and a membership through the forms (303 to the new
// thing's page); a policy document the parser refuses is shown again with the parser's message
// and its line; a user without IAM policies gets the edge's 403; a read-only IAM user sees the
// pages without forms, and a forged form (with the session's valid CSRF token) is refused by
// policy.
func TestIAMPages(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	for _, u := range []string{"ana", "ro", "nop"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/IAMReadOnlyAccess/attach", `{"user":"ro"}`)
	mustJSON(t, c, "POST", "/v1/iam/roles", `{"name":"deployer","trust":["user/ana"]}`)

	admin := newBrowser(t)
	csrf := field(t, admin.signIn(base, "ana"))
	get := func(b *browser, path string, want int, contains ...string) string {
		t.Helper()
		resp, page := b.do("GET", base+path, nil)
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d; want %d\n%s", path, resp.StatusCode, want, page)
		}
		for _, s := range contains {
			if !strings.Contains(page, s) {
				t.Errorf("GET %s lacks %q", path, s)
			}
		}
		return page
	}
	post := func(b *browser, path string, form url.Values, want int) (answer, string) {
		t.Helper()
		resp, page := b.do("POST", base+path, form)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d; want %d\n%s", path, resp.StatusCode, want, page)
		}
		return resp, page
	}

	// Every page, for an administrator, with its forms.
	get(admin, "/ui/iam/users", 200, `href="/ui/iam/users/ana"`, `href="/ui/iam/users/ro"`, `action="/ui/iam/users"`)
	get(admin, "/ui/iam/groups", 200, "No groups yet", `action="/ui/iam/groups"`)
	get(admin, "/ui/iam/policies", 200, "AdministratorAccess", `name="document"`)
	get(admin, "/ui/iam/policies/ReadOnlyAccess", 200, "ReadOnly", "managed policy")
	get(admin, "/ui/iam/roles", 200, "deployer", "user/ana")
	get(admin, "/ui/iam/roles/deployer", 200, "Role deployer", "user/ana")
	get(admin, "/ui/iam/users/ro", 200, "IAMReadOnlyAccess", "Detach", "Attach policy", "Delete user ro", "No SSH keys")

	// Paging: the list goes on after the name in the query.
	if page := get(admin, "/ui/iam/users?after=nop", 200, `href="/ui/iam/users/ro"`); strings.Contains(page, `href="/ui/iam/users/ana"`) || strings.Contains(page, `href="/ui/iam/users/nop"`) {
		t.Error("the page after nop lists ana or nop")
	}
	if resp, css := admin.do("GET", base+"/ui/assets/iam.css", nil); resp.StatusCode != http.StatusOK || !strings.Contains(css, ".subnav") {
		t.Errorf("iam.css: %d", resp.StatusCode)
	}

	// Create a user through the form: 303 to the user's page, which shows them; the password
	// never comes back.
	resp, _ := post(admin, "/ui/iam/users", url.Values{"csrf": {csrf}, "name": {"dee"}, "display_name": {"Dee Dee"}, "email": {"dee@example.com"}, "password": {password}}, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/ui/iam/users/dee" {
		t.Fatalf("create user redirects to %q", loc)
	}
	get(admin, "/ui/iam/users/dee", 200, "Dee Dee", "dee@example.com", "set")
	// A name taken: the form again, with the service's message, the fields kept.
	_, page := post(admin, "/ui/iam/users", url.Values{"csrf": {csrf}, "name": {"dee"}, "display_name": {"Again"}, "password": {password}}, http.StatusConflict)
	if !strings.Contains(page, `class="error"`) || !strings.Contains(page, `value="Again"`) || strings.Contains(page, password) {
		t.Errorf("a taken name's form: %s", page)
	}

	// A group, a member, a policy on it; the user's page then lists the group.
	post(admin, "/ui/iam/groups", url.Values{"csrf": {csrf}, "name": {"devs"}, "description": {"developers"}}, http.StatusSeeOther)
	post(admin, "/ui/iam/groups/devs/members", url.Values{"csrf": {csrf}, "user": {"dee"}}, http.StatusSeeOther)
	post(admin, "/ui/iam/groups/devs/attach", url.Values{"csrf": {csrf}, "policy": {"ReadOnlyAccess"}}, http.StatusSeeOther)
	get(admin, "/ui/iam/groups/devs", 200, `href="/ui/iam/users/dee"`, "ReadOnlyAccess", "Remove", "Detach")
	get(admin, "/ui/iam/users/ro", 200, "Add to group", "<option>devs</option>")
	post(admin, "/ui/iam/users/ro/groups", url.Values{"csrf": {csrf}, "group": {"devs"}}, http.StatusSeeOther)
	post(admin, "/ui/iam/users/dee/attach", url.Values{"csrf": {csrf}, "policy": {"HostsReadOnlyAccess"}}, http.StatusSeeOther)
	get(admin, "/ui/iam/users/dee", 200, `href="/ui/iam/groups/devs"`, `href="/ui/iam/policies/HostsReadOnlyAccess"`)
	post(admin, "/ui/iam/users/dee/detach", url.Values{"csrf": {csrf}, "policy": {"HostsReadOnlyAccess"}}, http.StatusSeeOther)
	post(admin, "/ui/iam/groups/devs/members/remove", url.Values{"csrf": {csrf}, "user": {"ro"}}, http.StatusSeeOther)
	if page := get(admin, "/ui/iam/users/dee", 200); strings.Contains(page, `href="/ui/iam/policies/HostsReadOnlyAccess"`) {
		t.Error("the detached policy is still listed")
	}

	// A policy document the parser refuses: the form again, the document kept, the parser's
	// message with its line next to the textarea.
	bad := "Version: \"2012-10-17\"\nStatement:\n  - Effect: Allow\n    Action: [\"hosts:ListHosts\"]\n    Resource: [\"*\"]\n    Bogus: 1\n"
	_, page = post(admin, "/ui/iam/policies", url.Values{"csrf": {csrf}, "name": {"broken"}, "document": {bad}}, http.StatusBadRequest)
	if m := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`).FindStringSubmatch(page); m == nil || !strings.Contains(m[1], "line 6") {
		t.Fatalf("a bad policy's form lacks the parser's message with its line: %s", page)
	}
	if !strings.Contains(page, "Bogus: 1") {
		t.Error("the refused document is not kept in the textarea")
	}
	good := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["hosts:ListHosts"],"Resource":["*"]}]}`
	post(admin, "/ui/iam/policies", url.Values{"csrf": {csrf}, "name": {"hosts-list"}, "document": {good}}, http.StatusSeeOther)
	get(admin, "/ui/iam/policies/hosts-list", 200, "hosts:ListHosts", "version 1")

	// Unlock and delete, through the forms.
	post(admin, "/ui/iam/users/dee/unlock", url.Values{"csrf": {csrf}}, http.StatusSeeOther)
	post(admin, "/ui/iam/users/dee/delete", url.Values{"csrf": {csrf}}, http.StatusSeeOther)
	get(admin, "/ui/iam/users/dee", http.StatusNotFound)

	// No IAM policy: the edge refuses the pages.
	nop := newBrowser(t)
	nop.signIn(base, "nop")
	for _, p := range []string{"/ui/iam/users", "/ui/iam/users/ana", "/ui/iam/groups", "/ui/iam/policies", "/ui/iam/roles"} {
		get(nop, p, http.StatusForbidden)
	}

	// Read-only: the pages, no forms; a forged form with a valid CSRF token is refused by policy
	// and changes nothing.
	ro := newBrowser(t)
	roCSRF := field(t, ro.signIn(base, "ro"))
	for p, form := range map[string]string{"/ui/iam/users": `action="/ui/iam/users"`, "/ui/iam/groups": `action="/ui/iam/groups"`,
		"/ui/iam/policies": `name="document"`, "/ui/iam/users/ana": `/detach"`, "/ui/iam/groups/devs": `/members"`} {
		if page := get(ro, p, 200); strings.Contains(page, form) || strings.Contains(page, "Delete user") {
			t.Errorf("a read-only user sees a form on %s", p)
		}
	}
	post(ro, "/ui/iam/users", url.Values{"csrf": {roCSRF}, "name": {"evil"}, "password": {password}}, http.StatusForbidden)
	post(ro, "/ui/iam/users/ana/attach", url.Values{"csrf": {roCSRF}, "policy": {"AdministratorAccess"}}, http.StatusForbidden)
	post(ro, "/ui/iam/users/ro/attach", url.Values{"csrf": {roCSRF}, "policy": {"AdministratorAccess"}}, http.StatusForbidden)
	post(ro, "/ui/iam/users/ana/delete", url.Values{"csrf": {roCSRF}}, http.StatusForbidden)
	post(ro, "/ui/iam/groups/devs/members", url.Values{"csrf": {roCSRF}, "user": {"ro"}}, http.StatusForbidden)
	get(admin, "/ui/iam/users/ro", 200, "In no group.")
	get(admin, "/ui/iam/users/evil", http.StatusNotFound)
}

var secretField = regexp.MustCompile(`Secret: <code>([A-Z2-7]+)</code>`)

// TestMFAEnrolmentPages: a user turns MFA on through the pages (the QR code as a data: image,
// the secret, a code computed here from it), gets the recovery codes once, and is then asked
// for a code at sign-in.
func TestMFAEnrolmentPages(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base := c.URL(0)
	mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"eve","password":"`+password+`"}`)
	b := newBrowser(t)
	csrf := field(t, b.signIn(base, "eve"))

	resp, page := b.do("GET", base+"/ui/iam/mfa", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "MFA is off") || !strings.Contains(page, `action="/ui/iam/mfa"`) {
		t.Fatalf("MFA page: %d %s", resp.StatusCode, page)
	}
	resp, page = b.do("POST", base+"/ui/iam/mfa", url.Values{"csrf": {csrf}})
	m := secretField.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(page, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment: %d %s", resp.StatusCode, page)
	}
	// A wrong code: the confirm form again, with the message.
	resp, page = b.do("POST", base+"/ui/iam/mfa/confirm", url.Values{"csrf": {csrf}, "code": {"000000"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "does not match") || !strings.Contains(page, `action="/ui/iam/mfa/confirm"`) {
		t.Fatalf("a wrong code: %d %s", resp.StatusCode, page)
	}
	code, err := totp.GenerateCodeCustom(m[1], time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	resp, page = b.do("POST", base+"/ui/iam/mfa/confirm", url.Values{"csrf": {csrf}, "code": {code}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Recovery codes") || strings.Count(page, "<li><code>") < 5 {
		t.Fatalf("confirm: %d %s", resp.StatusCode, page)
	}
	if _, page = b.do("GET", base+"/ui/iam/mfa", nil); !strings.Contains(page, "MFA is on") || strings.Contains(page, "Recovery codes") {
		t.Fatalf("after enrolment: %s", page)
	}
	// The user's MFA is on: signing in again asks for the code.
	nb := newBrowser(t)
	_, page = nb.do("GET", base+"/ui/login", nil)
	if _, page = nb.do("POST", base+"/ui/login", url.Values{"csrf": {field(t, page)}, "user": {"eve"}, "password": {password}}); !strings.Contains(page, `name="code"`) {
		t.Fatalf("sign-in after enrolment does not ask for a code: %s", page)
	}
}
