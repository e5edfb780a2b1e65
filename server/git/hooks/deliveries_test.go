package hooks_test

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git"
)

// TestDeliveryPageAndDelivery reads a hook's deliveries a page at a time, newest first, and one
// delivery with its body, through the Go API the console uses; another hook's delivery and an
// unknown hook are not found.
func TestDeliveryPageAndDelivery(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: allowPrivate})
	recv := newReceiver(t, nil)
	h := setup(t, c, "site", recv.URL)
	other, err := c.Client(0).RepoHookCreate(t.Context(), "site", pub.RepoHookRequest{URL: recv.URL + "/other", Secret: secret, Events: []string{"create"}})
	if err != nil {
		t.Fatal(err)
	}
	svc := c.Server(0).Service("git").(*git.Module).Hooks

	dir := t.TempDir()
	gitIn(t, dir, "init", "--quiet", "--initial-branch=main")
	u, _ := url.Parse(c.URL(0) + "/git/site.git")
	u.User = url.UserPassword("x", testutil.ManagementToken)
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(dir, "n.txt"), []byte(fmt.Sprint(i)), 0o600); err != nil {
			t.Fatal(err)
		}
		gitIn(t, dir, "add", ".")
		gitIn(t, dir, "commit", "--quiet", "-m", fmt.Sprint("commit ", i))
		gitIn(t, dir, "push", "--quiet", u.String(), "main")
	}
	testutil.Eventually(t, 20*time.Second, func() error {
		all, err := svc.Deliveries(t.Context(), "site", h.ID, false)
		if err != nil || len(all) != 3 {
			return fmt.Errorf("deliveries: %d, %w", len(all), err)
		}
		return nil
	})
	all, _ := svc.Deliveries(t.Context(), "site", h.ID, false)

	page, next, err := svc.DeliveryPage(t.Context(), "site", h.ID, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != all[0].ID || page[1].ID != all[1].ID || next != all[1].ID || page[0].Payload != nil {
		t.Fatalf("the first page: %+v, %q, %v (all %+v)", page, next, err, all)
	}
	page, next, err = svc.DeliveryPage(t.Context(), "site", h.ID, next, 2)
	if err != nil || len(page) != 1 || page[0].ID != all[2].ID || next != "" {
		t.Fatalf("the last page: %+v, %q, %v", page, next, err)
	}
	if _, _, err := svc.DeliveryPage(t.Context(), "site", "00112233445566778899aabbccddeeff", "", 2); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("an unknown hook's page: %v", err)
	}

	d, err := svc.Delivery(t.Context(), "site", h.ID, all[2].ID)
	if err != nil || d.ID != all[2].ID || d.Event != "push" || len(d.Payload) == 0 {
		t.Fatalf("a delivery: %+v, %v", d, err)
	}
	if _, err := svc.Delivery(t.Context(), "site", other.ID, all[2].ID); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("another hook's delivery: %v", err)
	}
}
