package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/webhook"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

const (
	zero   = "0000000000000000000000000000000000000000"
	secret = "it's a secret to everybody"
)

// fastRetries makes the delivery schedule short for the test (restored after it).
func fastRetries(t *testing.T, base time.Duration) {
	b, m, p := hooks.RetryBase, hooks.RetryMax, hooks.Poll
	hooks.RetryBase, hooks.RetryMax, hooks.Poll = base, 4*base, 20*time.Millisecond
	t.Cleanup(func() { hooks.RetryBase, hooks.RetryMax, hooks.Poll = b, m, p })
}

func allowPrivate(_ int, c *config.Config) { c.Webhooks.AllowPrivateDestinations = true }

// received is one request the receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server that records every request and answers fail(delivery ID,
// attempt number of that ID) or 200.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	per  map[string]int
	fail func(id string, n int) bool
}

func newReceiver(t *testing.T, fail func(id string, n int) bool) *receiver {
	r := &receiver{per: map[string]int{}, fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get(pub.HookDeliveryHeader)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body})
		r.per[id]++
		n, fail := r.per[id], r.fail
		r.mu.Unlock()
		if fail != nil && fail(id, n) {
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) setFail(f func(id string, n int) bool) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

// gitIn runs the real git in dir with a clean environment.
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

// pushNew commits a file in a new work tree and pushes main with the real git over HTTP to
// server i; it returns the commit.
func pushNew(t *testing.T, c *testutil.Cluster, i int, repo string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	gitIn(t, dir, "init", "--quiet", "--initial-branch=main")
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "--quiet", "-m", "first")
	u, _ := url.Parse(c.URL(i) + "/git/" + repo + ".git")
	u.User = url.UserPassword("x", testutil.ManagementToken)
	gitIn(t, dir, "push", "--quiet", u.String(), "main")
	return gitIn(t, dir, "rev-parse", "HEAD")
}

func setup(t *testing.T, c *testutil.Cluster, repo, hookURL string, events ...string) pub.RepoHook {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: repo}); err != nil {
		t.Fatal(err)
	}
	h, err := c.Client(0).RepoHookCreate(ctx, repo, pub.RepoHookRequest{URL: hookURL, Secret: secret, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return *h
}

// checkPush checks a push delivery: its headers, its signature, and that its payload names
// main moved from the zero id to commit.
func checkPush(t *testing.T, r received, repo, commit string) hooks.Body {
	t.Helper()
	if !webhook.Verify([]byte(secret), r.body, r.header.Get(pub.HookSignatureHeader)) {
		t.Fatalf("signature %q does not verify the body %s", r.header.Get(pub.HookSignatureHeader), r.body)
	}
	if r.header.Get(pub.HookEventHeader) != "push" || r.header.Get(pub.HookDeliveryHeader) == "" || r.header.Get(pub.HookTimestampHeader) == "" {
		t.Fatalf("headers: %v", r.header)
	}
	var b hooks.Body
	var p hooks.PushPayload
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Payload, &p); err != nil {
		t.Fatal(err)
	}
	want := []hooks.RefUpdate{{Ref: "refs/heads/main", Old: zero, New: commit}}
	if b.Type != "push" || b.Repository.Name != repo || len(b.Repository.ID) != 32 || b.Actor == "" || fmt.Sprint(p.Refs) != fmt.Sprint(want) {
		t.Fatalf("push body %s: want repository %s, an actor and refs %v", r.body, repo, want)
	}
	return b
}

func deliveries(t *testing.T, c *testutil.Cluster, i int, repo, hook string) []pub.RepoHookDelivery {
	t.Helper()
	l, err := c.Client(i).RepoHookDeliveries(context.Background(), repo, hook)
	if err != nil {
		t.Fatal(err)
	}
	return l.Deliveries
}

// TestPushDeliveredSignedAfterRetries: a real git push makes a push and a branch create event;
// the receiver answers 500 twice to each delivery and the third attempt arrives, signed, with
// main's old and new full ids; the attempts are visible (500, 500, 204) and a redelivery sends
// the same body again under a new delivery id.
func TestPushDeliveredSignedAfterRetries(t *testing.T) {
	fastRetries(t, 50*time.Millisecond)
	rcv := newReceiver(t, func(_ string, n int) bool { return n <= 2 })
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: allowPrivate})
	h := setup(t, c, "shop", rcv.URL, "push", "create")
	if h.ID == "" || h.URL != rcv.URL || fmt.Sprint(h.Events) != "[create push]" {
		t.Fatalf("hook: %+v", h)
	}
	commit := pushNew(t, c, 0, "shop")

	var ds []pub.RepoHookDelivery
	testutil.Eventually(t, 30*time.Second, func() error {
		ds = deliveries(t, c, 0, "shop", h.ID)
		if len(ds) != 2 || ds[0].State != hooks.StateDelivered || ds[1].State != hooks.StateDelivered {
			return fmt.Errorf("deliveries %+v: want 2 delivered", ds)
		}
		return nil
	})
	for _, d := range ds {
		if len(d.Attempts) != 3 || d.Attempts[0].Status != 500 || d.Attempts[1].Status != 500 || d.Attempts[2].Status != 204 || d.Attempts[0].Error == "" || d.Attempts[2].Error != "" {
			t.Fatalf("delivery %s attempts %+v: want 500, 500, 204", d.ID, d.Attempts)
		}
	}
	var push, create []received
	for _, r := range rcv.requests() {
		switch r.header.Get(pub.HookEventHeader) {
		case "push":
			push = append(push, r)
		case "create":
			create = append(create, r)
		}
	}
	if len(push) != 3 || len(create) != 3 {
		t.Fatalf("received %d push and %d create requests, want 3 of each", len(push), len(create))
	}
	b := checkPush(t, push[2], "shop", commit)
	if !bytes.Equal(push[0].body, push[2].body) {
		t.Fatal("the attempts of one delivery sent different bodies")
	}
	var ref hooks.RefPayload
	var cb hooks.Body
	if err := json.Unmarshal(create[2].body, &cb); err != nil || json.Unmarshal(cb.Payload, &ref) != nil || ref != (hooks.RefPayload{RefType: "branch", Ref: "refs/heads/main", Name: "main", Commit: commit}) {
		t.Fatalf("create body %s", create[2].body)
	}

	// Redeliver the push: a new delivery with the same body.
	var pushID string
	for _, d := range ds {
		if d.Event == "push" {
			pushID = d.ID
		}
	}
	rcv.setFail(nil)
	nd, err := c.Client(0).RepoHookRedeliver(context.Background(), "shop", pushID)
	if err != nil {
		t.Fatal(err)
	}
	if nd.ID == pushID || nd.RedeliveryOf != pushID || nd.EventID != b.ID {
		t.Fatalf("redelivery %+v of %s", nd, pushID)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		for _, r := range rcv.requests() {
			if r.header.Get(pub.HookDeliveryHeader) == nd.ID {
				if !bytes.Equal(r.body, push[2].body) {
					return fmt.Errorf("redelivery body differs")
				}
				return nil
			}
		}
		return fmt.Errorf("redelivery %s not received", nd.ID)
	})
	if _, err := c.Client(0).RepoHookRedeliver(context.Background(), "shop", "00000000000000000999"); err == nil {
		t.Fatal("an unknown delivery was redelivered")
	}

	// The secret is never shown; list and delete work.
	l, err := c.Client(0).RepoHookList(context.Background(), "shop")
	if err != nil || len(l.Hooks) != 1 {
		t.Fatalf("list: %+v %v", l, err)
	}
	raw, _ := json.Marshal(l)
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "secret") {
		t.Fatalf("the list shows the secret: %s", raw)
	}
	if err := c.Client(0).RepoHookDelete(context.Background(), "shop", h.ID); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.Client(0).RepoHookList(context.Background(), "shop"); len(l.Hooks) != 0 {
		t.Fatalf("after delete: %+v", l)
	}
}

// TestBadHooksRefused: bad URLs, events and secrets are refused with what to do.
func TestBadHooksRefused(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	if _, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	for _, req := range []pub.RepoHookRequest{
		{URL: "ftp://example.com/x", Secret: "s"},
		{URL: "https://user:pw@example.com/x", Secret: "s"},
		{URL: "https://example.com/x", Secret: ""},
		{URL: "https://example.com/x", Secret: "s", Events: []string{"pushed"}},
	} {
		if _, err := c.Client(0).RepoHookCreate(ctx, "shop", req); pub.ErrorCode(err) != pub.CodeBadRequest {
			t.Errorf("%+v: %v, want invalid", req, err)
		}
	}
	if _, err := c.Client(0).RepoHookCreate(ctx, "nope", pub.RepoHookRequest{URL: "https://example.com/x", Secret: "s"}); err == nil || !pub.IsNotFound(err) {
		t.Errorf("hook on an unknown repository: %v", err)
	}
}

// TestPrivateDestinationRefused: with the default config a hook to a loopback receiver gets
// no request: the attempt is refused at dial time and recorded with why.
func TestPrivateDestinationRefused(t *testing.T) {
	fastRetries(t, time.Hour)
	rcv := newReceiver(t, nil)
	c := testutil.NewCluster(t, 1)
	// A name, not an address: the check is on what it resolves to.
	h := setup(t, c, "shop", strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1))
	pushNew(t, c, 0, "shop")
	testutil.Eventually(t, 30*time.Second, func() error {
		ds := deliveries(t, c, 0, "shop", h.ID)
		if len(ds) != 1 || len(ds[0].Attempts) != 1 {
			return fmt.Errorf("deliveries %+v: want one with one attempt", ds)
		}
		if a := ds[0].Attempts[0]; a.Status != 0 || !strings.Contains(a.Error, "not public") || ds[0].State != hooks.StatePending || ds[0].NextAttempt == nil {
			return fmt.Errorf("attempt %+v of %+v: want refused as not public, retried later", a, ds[0])
		}
		return nil
	})
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
}

// TestLeaderKilledBetweenAttempts: on three servers, the receiver fails the first attempt;
// the leader is killed; the new leader makes the next attempt from the replicated schedule
// and the delivery arrives once the receiver answers.
func TestLeaderKilledBetweenAttempts(t *testing.T) {
	fastRetries(t, 100*time.Millisecond)
	rcv := newReceiver(t, func(string, int) bool { return true })
	c := testutil.NewCluster(t, 3, testutil.Options{Tweak: allowPrivate})
	h := setup(t, c, "shop", rcv.URL)
	commit := pushNew(t, c, 0, "shop")
	testutil.Eventually(t, 30*time.Second, func() error {
		if ds := deliveries(t, c, 0, "shop", h.ID); len(ds) != 1 || len(ds[0].Attempts) == 0 {
			return fmt.Errorf("deliveries %+v: want an attempt recorded", ds)
		}
		return nil
	})
	old := c.WaitLeader()
	c.Kill(old)
	rcv.setFail(nil)
	alive := (old + 1) % 3
	c.WaitLeader()
	var ds []pub.RepoHookDelivery
	testutil.Eventually(t, 60*time.Second, func() error {
		ds = deliveries(t, c, alive, "shop", h.ID)
		if len(ds) != 1 || ds[0].State != hooks.StateDelivered {
			return fmt.Errorf("deliveries %+v: want delivered", ds)
		}
		return nil
	})
	reqs := rcv.requests()
	last := reqs[len(reqs)-1]
	checkPush(t, last, "shop", commit)
	if a := ds[0].Attempts; len(a) < 2 || a[0].Status != 500 || a[len(a)-1].Status != 204 {
		t.Fatalf("attempts %+v: want a 500 before the kill and a 204 after", a)
	}
}
