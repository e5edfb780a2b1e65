package console_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
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
	page := get(admin, "/ui/iam/users?after=nop", 200, `href="/ui/iam/users/ro"`)
	if page = page[strings.Index(page, "<main"):]; strings.Contains(page, `href="/ui/iam/users/ana"`) || strings.Contains(page, `href="/ui/iam/users/nop"`) { // the header links to one's own page
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
	_, page = post(admin, "/ui/iam/users", url.Values{"csrf": {csrf}, "name": {"dee"}, "display_name": {"Again"}, "password": {password}}, http.StatusConflict)
	if !strings.Contains(page, `class="error"`) || !strings.Contains(page, `value="Again"`) || strings.Contains(page, password) {
		t.Errorf("a taken name's form: %s", page)
	}

	// A group, a member, a policy on it; the user's page then lists the group.
	post(admin, "/ui/iam/groups", url.Values{"csrf": {csrf}, "name": {"devs"}, "description": {"developers"}}, http.StatusSeeOther)
	post(admin, "/ui/iam/groups/devs/members", url.Values{"csrf": {csrf}, "user": {"dee"}}, http.StatusSeeOther)
	post(admin, "/ui/iam/groups/devs/attach", url.Values{"csrf": {csrf}, "policy": {"ReadOnlyAccess"}}, http.StatusSeeOther)
	get(admin, "/ui/iam/groups/devs", 200, `href="/ui/iam/users/dee"`, "ReadOnlyAccess", "Remove", "Detach")
	get(admin, "/ui/iam/users/ro", 200, "Add to group", `<option value="devs">`)
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
	recovery := regexp.MustCompile(`<li><code>([^<]+)</code>`).FindAllStringSubmatch(page, -1)
	if _, page = b.do("GET", base+"/ui/iam/mfa", nil); !strings.Contains(page, "MFA is on") || strings.Contains(page, "Recovery codes") {
		t.Fatalf("after enrolment: %s", page)
	}
	// This session was opened without MFA: the self-service policy does not let it turn MFA
	// off, so the page has no off button and a forged one is refused.
	if strings.Contains(page, `action="/ui/iam/mfa/disable"`) {
		t.Fatal("a session opened without MFA is offered to turn MFA off")
	}
	if resp, _ := b.do("POST", base+"/ui/iam/mfa/disable", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("turning MFA off from a session without MFA: %d; want 403", resp.StatusCode)
	}
	// The user's MFA is on: signing in again asks for the code (here a recovery code).
	nb := newBrowser(t)
	_, page = nb.do("GET", base+"/ui/login", nil)
	lcsrf := field(t, page)
	if _, page = nb.do("POST", base+"/ui/login", url.Values{"csrf": {lcsrf}, "user": {"eve"}, "password": {password}}); !strings.Contains(page, `name="code"`) {
		t.Fatalf("sign-in after enrolment does not ask for a code: %s", page)
	}
	if resp, _ := nb.do("POST", base+"/ui/login", url.Values{"csrf": {lcsrf}, "user": {"eve"}, "password": {password}, "code": {recovery[0][1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with a recovery code: %d", resp.StatusCode)
	}
	// A session opened with MFA may turn it off, from the MFA page.
	_, page = nb.do("GET", base+"/ui/iam/mfa", nil)
	if !strings.Contains(page, `action="/ui/iam/mfa/disable"`) {
		t.Fatalf("a session opened with MFA is not offered to turn it off: %s", page)
	}
	if resp, _ := nb.do("POST", base+"/ui/iam/mfa/disable", url.Values{"csrf": {field(t, page)}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/iam/mfa" {
		t.Fatalf("turning MFA off: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, page = nb.do("GET", base+"/ui/iam/mfa", nil); !strings.Contains(page, "MFA is off") {
		t.Fatalf("after turning MFA off: %s", page)
	}
}

// sshKeyLine is a valid authorized_keys line (an ed25519 key).
const sshKeyLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP3Tr8QdnQ5ZowmJlJi1vwhiq8WMlK10vlsqsPAghCR0 ed25519@example"

var formError = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)

// errorIn is the error message shown inside the form posting to action ("" when there is none,
// or no such form).
func errorIn(page, action string) string {
	i := strings.Index(page, `action="`+action+`"`)
	if i < 0 {
		return ""
	}
	form := page[i:]
	if j := strings.Index(form, "</form>"); j >= 0 {
		form = form[:j]
	}
	if m := formError.FindStringSubmatch(form); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// awaitDenied waits for the audit trail to hold a denied record of principal for each action,
// on a resource ending in the given one.
func awaitDenied(t *testing.T, c *testutil.Cluster, principal string, denials map[string]string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, func() error {
		for action, res := range denials {
			l, err := c.Client(0).AuditList(t.Context(), pub.AuditFilter{Action: action, Principal: principal}, nil)
			if err != nil {
				return err
			}
			found := false
			for _, r := range l.Records {
				found = found || (r.Outcome == "denied" && r.Principal.Name == principal && strings.HasSuffix(r.Resource, res))
			}
			if !found {
				return fmt.Errorf("no denied %s on %s by %s in the audit trail", action, res, principal)
			}
		}
		return nil
	})
}

// TestIAMForms drives the user, group, policy and role forms beyond create: for an
// administrator each change is made (303 to the changed thing's page, visible through the Go
// API) and each refusal of the service is shown next to its form; the group and policy fields
// suggest every group and policy (more than one list page) and an unknown name is the service's
// "not found" next to the field; a read-only user sees none of these forms, and each one forged
// with their session's CSRF token is refused by policy (403) and audited.
func TestIAMForms(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	base, cl, ctx := c.URL(0), c.Client(0), t.Context()
	for _, u := range []string{"ana", "ro", "kim"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/IAMReadOnlyAccess/attach", `{"user":"ro"}`)
	admin := newBrowser(t)
	csrf := field(t, admin.signIn(base, "ana"))
	get := func(b *browser, path string, want int) string {
		t.Helper()
		resp, page := b.do("GET", base+path, nil)
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d; want %d\n%s", path, resp.StatusCode, want, page)
		}
		return page
	}
	post := func(b *browser, path string, form url.Values, want int, location string) string {
		t.Helper()
		resp, page := b.do("POST", base+path, form)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d; want %d\n%s", path, resp.StatusCode, want, page)
		}
		if loc := resp.Header.Get("Location"); location != "" && loc != location {
			t.Fatalf("POST %s redirects to %q; want %q", path, loc, location)
		}
		return page
	}
	refused := func(page, action, words string) {
		t.Helper()
		if msg := errorIn(page, action); !strings.Contains(msg, words) {
			t.Fatalf("the form %s shows %q; want the service's message with %q\n%s", action, msg, words, page)
		}
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}

	// Edit the user: the change is the API's; a refused email comes back as typed, with the
	// message next to the form.
	page := get(admin, "/ui/iam/users/kim", 200)
	for _, f := range []string{`/users/kim/edit"`, `/users/kim/password"`, `/users/kim/ssh-keys"`, `autocomplete="new-password"`} {
		if !strings.Contains(page, f) {
			t.Errorf("the administrator's view of kim lacks %s", f)
		}
	}
	if strings.Contains(page, `name="current_password"`) {
		t.Error("an administrator setting another user's password is asked for the current one")
	}
	post(admin, "/ui/iam/users/kim/edit", form("display_name", "Kim K", "email", "kim@example.com"), http.StatusSeeOther, "/ui/iam/users/kim")
	if u, err := cl.UserGet(ctx, "kim", nil); err != nil || u.DisplayName != "Kim K" || u.Email != "kim@example.com" {
		t.Fatalf("after the edit: %+v %v", u, err)
	}
	page = post(admin, "/ui/iam/users/kim/edit", form("display_name", "Kim", "email", "not an address"), http.StatusBadRequest, "")
	refused(page, "/ui/iam/users/kim/edit", "email")
	if !strings.Contains(page, `value="not an address"`) {
		t.Error("the refused email is not kept in the form")
	}

	// Set kim's password: kim signs in with it; a refused one is never sent back.
	const newPassword = "a different horse battery staple"
	post(admin, "/ui/iam/users/kim/password", form("password", newPassword, "confirm", newPassword), http.StatusSeeOther, "/ui/iam/users/kim")
	kb := newBrowser(t)
	_, lp := kb.do("GET", base+"/ui/login", nil)
	if resp, _ := kb.do("POST", base+"/ui/login", url.Values{"csrf": {field(t, lp)}, "user": {"kim"}, "password": {newPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("kim signs in with the new password: %d", resp.StatusCode)
	}
	// Kim's own page, by the self-service policy alone: the password form asks for the current
	// one; kim adds and removes their own SSH key; another user's page is refused.
	page = get(kb, "/ui/iam/users/kim", 200)
	kcsrf := field(t, page)
	if !strings.Contains(page, `name="current_password"`) || !strings.Contains(page, `action="/ui/iam/users/kim/ssh-keys"`) || strings.Contains(page, `/users/kim/edit"`) {
		t.Fatalf("kim's own page: the self-service forms are wrong\n%s", page)
	}
	resp, _ := kb.do("POST", base+"/ui/iam/users/kim/ssh-keys", url.Values{"csrf": {kcsrf}, "public_key": {sshKeyLine}})
	if keys, err := cl.SSHKeyList(ctx, "kim"); resp.StatusCode != http.StatusSeeOther || err != nil || len(keys.Keys) != 1 {
		t.Fatalf("kim adds their own key: %d %+v %v", resp.StatusCode, keys, err)
	} else if resp, _ = kb.do("POST", base+"/ui/iam/users/kim/ssh-keys/remove", url.Values{"csrf": {kcsrf}, "fingerprint": {keys.Keys[0].Fingerprint}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("kim removes their own key: %d", resp.StatusCode)
	}
	get(kb, "/ui/iam/users/ana", http.StatusForbidden)
	page = post(admin, "/ui/iam/users/kim/password", form("password", "shortpw", "confirm", "shortpw"), http.StatusBadRequest, "")
	refused(page, "/ui/iam/users/kim/password", "bytes long")
	if strings.Contains(page, "shortpw") {
		t.Fatal("a refused password is sent back")
	}
	page = post(admin, "/ui/iam/users/kim/password", form("password", newPassword, "confirm", newPassword+"x"), http.StatusBadRequest, "")
	refused(page, "/ui/iam/users/kim/password", "differ")
	// Their own password: the current one is asked for, and a wrong one refused by the service.
	page = get(admin, "/ui/iam/users/ana", 200)
	if !strings.Contains(page, `name="current_password"`) {
		t.Error("changing one's own password does not ask for the current one")
	}
	page = post(admin, "/ui/iam/users/ana/password", form("current_password", "wrong", "password", newPassword, "confirm", newPassword), http.StatusForbidden, "")
	refused(page, "/ui/iam/users/ana/password", "current password is wrong")

	// SSH keys: add one (the table shows its fingerprint and comment), a bad line refused next
	// to the form, remove it.
	post(admin, "/ui/iam/users/kim/ssh-keys", form("public_key", sshKeyLine), http.StatusSeeOther, "/ui/iam/users/kim")
	keys, err := cl.SSHKeyList(ctx, "kim")
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("kim's keys after the add: %+v %v", keys, err)
	}
	fp := keys.Keys[0].Fingerprint
	if page = get(admin, "/ui/iam/users/kim", 200); !strings.Contains(html.UnescapeString(page), fp) || !strings.Contains(page, "ed25519@example") || !strings.Contains(page, `/ssh-keys/remove"`) {
		t.Errorf("kim's page does not list the key %s with its remove form", fp)
	}
	page = post(admin, "/ui/iam/users/kim/ssh-keys", form("public_key", "ssh-ed25519 AAAA!!!"), http.StatusBadRequest, "")
	refused(page, "/ui/iam/users/kim/ssh-keys", "authorized_keys")
	if !strings.Contains(page, "ssh-ed25519 AAAA!!!</textarea>") {
		t.Error("the refused key line is not kept in the textarea")
	}
	post(admin, "/ui/iam/users/kim/ssh-keys/remove", form("fingerprint", fp), http.StatusSeeOther, "/ui/iam/users/kim")
	if keys, err = cl.SSHKeyList(ctx, "kim"); err != nil || len(keys.Keys) != 0 {
		t.Fatalf("kim's keys after the removal: %+v %v", keys, err)
	}
	page = post(admin, "/ui/iam/users/kim/ssh-keys/remove", form("fingerprint", fp), http.StatusNotFound, "")
	if !strings.Contains(page, "not found") {
		t.Errorf("removing a removed key: %s", page)
	}

	// Turn kim's MFA off as an administrator (a lost device).
	e, err := cl.MFAEnroll(ctx, "kim")
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCodeCustom(e.Secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.MFAConfirm(ctx, "kim", code); err != nil {
		t.Fatal(err)
	}
	if page = get(admin, "/ui/iam/users/kim", 200); !strings.Contains(page, `action="/ui/iam/users/kim/mfa/disable"`) {
		t.Fatal("kim's page has no MFA off form for the administrator")
	}
	post(admin, "/ui/iam/users/kim/mfa/disable", form(), http.StatusSeeOther, "/ui/iam/users/kim")
	if u, err := cl.UserGet(ctx, "kim", nil); err != nil || u.MFAEnabled {
		t.Fatalf("kim's MFA after the reset: %+v %v", u, err)
	}
	if page = post(admin, "/ui/iam/users/kim/mfa/disable", form(), http.StatusNotFound, ""); !formError.MatchString(page) || !strings.Contains(page, "has no MFA device") {
		t.Errorf("turning off an MFA that is off: %s", page)
	}

	// Every group and policy is offered (more than a list page of each); an unknown name typed
	// in is the service's "not found" next to the field.
	for i := range iamListPage + 1 {
		if _, err := cl.IAMGroupCreate(ctx, pub.IAMGroupCreateRequest{Name: fmt.Sprintf("g%03d", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.PolicyCreate(ctx, pub.PolicyPutRequest{Name: fmt.Sprintf("p%03d", i), Document: listHosts}); err != nil {
			t.Fatal(err)
		}
	}
	last := fmt.Sprintf("%03d", iamListPage)
	page = get(admin, "/ui/iam/users/kim", 200)
	for _, want := range []string{`<option value="g` + last + `">`, `<option value="p` + last + `">`, `<option value="AdministratorAccess">`, `list="iam-groups"`, `list="iam-policies"`} {
		if !strings.Contains(page, want) {
			t.Errorf("kim's page lacks %s", want)
		}
	}
	if page = get(admin, "/ui/iam/groups/g000", 200); !strings.Contains(page, `<option value="p`+last+`">`) {
		t.Errorf("the group's policy field does not offer p%s", last)
	}
	post(admin, "/ui/iam/users/kim/groups", form("group", "g"+last), http.StatusSeeOther, "/ui/iam/users/kim")
	post(admin, "/ui/iam/users/kim/attach", form("policy", "p"+last), http.StatusSeeOther, "/ui/iam/users/kim")
	if u, err := cl.UserGet(ctx, "kim", nil); err != nil || !slices.Contains(u.Groups, "g"+last) || !slices.Contains(u.Policies, "p"+last) {
		t.Fatalf("kim after joining and attaching the last ones: %+v %v", u, err)
	}
	refused(post(admin, "/ui/iam/users/kim/groups", form("group", "ghost"), http.StatusNotFound, ""), "/ui/iam/users/kim/groups", `group "ghost" not found`)
	refused(post(admin, "/ui/iam/users/kim/attach", form("policy", "ghost"), http.StatusNotFound, ""), "/ui/iam/users/kim/attach", `policy "ghost" not found`)
	refused(post(admin, "/ui/iam/groups/g000/attach", form("policy", "ghost"), http.StatusNotFound, ""), "/ui/iam/groups/g000/attach", `policy "ghost" not found`)

	// Delete a group: 303 to the list, gone from the API.
	if page = get(admin, "/ui/iam/groups/g000", 200); !strings.Contains(page, `action="/ui/iam/groups/g000/delete"`) {
		t.Fatal("the group page has no delete form")
	}
	post(admin, "/ui/iam/groups/g000/delete", form(), http.StatusSeeOther, "/ui/iam/groups")
	if _, err := cl.IAMGroupGet(ctx, "g000", nil); err == nil {
		t.Fatal("g000 is still there after the delete")
	}

	// A policy's new version: the version counts up with the new document; a document the
	// parser refuses is kept with its message; delete is refused while attached (the service's
	// message next to the button), then works.
	name := "p" + last
	page = get(admin, "/ui/iam/policies/"+name, 200)
	if !strings.Contains(page, `action="/ui/iam/policies/`+name+`"`) || !strings.Contains(page, `action="/ui/iam/policies/`+name+`/delete"`) {
		t.Fatalf("the policy page lacks its forms\n%s", page)
	}
	v2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["hosts:GetHost"],"Resource":["*"]}]}`
	post(admin, "/ui/iam/policies/"+name, form("document", v2, "description", "hosts, one at a time"), http.StatusSeeOther, "/ui/iam/policies/"+name)
	if p, err := cl.PolicyGet(ctx, name, nil); err != nil || p.Version != 2 || !strings.Contains(string(p.Document), "hosts:GetHost") || p.Description != "hosts, one at a time" {
		t.Fatalf("the policy after its new version: %+v %v", p, err)
	}
	page = post(admin, "/ui/iam/policies/"+name, form("document", "Version: \"2012-10-17\"\nStatement:\n  - Effect: Maybe\n"), http.StatusBadRequest, "")
	refused(page, "/ui/iam/policies/"+name, "line 3")
	if !strings.Contains(page, "Effect: Maybe") {
		t.Error("the refused document is not kept in the textarea")
	}
	refused(post(admin, "/ui/iam/policies/"+name+"/delete", form(), http.StatusConflict, ""), "/ui/iam/policies/"+name+"/delete", "is attached to")
	post(admin, "/ui/iam/users/kim/detach", form("policy", name), http.StatusSeeOther, "/ui/iam/users/kim")
	post(admin, "/ui/iam/policies/"+name+"/delete", form(), http.StatusSeeOther, "/ui/iam/policies")
	if _, err := cl.PolicyGet(ctx, name, nil); err == nil {
		t.Fatalf("%s is still there after the delete", name)
	}
	if page = get(admin, "/ui/iam/policies/ReadOnlyAccess", 200); strings.Contains(page, `name="document"`) || strings.Contains(page, "/delete") {
		t.Error("a managed policy's page offers a new version or delete")
	}

	// Create a role (trust entries and policies one a line), refused with its message and the
	// fields kept, then delete it.
	if page = get(admin, "/ui/iam/roles", 200); !strings.Contains(page, `action="/ui/iam/roles"`) {
		t.Fatal("the roles page has no create form")
	}
	page = post(admin, "/ui/iam/roles", form("name", "ci", "trust", "user/kim", "max_session", "99h"), http.StatusBadRequest, "")
	refused(page, "/ui/iam/roles", `max session "99h"`)
	if !strings.Contains(page, `value="ci"`) || !strings.Contains(page, "user/kim") {
		t.Error("the refused role's fields are not kept")
	}
	post(admin, "/ui/iam/roles", form("name", "ci", "description", "the build", "trust", "user/kim\r\ngroup/g001\r\n", "policies", "ReadOnlyAccess", "max_session", "2h", "require_mfa", "1"), http.StatusSeeOther, "/ui/iam/roles/ci")
	role, err := cl.RoleGet(ctx, "ci", nil)
	if err != nil || !slices.Equal(role.Trust, []string{"group/g001", "user/kim"}) || !slices.Equal(role.Policies, []string{"ReadOnlyAccess"}) || !role.RequireMFA || role.MaxSession != "2h0m0s" {
		t.Fatalf("the created role: %+v %v", role, err)
	}
	if page = get(admin, "/ui/iam/roles/ci", 200); !strings.Contains(page, `action="/ui/iam/roles/ci/delete"`) {
		t.Fatal("the role page has no delete form")
	}
	post(admin, "/ui/iam/roles/ci/delete", form(), http.StatusSeeOther, "/ui/iam/roles")
	if _, err := cl.RoleGet(ctx, "ci", nil); err == nil {
		t.Fatal("the role ci is still there after the delete")
	}

	// Read-only: none of these forms, and each forged one refused by policy, audited, changing
	// nothing.
	mustJSON(t, c, "POST", "/v1/iam/roles", `{"name":"keep","trust":["user/kim"]}`)
	if _, err := cl.SSHKeyAdd(ctx, "kim", sshKeyLine); err != nil {
		t.Fatal(err)
	}
	ro := newBrowser(t)
	roCSRF := field(t, ro.signIn(base, "ro"))
	for path, forms := range map[string][]string{
		"/ui/iam/users/kim":     {`/edit"`, `/password"`, `/ssh-keys"`, `/ssh-keys/remove"`, `/mfa/disable"`},
		"/ui/iam/groups/g001":   {`/delete"`},
		"/ui/iam/policies/p001": {`name="document"`, `/delete"`},
		"/ui/iam/roles":         {`action="/ui/iam/roles"`},
		"/ui/iam/roles/keep":    {`/delete"`},
	} {
		page := get(ro, path, 200)
		for _, f := range forms {
			if strings.Contains(page, f) {
				t.Errorf("a read-only user sees %s on %s", f, path)
			}
		}
	}
	forged := func(kv ...string) url.Values { v := form(kv...); v.Set("csrf", roCSRF); return v }
	post(ro, "/ui/iam/users/kim/edit", forged("display_name", "evil"), http.StatusForbidden, "")
	post(ro, "/ui/iam/users/kim/password", forged("password", "evil evil evil evil", "confirm", "evil evil evil evil"), http.StatusForbidden, "")
	post(ro, "/ui/iam/users/kim/ssh-keys/remove", forged("fingerprint", fp), http.StatusForbidden, "")
	post(ro, "/ui/iam/users/kim/mfa/disable", forged(), http.StatusForbidden, "")
	post(ro, "/ui/iam/groups/g001/delete", forged(), http.StatusForbidden, "")
	post(ro, "/ui/iam/policies/p001", forged("document", v2), http.StatusForbidden, "")
	post(ro, "/ui/iam/policies/p001/delete", forged(), http.StatusForbidden, "")
	post(ro, "/ui/iam/roles", forged("name", "evil", "trust", "user/ro"), http.StatusForbidden, "")
	post(ro, "/ui/iam/roles/keep/delete", forged(), http.StatusForbidden, "")
	awaitDenied(t, c, "ro", map[string]string{
		"iam:UpdateUser": "user/kim", "iam:ChangePassword": "user/kim", "iam:DeleteSSHPublicKey": "user/kim",
		"iam:DeactivateMFADevice": "user/kim", "iam:DeleteGroup": "group/g001", "iam:CreatePolicyVersion": "policy/p001",
		"iam:DeletePolicy": "policy/p001", "iam:CreateRole": "role/*", "iam:DeleteRole": "role/keep",
	})
	u, err := cl.UserGet(ctx, "kim", nil)
	if err != nil || u.DisplayName != "Kim K" {
		t.Errorf("kim after the forged forms: %+v %v", u, err)
	}
	if keys, err := cl.SSHKeyList(ctx, "kim"); err != nil || len(keys.Keys) != 1 {
		t.Errorf("kim's keys after a forged removal: %+v %v", keys, err)
	}
	if p, err := cl.PolicyGet(ctx, "p001", nil); err != nil || p.Version != 1 {
		t.Errorf("p001 after a forged version: %+v %v", p, err)
	}
	for _, check := range []error{func() error { _, err := cl.IAMGroupGet(ctx, "g001", nil); return err }(),
		func() error { _, err := cl.RoleGet(ctx, "keep", nil); return err }()} {
		if check != nil {
			t.Errorf("a forged delete deleted: %v", check)
		}
	}
	if _, err := cl.RoleGet(ctx, "evil", nil); err == nil {
		t.Error("a forged create made the role evil")
	}
}

// iamListPage is the IAM list pages' size, the most the dropdowns offered before.
const iamListPage = 100

// listHosts is a small valid policy document.
const listHosts = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["hosts:ListHosts"],"Resource":["*"]}]}`
