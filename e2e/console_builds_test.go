//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestBuildConsoleInABrowser drives the build pages in a real headless Chromium against a real
// `slipway dev` without agents: a build project created in the console over a repository, a
// build started from the project's page (it stays QUEUED: no agent takes it), its page showing
// it QUEUED with the live view polling, then stopped with its Stop button, and the lists. It
// saves screenshots of the project's and the build's pages to docs/console/.
func TestBuildConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	ports := freePorts(t, 2)
	dev := startProc(t, "dev", nil, "dev", "--agents", "0", "--data-dir", filepath.Join(t.TempDir(), "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
	addr, token := waitDevExports(t, dev)
	m := consoleLine.FindStringSubmatch(dev.Stdout())
	if m == nil {
		t.Fatalf("slipway dev printed no console line:\n%s", dev.Stdout())
	}
	cl, err := api.NewClient(api.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	if _, err := cl.RepoCreate(bg, api.RepositoryCreateRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.RepoPutFile(bg, "shop", api.FilePutRequest{Branch: "main", Path: "buildspec.yml",
		Content: "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n", Message: "buildspec"})
	if err != nil {
		t.Fatal(err)
	}

	ctx := browserCtx(t, exe, 3*time.Minute)
	if err := consoleSignIn(ctx, addr, "admin", m[2]); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header nav a[href="/ui/build-projects"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-project`)),
		chromedp.Click(chromedp.CSS(`#new-project`)),
		chromedp.WaitVisible(chromedp.CSS(`form input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`form input[name="name"]`), "shop-web"),
		chromedp.SendKeys(chromedp.CSS(`form input[name="repository"]`), "shop"),
		chromedp.SendKeys(chromedp.CSS(`form textarea[name="variables"]`), "STAGE=browser"),
		chromedp.Submit(chromedp.CSS(`form input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#start-form`)),
	); err != nil {
		t.Fatalf("create a build project in the console: %v", err)
	}
	screenshot(t, ctx, "build-project")
	if p, err := cl.ProjectGet(bg, "shop-web", &api.QueryOptions{Consistent: true}); err != nil || p.Source.Repository != "shop" ||
		len(p.Environment.Variables) != 1 || p.Environment.Variables[0].Value != "browser" {
		t.Fatalf("the project made in the console: %+v, %v", p, err)
	}

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#start-form input[name="source_version"]`), "main"),
		chromedp.Click(chromedp.CSS(`#start-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#build-status`)),
	); err != nil {
		t.Fatalf("start a build in the console: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#build-status`)))
	if err != nil || strings.TrimSpace(status) != "QUEUED" {
		t.Fatalf("the new build's page shows %q (%v); want QUEUED", status, err)
	}
	commit, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("commit-link").getAttribute("href")`))
	if err != nil || !strings.HasSuffix(commit, "/commit/"+put.Commit+"/") {
		t.Fatalf("the commit link is %q (%v); want the commit %s", commit, err, put.Commit)
	}
	// The page's script follows the build (it polls the console's log route on the session).
	eventually(t, 30*time.Second, "the live view to follow the build", func() error {
		live, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live`)))
		if err != nil {
			return err
		}
		if !strings.Contains(live, "Live:") {
			return fmt.Errorf("#live says %q", live)
		}
		return nil
	})
	screenshot(t, ctx, "build")
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("build").getAttribute("data-id")`))
	if err != nil || !strings.HasPrefix(id, "shop-web:") {
		t.Fatalf("the page's build ID is %q (%v)", id, err)
	}
	if b, err := cl.BuildGet(bg, id, &api.QueryOptions{Consistent: true}); err != nil || b.Status != api.BuildQueued || b.ResolvedSourceVersion != put.Commit {
		t.Fatalf("the build started in the console: %+v, %v", b, err)
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#stop-form button[type="submit"]`))); err != nil {
		t.Fatalf("press Stop: %v", err)
	}
	eventually(t, 30*time.Second, "the page to show the build STOPPED without a stop form", func() error {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("build-status") || {}).textContent + "|" + document.querySelectorAll("#stop-form").length`))
		if err != nil {
			return err
		}
		if state != "STOPPED|0" {
			return fmt.Errorf("status and stop forms: %q", state)
		}
		return nil
	})
	if b, err := cl.BuildGet(bg, id, &api.QueryOptions{Consistent: true}); err != nil || b.Status != api.BuildStopped {
		t.Fatalf("the build after Stop: %+v, %v", b, err)
	}

	// The lists show it: every build, and the project's last build.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header nav a[href="/ui/builds"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.builds`)),
	); err != nil {
		t.Fatalf("the builds list: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.builds`)))
	if err != nil || !strings.Contains(text, "shop-web #1") || !strings.Contains(text, "STOPPED") {
		t.Fatalf("the builds list shows %q (%v)", text, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header nav a[href="/ui/build-projects"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.projects`)),
	); err != nil {
		t.Fatalf("the projects list: %v", err)
	}
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.project[data-project="shop-web"]`)))
	if err != nil || !strings.Contains(text, "#1") || !strings.Contains(text, "STOPPED") {
		t.Fatalf("the projects list shows %q (%v)", text, err)
	}
}
