//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPullRequestConsoleInABrowser drives the pull request pages in a real headless Chromium
// against a real `slipway dev`: a pull request opened from the repository's page, a comment on
// a line of its files page (the form opened by the line's link, no script), the approval of a
// second user in a browser of their own satisfying the rule, and a squash merge through the
// form, after which the page says merged and main holds the squashed change.
func TestPullRequestConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ports := freePorts(t, 2)
	dev := startProc(t, "dev", nil, "dev", "--data-dir", filepath.Join(t.TempDir(), "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
	addr, token := waitDevExports(t, dev)
	m := consoleLine.FindStringSubmatch(dev.Stdout())
	if m == nil {
		t.Fatalf("slipway dev printed no console line:\n%s", dev.Stdout())
	}
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}
	cli := func(stdin string, args ...string) {
		t.Helper()
		if r := runCLIIn(t, "", env, stdin, args...); r.code != 0 {
			t.Fatalf("%s", r)
		}
	}
	cli("", "repo", "create", "site")
	cli("correct horse battery staple\n", "iam", "user", "create", "bo", "--password-stdin")
	cli("", "iam", "policy", "attach", "AdministratorAccess", "--user", "bo")

	work := t.TempDir()
	mustGit(t, work, "init", "-q", "-b", "main", "src")
	src := filepath.Join(work, "src")
	write := func(text string) {
		if err := os.WriteFile(filepath.Join(src, "README.md"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# site\nThe old second line.\nThe end.\n")
	mustGit(t, src, "add", ".")
	mustGit(t, src, "commit", "-q", "-m", "first")
	mustGit(t, src, "checkout", "-q", "-b", "feature")
	write("# site\nThe new second line.\nThe end.\n")
	mustGit(t, src, "commit", "-q", "-am", "a better second line")
	mustGit(t, src, "push", "-q", remoteURL(addr, token, "site"), "main", "feature")

	ctx := browserCtx(t, exe, 3*time.Minute)
	if err := consoleSignIn(ctx, addr, "admin", m[2]); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/repos/site"),
		chromedp.Click(chromedp.CSS(`a[href="/ui/repos/site/pulls/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`select[name="source"]`)),
		chromedp.SetValue(chromedp.CSS(`select[name="source"]`), "feature"),
		chromedp.SendKeys(chromedp.CSS(`input[name="title"]`), "A better second line"),
		chromedp.Submit(chromedp.CSS(`input[name="title"]`)),
		chromedp.WaitVisible(chromedp.CSS(`h1.pr-title`)),
	); err != nil {
		t.Fatalf("open a pull request in the console: %v", err)
	}
	cli("", "pr", "rule", "1", "--name", "review", "--approvals", "1", "--pool", "bo")

	// A comment on the second line, from the line's link on the files page.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/pulls/1/files"),
		chromedp.WaitVisible(chromedp.CSS(`#f0-s2`)),
		chromedp.Click(chromedp.CSS(`#f0-s2 a.add-comment`)),
		chromedp.WaitVisible(chromedp.CSS(`form.line-comment textarea[name="body"]`)),
		chromedp.SendKeys(chromedp.CSS(`form.line-comment textarea[name="body"]`), "Much better."),
		chromedp.Submit(chromedp.CSS(`form.line-comment textarea[name="body"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.comments article.comment`)),
	); err != nil {
		t.Fatalf("comment on a line: %v", err)
	}
	under, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("f0-s2").nextElementSibling.textContent`))
	if err != nil || !strings.Contains(under, "Much better.") {
		t.Fatalf("under the line: %q (%v)", under, err)
	}
	screenshot(t, ctx, "pull-request-files")

	// bo approves in a browser of their own: the rule holds.
	bctx := browserCtx(t, exe, 2*time.Minute)
	if err := consoleSignIn(bctx, addr, "bo", "correct horse battery staple"); err != nil {
		t.Fatalf("sign in as bo: %v", err)
	}
	if err := chromedp.Do(bctx,
		chromedp.Navigate(addr+"/ui/pulls/1"),
		chromedp.Click(chromedp.CSS(`#approvals button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rules .badge.ok`)),
	); err != nil {
		t.Fatalf("approve as bo: %v", err)
	}

	// The author merges with squash.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/pulls/1"),
		chromedp.Click(chromedp.CSS(`#merge button[value="squash"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#merged`)),
	); err != nil {
		t.Fatalf("merge with squash: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1.pr-title .badge`)))
	if err != nil || status != "merged" {
		t.Fatalf("the pull request's status: %q (%v); want merged", status, err)
	}
	screenshot(t, ctx, "pull-request")
	mustGit(t, work, "clone", "-q", remoteURL(addr, token, "site"), "again")
	if b, err := os.ReadFile(filepath.Join(work, "again", "README.md")); err != nil || !strings.Contains(string(b), "The new second line.") {
		t.Fatalf("main after the merge: %q (%v)", b, err)
	}
}
