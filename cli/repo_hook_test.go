package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/config"
	"github.com/slipwayhq/slipway/server/core/webhook"
)

// TestRepoHook drives `slipway repo hook` on a real server: create (the secret not shown), a
// commit through put-file delivered to a real receiver with a signature that verifies,
// deliveries, redeliver, list, delete, and a bad --events refused.
func TestRepoHook(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	var mu sync.Mutex
	var bodies []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !webhook.Verify([]byte("s3cret"), b, r.Header.Get(api.HookSignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		bodies = append(bodies, r.Header.Get(api.HookDeliveryHeader))
		mu.Unlock()
	}))
	defer rcv.Close()
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: func(_ int, cfg *config.Config) { cfg.Webhooks.AllowPrivateDestinations = true }})
	cli := func(args ...string) result {
		return runWith(t, context.Background(), nil, append([]string{"--addr", c.URL(0), "--token", testutil.ManagementToken}, args...)...)
	}
	if r := cli("repo", "create", "web"); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	if r := cli("repo", "hook", "create", "--repo", "web", "--url", rcv.URL, "--secret", "s3cret", "--events", "push,nope"); r.code == 0 || !strings.Contains(r.stderr, `"nope" is not one of`) {
		t.Fatalf("bad events: %+v", r)
	}
	r := cli("repo", "hook", "create", "--repo", "web", "--url", rcv.URL, "--secret", "s3cret", "--output", "json")
	var h api.RepoHook
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &h) != nil || h.ID == "" || strings.Contains(r.stdout, "s3cret") {
		t.Fatalf("hook create: %+v", r)
	}
	local := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(local, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli("repo", "put-file", "web", "--branch", "main", "--path", "README.md", "--file", local, "--message", "first"); r.code != 0 {
		t.Fatalf("put-file: %+v", r)
	}
	var first string
	testutil.Eventually(t, 30*time.Second, func() error {
		r := cli("repo", "hook", "deliveries", "--repo", "web", h.ID)
		if r.code != 0 || !strings.Contains(r.stdout, "delivered") || !strings.Contains(r.stdout, "push") {
			return fmt.Errorf("deliveries: %+v", r)
		}
		first = strings.Fields(strings.Split(r.stdout, "\n")[1])[0]
		return nil
	})
	r = cli("repo", "hook", "redeliver", "--repo", "web", first)
	if r.code != 0 || !strings.Contains(r.stdout, "a redelivery of "+first) {
		t.Fatalf("redeliver: %+v", r)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(bodies) != 2 || bodies[0] != first || bodies[1] == first {
			return fmt.Errorf("received deliveries %v: want %s then its redelivery", bodies, first)
		}
		return nil
	})
	if r := cli("repo", "hook", "list", "--repo", "web"); r.code != 0 || !strings.Contains(r.stdout, h.ID) || !strings.Contains(r.stdout, rcv.URL) {
		t.Fatalf("list: %+v", r)
	}
	if r := cli("repo", "hook", "delete", "--repo", "web", h.ID); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	if r := cli("repo", "hook", "deliveries", "--repo", "web", h.ID); r.code == 0 || !strings.Contains(r.stderr, "has no hook") {
		t.Fatalf("deliveries of a deleted hook: %+v", r)
	}
}
