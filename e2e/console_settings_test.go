//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRepoSettingsInABrowser drives a repository's settings pages in a real headless Chromium
// against a real `slipway dev` (which lets webhooks reach this machine): main protected
// through the protection form, a webhook added through the webhooks form to a local receiver,
// a push with the real git, the delivery's page with its attempt and payload, and a force push
// refused by the rule.
func TestRepoSettingsInABrowser(t *testing.T) {
	exe := chromium(t)
	ports := freePorts(t, 2)
	dev := startProc(t, "dev", nil, "dev", "--data-dir", filepath.Join(t.TempDir(), "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]))
	addr, token := waitDevExports(t, dev)
	m := consoleLine.FindStringSubmatch(dev.Stdout())
	if m == nil {
		t.Fatalf("slipway dev printed no console line:\n%s", dev.Stdout())
	}
	var got atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)

	work := t.TempDir()
	mustGit(t, work, "init", "-q", "-b", "main", "src")
	src := filepath.Join(work, "src")
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("# site\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, src, "add", ".")
	mustGit(t, src, "commit", "-q", "-m", "first")

	ctx := browserCtx(t, exe, 3*time.Minute)
	if err := consoleSignIn(ctx, addr, "admin", m[2]); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/repos"),
		chromedp.WaitVisible(chromedp.CSS(`form input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`form input[name="name"]`), "site"),
		chromedp.Submit(chromedp.CSS(`form input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#clone-http`)),
		chromedp.Click(chromedp.CSS(`p.repo-settings a[href$="/protection"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="pattern"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="pattern"]`), "main"),
		chromedp.Click(chromedp.CSS(`input[name="no_force_push"]`)),
		chromedp.Click(chromedp.CSS(`input[name="no_delete"]`)),
		chromedp.Submit(chromedp.CSS(`input[name="pattern"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.rules`)),
	); err != nil {
		t.Fatalf("protect main in the console: %v", err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.rules`)))
	if !strings.Contains(text, "main") || strings.Count(text, "refused") != 2 {
		t.Fatalf("the rules show %q", text)
	}
	screenshot(t, ctx, "repository-protection")

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`p.settings-nav a[href$="/hooks"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="url"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="url"]`), recv.URL+"/slipway"),
		chromedp.SendKeys(chromedp.CSS(`input[name="secret"]`), "a secret of ours"),
		chromedp.Click(chromedp.CSS(`input[name="events"][value="create"]`)),
		chromedp.Submit(chromedp.CSS(`input[name="url"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.facts`)),
	); err != nil {
		t.Fatalf("add a webhook in the console: %v", err)
	}
	hookPage, _ := chromedp.Run(ctx, chromedp.Location())
	mustGit(t, src, "push", "-q", remoteURL(addr, token, "site"), "main")
	eventually(t, 30*time.Second, "the receiver gets the push and the branch's creation", func() error {
		if n := got.Load(); n < 2 {
			return fmt.Errorf("%d deliveries received", n)
		}
		return nil
	})
	eventually(t, 30*time.Second, "the hook's page shows both delivered", func() error {
		if err := chromedp.Do(ctx, chromedp.Navigate(hookPage), chromedp.WaitVisible(chromedp.CSS(`table.facts`))); err != nil {
			return err
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('table.deliveries .badge.delivered').length`))
		if err != nil {
			return err
		}
		if n != 2 {
			return errors.New("not both delivered yet")
		}
		return nil
	})
	screenshot(t, ctx, "repository-webhook")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`table.deliveries a[href*="/deliveries/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`pre.payload`)),
	); err != nil {
		t.Fatalf("a delivery's page: %v", err)
	}
	text, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.attempts`)))
	payload, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`pre.payload`)))
	if !strings.Contains(text, "HTTP 204") || !strings.Contains(payload, `"site"`) {
		t.Fatalf("the delivery shows attempts %q and payload %q", text, payload)
	}
	screenshot(t, ctx, "repository-webhook-delivery")

	// The rule made in the console holds: a force push to main is refused.
	mustGit(t, src, "commit", "-q", "--amend", "-m", "rewritten")
	if out, err := gitRun(t, src, "push", "-q", "--force", remoteURL(addr, token, "site"), "main"); err == nil || !strings.Contains(out, "protected branch main") {
		t.Fatalf("a force push to the protected main: %v\n%s", err, out)
	}
}
