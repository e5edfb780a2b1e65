package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

// hookReceiver is a real HTTP receiver that answers 500 to the first request it gets and 204
// to the others, and records each request's delivery ID.
type hookReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.ids = append(r.ids, req.Header.Get(pub.HookDeliveryHeader))
		n := len(r.ids)
		r.mu.Unlock()
		if n == 1 {
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

var deliveryLink = regexp.MustCompile(`/deliveries/([0-9]{20})"`)

// TestHookPages drives a repository's webhook pages on a real cluster with a real push and a
// real local receiver: a refused form keeping what was typed but the secret, a hook created
// through the form (its secret never shown), the push's delivery on the hook's page with its
// failed and then successful attempts, the delivery's page with the payload escaped, redeliver
// making a new delivery the receiver gets, a user who may read hooks but not change them, and
// delete.
func TestHookPages(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	b, m, p := hooks.RetryBase, hooks.RetryMax, hooks.Poll
	hooks.RetryBase, hooks.RetryMax, hooks.Poll = 100*time.Millisecond, 400*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { hooks.RetryBase, hooks.RetryMax, hooks.Poll = b, m, p })
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.Webhooks.AllowPrivateDestinations = true }})
	base := c.URL(0)
	for _, u := range []string{"ana", "eve"} {
		mustJSON(t, c, "POST", "/v1/iam/users", `{"name":"`+u+`","password":"`+password+`"}`)
	}
	mustJSON(t, c, "POST", "/v1/iam/policies/AdministratorAccess/attach", `{"user":"ana"}`)
	doc, _ := json.Marshal(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":["codecommit:GetRepository","codecommit:ListBranches","codecommit:GetRepositoryTriggers"],"Resource":"*"}]}`)
	mustJSON(t, c, "POST", "/v1/iam/policies", `{"name":"hook-reader","document":`+string(doc)+`}`)
	mustJSON(t, c, "POST", "/v1/iam/policies/hook-reader/attach", `{"user":"eve"}`)
	mustJSON(t, c, "POST", "/v1/repos", `{"name":"site"}`)
	recv := newHookReceiver(t)
	const secret = "s3cret-never-shown"
	list := base + "/ui/repos/site/hooks"

	ana := newBrowser(t)
	csrf := field(t, ana.signIn(base, "ana"))
	resp, page := ana.do("GET", list, nil)
	want(t, "no hooks", resp, page, http.StatusOK, []string{"No webhooks", "Add a webhook", `type="checkbox" name="events" value="push" checked`, `value="pull_request"`}, nil)
	resp, page = ana.do("POST", list, url.Values{"csrf": {csrf}, "url": {"ftp://example.com/x"}, "secret": {secret}, "events": {"push", "delete"}})
	want(t, "a bad URL", resp, page, http.StatusBadRequest, []string{`class="error"`, "http:// or https://", `value="ftp://example.com/x"`,
		`value="delete" checked`}, []string{secret, `value="create" checked`})
	resp, page = ana.do("POST", list, url.Values{"csrf": {csrf}, "url": {recv.URL + "/in"}, "events": {"push"}})
	want(t, "no secret", resp, page, http.StatusBadRequest, []string{"needs a secret"}, nil)

	resp, _ = ana.do("POST", list, url.Values{"csrf": {csrf}, "url": {recv.URL + "/in"}, "secret": {secret}, "events": {"push"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !regexp.MustCompile(`^/ui/repos/site/hooks/[0-9a-f]{32}$`).MatchString(loc) {
		t.Fatalf("create: %d %q", resp.StatusCode, loc)
	}
	hookPage := base + loc
	resp, page = ana.do("GET", hookPage, nil)
	want(t, "the new hook", resp, page, http.StatusOK, []string{recv.URL + "/in", "set (never shown", "No deliveries yet", "Delete the webhook"}, []string{secret})
	hs, err := c.Client(0).RepoHookList(t.Context(), "site")
	if err != nil || len(hs.Hooks) != 1 || hs.Hooks[0].URL != recv.URL+"/in" || strings.Join(hs.Hooks[0].Events, ",") != "push" {
		t.Fatalf("the hook the API reads: %+v, %v", hs, err)
	}

	// A push: its delivery fails once (500), is retried and delivered.
	pushSite(t, c, "site")
	testutil.Eventually(t, 20*time.Second, func() error {
		_, page = ana.do("GET", hookPage, nil)
		if !strings.Contains(page, `badge delivered`) {
			return fmt.Errorf("no delivered delivery on the hook's page yet")
		}
		return nil
	})
	want(t, "the delivery on the hook's page", answer{StatusCode: http.StatusOK}, page, http.StatusOK, []string{"<td>push</td>", "<td>2</td>", "HTTP 204", "Redeliver"}, nil)
	first := deliveryLink.FindStringSubmatch(page)[1]
	resp, page = ana.do("GET", list, nil)
	want(t, "the last delivery in the list", resp, page, http.StatusOK, []string{`<span class="badge delivered">delivered</span> push · HTTP 204`, "set (never shown)"}, []string{secret})
	resp, page = ana.do("GET", hookPage+"/deliveries/"+first, nil)
	want(t, "a delivery", resp, page, http.StatusOK, []string{"HTTP 500", "HTTP 204", "the receiver answered 500", `<pre class="payload">{`, "&#34;refs/heads/main&#34;", "Redeliver"}, []string{`"refs/heads/main"`})
	resp, page = ana.do("GET", hookPage+"/deliveries/00000000000000009999", nil)
	want(t, "an unknown delivery", resp, page, http.StatusNotFound, []string{"no delivery"}, nil)

	// Redeliver: a new delivery of the same event, which the receiver gets.
	resp, _ = ana.do("POST", hookPage+"/deliveries/"+first+"/redeliver", url.Values{"csrf": {csrf}})
	again := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(again, loc+"/deliveries/") || strings.HasSuffix(again, first) {
		t.Fatalf("redeliver: %d %q", resp.StatusCode, again)
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		if n := len(recv.got()); n != 3 {
			return fmt.Errorf("the receiver got %d requests, want 3", n)
		}
		return nil
	})
	testutil.Eventually(t, 20*time.Second, func() error {
		_, page = ana.do("GET", base+again, nil)
		if !strings.Contains(page, `badge delivered`) {
			return fmt.Errorf("the redelivery is not delivered yet")
		}
		return nil
	})
	want(t, "the redelivery", answer{StatusCode: http.StatusOK}, page, http.StatusOK, []string{"Sent again from", first, "HTTP 204"}, []string{"HTTP 500"})
	if ids := recv.got(); ids[2] == ids[0] {
		t.Fatalf("the redelivery reused the delivery ID: %v", ids)
	}

	// A user who may read hooks: no forms, and a forged redeliver or delete refused.
	eve := newBrowser(t)
	eveCSRF := field(t, eve.signIn(base, "eve"))
	resp, page = eve.do("GET", hookPage, nil)
	want(t, "the hook for a reader", resp, page, http.StatusOK, []string{recv.URL + "/in", "delivered"}, []string{"Redeliver", "Delete the webhook"})
	resp, page = eve.do("GET", list, nil)
	want(t, "the hooks for a reader", resp, page, http.StatusOK, []string{recv.URL + "/in"}, []string{"Add a webhook"})
	for _, forged := range []string{hookPage + "/deliveries/" + first + "/redeliver", hookPage + "/delete", list} {
		resp, _ = eve.do("POST", forged, url.Values{"csrf": {eveCSRF}, "url": {"https://example.com"}, "secret": {"x"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a reader's forged POST %s: %d", forged, resp.StatusCode)
		}
	}
	if n := len(recv.got()); n != 3 {
		t.Fatalf("the receiver got %d requests after the forged redeliver", n)
	}

	// Delete.
	resp, _ = ana.do("POST", hookPage+"/delete", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/repos/site/hooks" {
		t.Fatalf("delete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ana.do("GET", list, nil)
	want(t, "no hooks after delete", resp, page, http.StatusOK, []string{"No webhooks"}, nil)
	resp, _ = ana.do("GET", hookPage, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the deleted hook's page: %d", resp.StatusCode)
	}
}
