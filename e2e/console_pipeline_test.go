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

// browserPipeline is a pipeline that needs no agent: a Slipway repository's main branch, then a
// manual approval.
const browserPipeline = `pipeline:
  name: web
  stages:
    - name: Source
      actions:
        - name: Checkout
          actionTypeId: {category: Source, owner: AWS, provider: SlipwayRepo, version: "1"}
          configuration: {RepositoryName: web, BranchName: main}
          outputArtifacts: [{name: Src}]
    - name: Approve
      actions:
        - name: Approval
          actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
          configuration: {CustomData: "check the release notes"}
`

// TestPipelineConsoleInABrowser drives the pipeline pages in a real headless Chromium against a
// real `slipway dev` without agents: a pipeline (a repository source and a manual approval)
// created through the API; in the browser, the transition into Approve disabled with a reason
// and enabled again, Release change pressed, the approval appearing live, approved with a
// comment, and the page showing the execution Succeeded without a reload. It saves a
// screenshot of the pipeline's page to docs/console/.
func TestPipelineConsoleInABrowser(t *testing.T) {
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
	if _, err := cl.RepoCreate(bg, api.RepositoryCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	put, err := cl.RepoPutFile(bg, "web", api.FilePutRequest{Branch: "main", Path: "index.html", Content: "<h1>web</h1>\n", Message: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PipelineCreate(bg, api.PipelineRequest{Definition: browserPipeline}); err != nil {
		t.Fatalf("create the pipeline: %v", err)
	}

	ctx := browserCtx(t, exe, 3*time.Minute)
	if err := consoleSignIn(ctx, addr, "admin", m[2]); err != nil {
		t.Fatalf("sign in as admin: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header nav a[href="/ui/pipelines"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.pipeline[data-pipeline="web"] a`)),
		chromedp.Click(chromedp.CSS(`tr.pipeline[data-pipeline="web"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#disable-Approve`)),
		// Disable the transition into Approve with a reason, then enable it again.
		chromedp.SendKeys(chromedp.CSS(`#disable-Approve input[name="reason"]`), "waiting for the browser"),
		chromedp.Click(chromedp.CSS(`#disable-Approve button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#enable-Approve`)),
	); err != nil {
		t.Fatalf("disable the transition in the console: %v", err)
	}
	reason, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`li.transition[data-stage="Approve"] q.reason`)))
	if err != nil || reason != "waiting for the browser" {
		t.Fatalf("the disabled transition's reason on the page: %q (%v)", reason, err)
	}
	if p, err := cl.PipelineGet(bg, "web", &api.QueryOptions{Consistent: true}); err != nil || p.Transitions["Approve"].Reason != "waiting for the browser" {
		t.Fatalf("the transition disabled in the console: %+v, %v", p, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#enable-Approve button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#disable-Approve`)),
	); err != nil {
		t.Fatalf("enable the transition in the console: %v", err)
	}
	if p, err := cl.PipelineGet(bg, "web", &api.QueryOptions{Consistent: true}); err != nil || len(p.Transitions) != 0 {
		t.Fatalf("the transition enabled in the console: %+v, %v", p, err)
	}

	// Release change: the page follows the execution until its approval waits.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#release`)),
		chromedp.WaitVisible(chromedp.CSS(`#approve-Approve-Approval textarea[name="comment"]`)),
	); err != nil {
		t.Fatalf("release a change and see its approval: %v", err)
	}
	screenshot(t, ctx, "pipeline")
	hist, err := cl.PipelineHistory(bg, "web", &api.QueryOptions{Consistent: true})
	if err != nil || len(hist.Executions) != 1 {
		t.Fatalf("the execution started in the console: %+v, %v", hist, err)
	}
	id := hist.Executions[0].ID
	if e := hist.Executions[0]; e.Trigger.Type != api.TriggerManual || len(e.SourceRevisions) != 1 || e.SourceRevisions[0].Commit != put.Commit {
		t.Fatalf("the execution: %+v", e)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#approve-Approve-Approval textarea[name="comment"]`), "ship it"),
		chromedp.Click(chromedp.CSS(`#approve-Approve-Approval button.approve`)),
	); err != nil {
		t.Fatalf("approve in the console: %v", err)
	}
	eventually(t, 30*time.Second, "the page to show the execution Succeeded", func() error {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector("#latest-execution + .badge") || {}).textContent + "|" + (document.querySelector(".approval-result") || {}).textContent`))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(state, "Succeeded|Approved by admin") || !strings.Contains(state, "ship it") {
			return fmt.Errorf("the page shows %q", state)
		}
		return nil
	})
	e, err := cl.PipelineExecutionGet(bg, "web", id, &api.QueryOptions{Consistent: true})
	if err != nil || e.Status != api.PipelineSucceeded || e.Stages[1].Actions[0].Approval == nil || e.Stages[1].Actions[0].Approval.Comment != "ship it" ||
		e.Stages[1].Actions[0].Approval.By != "admin" {
		t.Fatalf("the approved execution: %+v, %v", e, err)
	}

	// The history lists it with its stages' dots.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#history-link`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.execution[data-execution="`+id+`"]`)),
	); err != nil {
		t.Fatalf("the history: %v", err)
	}
	dots, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr.execution .dot.succeeded").length`))
	if err != nil || dots != 2 {
		t.Fatalf("the history's dots: %d (%v)", dots, err)
	}
}
