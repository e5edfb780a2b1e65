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

// TestRepoConsoleInABrowser drives the repository pages in a real headless Chromium against a
// real `slipway dev`: a repository created in the console shows its clone URL (with a copy
// button the page's script reveals); after a push with the real git, the file is browsed to,
// edited in the browser and committed, and the commit is in the log and in a fresh clone.
func TestRepoConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ports := freePorts(t, 2)
	dev := startProc(t, "dev", nil, "dev", "--data-dir", filepath.Join(t.TempDir(), "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]))
	addr, token := waitDevExports(t, dev)
	m := consoleLine.FindStringSubmatch(dev.Stdout())
	if m == nil {
		t.Fatalf("slipway dev printed no console line:\n%s", dev.Stdout())
	}
	ctx := browserCtx(t, exe, 3*time.Minute)
	if err := consoleSignIn(ctx, addr, "admin", m[2]); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header nav a[href="/ui/repos"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`form input[name="name"]`), "site"),
		chromedp.Submit(chromedp.CSS(`form input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#clone-http`)),
		chromedp.WaitVisible(chromedp.CSS(`button.copy[data-copy="clone-http"]`)), // git.js revealed it
	); err != nil {
		t.Fatalf("create a repository in the console: %v", err)
	}
	clone, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#clone-http`)))
	if err != nil {
		t.Fatal(err)
	}
	copyHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('button.copy').hidden`))
	if err != nil || clone != addr+"/git/site.git" || copyHidden {
		t.Fatalf("clone URL %q (copy button hidden: %v); want %s/git/site.git", clone, copyHidden, addr)
	}
	screenshot(t, ctx, "repository-empty")

	work := t.TempDir()
	mustGit(t, work, "init", "-q", "-b", "main", "src")
	src := filepath.Join(work, "src")
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("# site\n\nBefore the edit.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, src, "add", ".")
	mustGit(t, src, "commit", "-q", "-m", "first")
	mustGit(t, src, "push", "-q", remoteURL(addr, token, "site"), "main")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/repos/site"),
		chromedp.Click(chromedp.CSS(`table.tree a[href$="/blob/main/README.md"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.code`)),
	); err != nil {
		t.Fatalf("browse to README.md: %v", err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.code`)))
	if !strings.Contains(text, "Before the edit.") {
		t.Fatalf("README.md shows %q", text)
	}
	screenshot(t, ctx, "repository-file")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href$="/edit/main/README.md"]`)),
		chromedp.WaitVisible(chromedp.CSS(`textarea[name="content"]`)),
		chromedp.SetValue(chromedp.CSS(`textarea[name="content"]`), "# site\n\nEdited in the browser.\n"),
		chromedp.SendKeys(chromedp.CSS(`input[name="message"]`), "Edit the README in Chromium"),
		chromedp.Submit(chromedp.CSS(`input[name="message"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.code`)),
	); err != nil {
		t.Fatalf("edit README.md in the browser: %v", err)
	}
	text, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.code`)))
	if !strings.Contains(text, "Edited in the browser.") {
		t.Fatalf("README.md after the edit shows %q", text)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href$="/commits/main?path=README.md"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.commits`)),
	); err != nil {
		t.Fatalf("the log: %v", err)
	}
	text, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.commits`)))
	if !strings.Contains(text, "Edit the README in Chromium") || !strings.Contains(text, "first") {
		t.Fatalf("the log shows %q", text)
	}
	screenshot(t, ctx, "repository-log")

	mustGit(t, work, "clone", "-q", remoteURL(addr, token, "site"), "again")
	if got := mustGit(t, filepath.Join(work, "again"), "log", "-1", "--format=%s"); strings.TrimSpace(got) != "Edit the README in Chromium" {
		t.Fatalf("a fresh clone's head is %q", got)
	}
	mustGit(t, filepath.Join(work, "again"), "fsck", "--strict")
}
