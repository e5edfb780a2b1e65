//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slipwayhq/slipway/pkg/api"
)

// liveBuildspec prints ten lines 0.3 s apart (the live log has something to follow), echoes a
// secret variable (masked) and checks its value by its SHA-256 (TOKEN_SHA256, filled in), and
// leaves an artifact and a JUnit report of two cases.
const liveBuildspec = `version: 0.2
phases:
  install:
    commands:
      - echo installing
  build:
    commands:
      - for i in 1 2 3 4 5 6 7 8 9 10; do echo "tick $i of 10"; sleep 0.3; done
      - echo "the token is $TOKEN"
      - test "$(printf %s "$TOKEN" | sha256sum | cut -c1-64)" = TOKEN_SHA256
      - mkdir -p dist && echo built > dist/app.txt
      - |
        cat > report.xml <<'XML'
        <testsuite name="live" tests="2">
          <testcase classname="live.Page" name="shows the lines" time="0.1"/>
          <testcase classname="live.Page" name="masks the secret" time="0.2"/>
        </testsuite>
        XML
reports:
  live-tests:
    files:
      - report.xml
    file-format: JUNITXML
artifacts:
  files:
    - dist/app.txt
  discard-paths: yes
`

// livePage is what the test reads of a build's page at one moment.
type livePage struct {
	URL      string   `json:"url"`
	Status   string   `json:"status"`
	Log      string   `json:"log"`
	Running  []string `json:"running"` // phases whose row says running
	Phases   []string `json:"phases"`  // NAME STATUS DURATION of each row
	HasValue bool     `json:"has_value"`
}

// readLivePage reads the build page's status, log and phases table, and whether the page holds
// value anywhere.
func readLivePage(ctx context.Context, value string) (livePage, error) {
	js := `(function (secret) {
  var st = document.getElementById("build-status");
  var pre = document.getElementById("log");
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.phases tr.phase"));
  return JSON.stringify({
    url: location.pathname,
    status: st ? st.textContent.trim() : "",
    log: pre ? pre.textContent : "",
    running: rows.filter(function (r) { return r.querySelector(".badge.in_progress"); }).map(function (r) { return r.getAttribute("data-phase"); }),
    phases: rows.map(function (r) { var c = r.querySelectorAll("td"); return r.getAttribute("data-phase") + " " + c[1].textContent.trim() + " " + c[3].textContent.trim(); }),
    has_value: document.documentElement.outerHTML.indexOf(secret) >= 0
  });
})(` + jsString(value) + `)`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return livePage{}, err
	}
	var p livePage
	err = json.Unmarshal([]byte(out), &p)
	return p, err
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var phaseDuration = regexp.MustCompile(`^[0-9.]+(ms|s|m[0-9.]*s?)$`)

// TestBuildConsoleLiveInABrowser drives a build that really runs, in a real headless Chromium
// against `slipway dev --agents 1`: a buildspec pushed with the real git, a project over it with
// a service role allowed to read one secret (put with `slipway secret put`), and a build started
// from the project page's form with that secret as a secret variable. While the build runs, its
// page shows log lines as they come (the live log: some of the ten lines, not yet the last) and
// the running phase in the phases table; at the end the status is SUCCEEDED, every phase row
// has its status and duration, the secret's value is masked (`***`) and nowhere on the page or
// in the log route's answers, the artifact link downloads a zip holding the built file, and the
// report's two cases are listed.
func TestBuildConsoleLiveInABrowser(t *testing.T) {
	exe := chromium(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the scenario needs git: %v", err)
	}
	ports := freePorts(t, 2)
	dev := startProc(t, "dev", nil, "dev", "--agents", "1", "--data-dir", filepath.Join(t.TempDir(), "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
	addr, token := waitDevExports(t, dev)
	m := consoleLine.FindStringSubmatch(dev.Stdout())
	if m == nil {
		t.Fatalf("slipway dev printed no console line:\n%s", dev.Stdout())
	}
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}
	cl, err := api.NewClient(api.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()

	// The secret, and a service role whose policy reads it (and only secrets under ci/live/).
	const secretValue = "hunter2-live-7f3a"
	if r := runCLIIn(t, "", env, secretValue, "secret", "put", "ci/live/token"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	if _, err := cl.PolicyCreate(bg, api.PolicyPutRequest{Name: "live-build", Document: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	  "Action": "secretsmanager:GetSecretValue", "Resource": "srn:slipway:secretsmanager:secret/ci/live/*"}]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RoleCreate(bg, api.RoleCreateRequest{Name: "live-build", Trust: []string{"user/nobody"}, Policies: []string{"live-build"}}); err != nil {
		t.Fatal(err)
	}

	// The buildspec, pushed with the real git as the main branch of a repository.
	if r := runCLI(t, "", env, "repo", "create", "live"); r.code != 0 {
		t.Fatalf("repo create: %s", r)
	}
	work := filepath.Join(t.TempDir(), "live")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secretValue))
	spec := strings.ReplaceAll(liveBuildspec, "TOKEN_SHA256", hex.EncodeToString(sum[:]))
	if err := os.WriteFile(filepath.Join(work, "buildspec.yml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	helper := "credential.helper=!" + slipwayBin + " git-credential"
	gitEnv := append(slices.Clone(env), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	mustGitWith(t, work, gitEnv, "init", "-q", "-b", "main")
	mustGitWith(t, work, gitEnv, "add", ".")
	mustGitWith(t, work, gitEnv, "commit", "-q", "-m", "a slow buildspec")
	mustGitWith(t, work, gitEnv, "-c", helper, "push", "-q", addr+"/git/live.git", "main")
	if r := runCLI(t, "", env, "project", "create", "live-web", "--repo", "live", "--artifacts", "BLOB",
		"--service-role", "live-build"); r.code != 0 {
		t.Fatalf("project create: %s", r)
	}

	// The build, started from the project page's form with the secret as a secret variable.
	ctx := browserCtx(t, exe, 4*time.Minute)
	if err := consoleSignIn(ctx, addr, "admin", m[2]); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr+"/ui/build-projects/live-web"),
		chromedp.WaitVisible(chromedp.CSS(`#start-form`)),
		chromedp.SendKeys(chromedp.CSS(`#start-form input[name="source_version"]`), "main"),
		chromedp.Click(chromedp.CSS(`#start-form details summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#start-form textarea[name="secrets"]`)),
		chromedp.SendKeys(chromedp.CSS(`#start-form textarea[name="secrets"]`), "TOKEN=ci/live/token"),
		chromedp.Click(chromedp.CSS(`#start-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#build-status`)),
	); err != nil {
		t.Fatalf("start a build in the console: %v", err)
	}
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("build").getAttribute("data-id")`))
	if err != nil || !strings.HasPrefix(id, "live-web:") {
		t.Fatalf("the page's build ID is %q (%v)", id, err)
	}

	// While it runs: lines appear on the page before the last is printed, and the phases table
	// shows the running phase.
	var sawPartial, sawRunning bool
	var last livePage
	eventually(t, 3*time.Minute, "the build to end on its page", func() error {
		p, err := readLivePage(ctx, secretValue)
		if err != nil {
			return err // the page reloads at the end: a read may meet the navigation
		}
		last = p
		if p.HasValue {
			t.Fatalf("the page holds the secret's value in clear (status %s)", p.Status)
		}
		if p.Status == api.BuildInProgress && strings.Contains(p.Log, "tick 1 of 10") && !strings.Contains(p.Log, "tick 10 of 10") {
			sawPartial = true
		}
		if p.Status == api.BuildInProgress && slices.Contains(p.Running, "BUILD") {
			sawRunning = true
		}
		if p.Status == api.BuildQueued || p.Status == api.BuildInProgress {
			return fmt.Errorf("the build is %s", p.Status)
		}
		// Ended: the page reloaded with the results (the artifacts table is rendered then).
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.artifacts a[download]").length + document.querySelectorAll("article.report").length`))
		if err != nil {
			return err
		}
		if n < 2 {
			return fmt.Errorf("the build is %s; its results are not on the page yet", p.Status)
		}
		return nil
	})
	if !sawPartial {
		t.Errorf("the page never showed some of the lines while the build ran; at the end:\n%s", last.Log)
	}
	if !sawRunning {
		t.Errorf("the phases table never showed BUILD running while the build ran")
	}
	screenshot(t, ctx, "build-live")
	p, err := readLivePage(ctx, secretValue)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != api.BuildSucceeded {
		t.Fatalf("the build ended %s, want SUCCEEDED; log:\n%s\ndev:\n%s", p.Status, p.Log, tail(dev.Stdout(), 40))
	}
	for _, want := range []string{"tick 1 of 10", "tick 10 of 10", "the token is ***"} {
		if !strings.Contains(p.Log, want) {
			t.Errorf("the log on the page lacks %q:\n%s", want, p.Log)
		}
	}
	if p.HasValue {
		t.Errorf("the page holds the secret's value in clear")
	}
	seen := map[string]bool{}
	for _, row := range p.Phases {
		f := strings.Fields(row)
		seen[f[0]] = true
		if f[0] == "COMPLETED" {
			continue
		}
		if len(f) != 3 || f[1] != "SUCCEEDED" || !phaseDuration.MatchString(f[2]) {
			t.Errorf("phase row %q: want NAME SUCCEEDED DURATION", row)
		}
	}
	for _, want := range []string{"QUEUED", "DOWNLOAD_SOURCE", "INSTALL", "BUILD", "UPLOAD_ARTIFACTS", "COMPLETED"} {
		if !seen[want] {
			t.Errorf("the phases table lacks %s: %q", want, p.Phases)
		}
	}

	// The log route's answers (what the live view read) never held the value either.
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/ui/builds/" + document.getElementById("build").getAttribute("data-id") + "/log?after=0").then(function (r) { return r.text(); })`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(raw, "the token is ***") || strings.Contains(raw, secretValue) {
		t.Errorf("the log route answered %q (%v)", raw, err)
	}

	// The artifact link downloads a zip (read with the page's session, as the link is followed).
	b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () {
  var a = document.querySelector("table.artifacts a[download]");
  return fetch(a.getAttribute("href")).then(function (r) {
    if (!r.ok) { throw new Error("status " + r.status); }
    var cd = r.headers.get("Content-Disposition") || "";
    return r.arrayBuffer().then(function (buf) {
      var s = "", bytes = new Uint8Array(buf);
      for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
      return cd + "\n" + btoa(s);
    });
  });
})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download the artifact: %v", err)
	}
	disposition, body, _ := strings.Cut(b64, "\n")
	if !strings.Contains(disposition, ".zip") {
		t.Errorf("the artifact's Content-Disposition is %q, want a .zip file", disposition)
	}
	data, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the artifact is not a zip (%d bytes): %v", len(data), err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"app.txt"}) {
		t.Errorf("the artifact holds %v, want [app.txt]", names)
	}

	// The report's cases are listed.
	cases, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`article.report[data-report="live-tests"] table.cases`)))
	if err != nil {
		t.Fatalf("the report's cases: %v", err)
	}
	for _, want := range []string{"shows the lines", "masks the secret", "SUCCEEDED"} {
		if !strings.Contains(cases, want) {
			t.Errorf("the report's cases lack %q: %q", want, cases)
		}
	}
	if b, err := cl.BuildGet(bg, id, &api.QueryOptions{Consistent: true}); err != nil || b.Status != api.BuildSucceeded {
		t.Errorf("the build's record: %+v, %v", b, err)
	}
}
