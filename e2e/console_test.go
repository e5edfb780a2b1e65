//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/slipwayhq/slipway/pkg/api"
)

// chromium finds the browser the console suite drives: Debian's chromium (installed by .ci/run).
// Without one the suite is skipped, except under CI, where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH: .ci/run installs Debian's chromium")
	}
	t.Skip("no chromium on PATH (apt-get install chromium)")
	return ""
}

// browserCtx starts a headless Chromium of its own (a fresh profile: no cookies) and returns a
// context that drives it, bounded by timeout.
func browserCtx(t *testing.T, exe string, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(tctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tctx
}

// consoleSignIn signs a browser in on the console's sign-in page.
func consoleSignIn(ctx context.Context, base, user, password string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
	)
}

// screenshot saves the page as docs/console/NAME.png (the README shows them).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "docs", "console", name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save %s: %v", path, err)
	}
}

var consoleLine = regexp.MustCompile(`Console: (http://\S+)/ui/  \(user admin, password (\S+)\)`)

// TestConsoleInABrowser drives the console in a real headless Chromium against a real
// `slipway dev --agents 3`: the sign-in page, the overview with the three hosts online, a
// read-only user's view, a forged form refused, and sign-out after which the old cookie no
// longer works. It saves screenshots of the pages to docs/console/.
func TestConsoleInABrowser(t *testing.T) {
	exe := chromium(t)
	ports := freePorts(t, 2)
	dev := startProc(t, "dev", nil, "dev", "--agents", "3", "--data-dir", filepath.Join(t.TempDir(), "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
	addr, token := waitDevExports(t, dev)
	m := consoleLine.FindStringSubmatch(dev.Stdout())
	if m == nil || m[1] != addr {
		t.Fatalf("slipway dev printed no console line for %s:\n%s", addr, dev.Stdout())
	}
	password := m[2]
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}

	ctx := browserCtx(t, exe, 3*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(addr+"/"), chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`))); err != nil {
		t.Fatalf("open the console: %v", err)
	}
	screenshot(t, ctx, "sign-in")
	if err := consoleSignIn(ctx, addr, "admin", password); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}
	// The three dev hosts show online (they may still be connecting: reload until they do).
	eventually(t, 60*time.Second, "the overview to show 3 hosts online", func() error {
		if err := chromedp.Do(ctx, chromedp.Navigate(addr+"/ui/")); err != nil {
			return err
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		if err != nil {
			return err
		}
		if !strings.Contains(text, "3 online") || !strings.Contains(text, "leader") {
			return fmt.Errorf("overview says %q", text)
		}
		return nil
	})
	screenshot(t, ctx, "overview")

	// Create the application in the console, then deploy the example (pushed by the test) from
	// the console and watch every host reach ValidateService live, without reloading the page.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/apps"),
		chromedp.WaitVisible(chromedp.CSS(`form input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`form input[name="name"]`), "hello"),
		chromedp.Submit(chromedp.CSS(`form input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main h1`)),
	); err != nil {
		t.Fatalf("create an application in the console: %v", err)
	}
	// The list page's own h1 may satisfy the wait before the form's POST is answered: await the
	// application itself.
	eventually(t, 30*time.Second, "the application made in the console", func() error {
		if r := runCLI(t, "", env, "app", "get", "hello"); r.code != 0 {
			return fmt.Errorf("%s", r)
		}
		return nil
	})
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "examples", "hello")
	for _, args := range [][]string{
		{"group", "create", "--app", "hello", "web", "--tag", "env=dev"},
		{"revision", "push", "--app", "hello", example},
	} {
		if r := runCLI(t, "", env, args...); r.code != 0 {
			t.Fatalf("%s", r)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/deployments"),
		chromedp.Click(chromedp.CSS(`a[href^="/ui/deployments/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="group"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="app"]`), "hello"),
		chromedp.SendKeys(chromedp.CSS(`input[name="group"]`), "web"),
		chromedp.Submit(chromedp.CSS(`input[name="group"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#deployment`)),
	); err != nil {
		t.Fatalf("create a deployment in the console: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stillThisPage = true`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "every host to reach ValidateService on the live page", func() error {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr.host td.event[data-event="ValidateService"] .state.succeeded').length`))
		if err != nil {
			return err
		}
		if n != 3 {
			return fmt.Errorf("%d of 3 hosts show ValidateService succeeded", n)
		}
		return nil
	})
	// The end arrives live too: the end time is filled in and the stop button goes.
	eventually(t, 60*time.Second, "the live page to show the deployment's end", func() error {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("deployment-ended").textContent + "|" + document.querySelectorAll("#stop-form").length + "|" + document.getElementById("deployment-status").textContent`))
		if err != nil {
			return err
		}
		if parts := strings.Split(state, "|"); len(parts) != 3 || parts[0] == "—" || parts[1] != "0" || parts[2] != "succeeded" {
			return fmt.Errorf("ended %q, stop forms and status: %q", parts[0], state)
		}
		return nil
	})
	if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stillThisPage === true`)); err != nil || !same {
		t.Fatalf("the page was reloaded (%v): the live view must update it in place", err)
	}
	screenshot(t, ctx, "deployment")

	// A failing deployment's script output reads on its page.
	failing := t.TempDir()
	if err := os.WriteFile(filepath.Join(failing, "appspec.yml"), []byte("version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: fail.sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(failing, "fail.sh"), []byte("#!/bin/sh\necho the disk is full >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", env, "revision", "push", "--app", "hello", failing); r.code != 0 {
		t.Fatalf("%s", r)
	}
	r := runCLI(t, "", env, "deploy", "create", "--app", "hello", "--group", "web", "--revision", "latest", "--output", "json")
	var failed api.Deployment
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &failed) != nil {
		t.Fatalf("deploy create: %s", r)
	}
	eventually(t, 60*time.Second, "the failing deployment's output on its page", func() error {
		if err := chromedp.Do(ctx, chromedp.Navigate(addr+"/ui/deployments/"+failed.ID)); err != nil {
			return err
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		if err != nil {
			return err
		}
		if !strings.Contains(text, "the disk is full") || !strings.Contains(strings.ToLower(text), "failed") {
			return fmt.Errorf("page says %q", text)
		}
		return nil
	})

	// Stop a deployment from its page.
	slow := t.TempDir()
	if err := os.WriteFile(filepath.Join(slow, "appspec.yml"), []byte("version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: wait.sh\n      timeout: 600\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(slow, "wait.sh"), []byte("#!/bin/sh\nexec sleep 300\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", env, "revision", "push", "--app", "hello", slow); r.code != 0 {
		t.Fatalf("%s", r)
	}
	r = runCLI(t, "", env, "deploy", "create", "--app", "hello", "--group", "web", "--revision", "latest", "--output", "json")
	var running api.Deployment
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &running) != nil {
		t.Fatalf("deploy create: %s", r)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/deployments/"+running.ID),
		chromedp.Click(chromedp.CSS(`form[action$="/stop"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#deployment`)),
	); err != nil {
		t.Fatalf("stop from the console: %v", err)
	}
	eventually(t, 60*time.Second, "the deployment to be stopped", func() error {
		r := runCLI(t, "", env, "deploy", "get", running.ID, "--output", "json")
		var d api.Deployment
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &d) != nil {
			return fmt.Errorf("%s", r)
		}
		if d.Status != api.DeploymentStopped {
			return fmt.Errorf("deployment is %s", d.Status)
		}
		return nil
	})

	// A forged form (the right session, no CSRF token) is refused and changes nothing.
	got, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{addr + "/ui/"}}) // by URL: the page may be between two documents
	})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	var jar []*http.Cookie // the browser's cookies, for requests made beside it
	for _, c := range got.Cookies {
		jar = append(jar, &http.Cookie{Name: c.Name, Value: c.Value})
		if c.Name == "slipway_session" {
			session = c.Value
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Fatalf("the session cookie is %+v; want HttpOnly and SameSite=Strict", c)
			}
		}
	}
	if session == "" {
		t.Fatal("no session cookie after sign-in")
	}
	if code := getWithCookies(t, addr+"/ui/", jar); code != http.StatusOK {
		t.Fatalf("the browser's cookies beside it: %d; want the overview", code)
	}
	if code := postForm(t, addr+"/ui/logout", jar, url.Values{"csrf": {"forged"}}); code != http.StatusForbidden {
		t.Fatalf("forged sign-out: %d; want 403", code)
	}

	// A read-only user signs in in a browser of their own and sees no servers' internals they
	// may not read (ReadOnlyAccess reads the overview's parts).
	if r := runCLIIn(t, "", env, "correct horse battery staple\n", "iam", "user", "create", "viewer", "--password-stdin"); r.code != 0 {
		t.Fatalf("iam user create: %s", r)
	}
	if r := runCLI(t, "", env, "iam", "policy", "attach", "ReadOnlyAccess", "--user", "viewer"); r.code != 0 {
		t.Fatalf("attach ReadOnlyAccess: %s", r)
	}
	vctx := browserCtx(t, exe, 2*time.Minute)
	if err := consoleSignIn(vctx, addr, "viewer", "correct horse battery staple"); err != nil {
		t.Fatalf("sign in as viewer: %v", err)
	}
	if who, err := chromedp.Run(vctx, chromedp.Text(chromedp.CSS(`.who`))); err != nil || who != "viewer" {
		t.Fatalf("signed in as %q (%v); want viewer", who, err)
	}
	// The viewer sees no deploy or stop button; a POST forged with the viewer's own session and
	// CSRF token is refused by policy.
	if err := chromedp.Do(vctx, chromedp.Navigate(addr+"/ui/deployments/"+running.ID), chromedp.WaitVisible(chromedp.CSS(`#deployment`))); err != nil {
		t.Fatal(err)
	}
	buttons, err := chromedp.Run(vctx, chromedp.Evaluate[int](`document.querySelectorAll('form[action$="/stop"], form[action$="/redeploy"], a[href^="/ui/deployments/new"]').length`))
	if err != nil || buttons != 0 {
		t.Fatalf("the read-only user sees %d deploy or stop buttons (%v)", buttons, err)
	}
	csrf, err := chromedp.Run(vctx, chromedp.Evaluate[string](`document.querySelector('input[name="csrf"]').value`))
	if err != nil || csrf == "" {
		t.Fatalf("no CSRF token on the viewer's page: %v", err)
	}
	vgot, err := chromedp.Run(vctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{addr + "/ui/"}}) // by URL: the page may be between two documents
	})
	if err != nil {
		t.Fatal(err)
	}
	var vjar []*http.Cookie
	for _, c := range vgot.Cookies {
		vjar = append(vjar, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	if code := postForm(t, addr+"/ui/deployments", vjar, url.Values{"csrf": {csrf}, "app": {"hello"}, "group": {"web"}}); code != http.StatusForbidden {
		t.Fatalf("a deployment forged by the read-only user: %d; want 403", code)
	}

	// Sign out; the old cookie no longer works, on this page or any other.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.signout button`)), chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if code := getWithCookies(t, addr+"/ui/", jar); code != http.StatusSeeOther {
		t.Fatalf("the old cookie after sign-out: %d; want 303 to the sign-in page", code)
	}
}

// postForm posts a form with cookies and returns the status (no redirects followed).
func postForm(t *testing.T, u string, jar []*http.Cookie, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range jar {
		req.AddCookie(c)
	}
	return doNoRedirect(t, req)
}

// getWithCookies gets a page with cookies and returns the status (no redirects).
func getWithCookies(t *testing.T, u string, jar []*http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for _, c := range jar {
		req.AddCookie(c)
	}
	return doNoRedirect(t, req)
}

func doNoRedirect(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
