//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// pipelineDev is a `slipway dev --agents 2` with the example pipeline's repository pushed.
type pipelineDev struct {
	t       *testing.T
	dev     *proc
	addr    string
	env     []string
	gitEnv  []string
	helper  string
	dataDir string
}

// startPipelineDev starts `slipway dev --agents 2` and waits until both agents take builds.
func startPipelineDev(t *testing.T) *pipelineDev {
	t.Helper()
	ports := freePorts(t, 2)
	dataDir := t.TempDir()
	dev := startProc(t, "dev", nil, "dev", "--agents", "2", "--data-dir", filepath.Join(dataDir, "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
	addr, token := waitDevExports(t, dev)
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}
	for _, h := range []string{"dev-1", "dev-2"} {
		eventually(t, 30*time.Second, h+" advertises builds", func() error {
			r := runCLI(t, "", env, "host", "get", h, "--output", "json")
			var host api.Host
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &host) != nil {
				return fmt.Errorf("%s", r)
			}
			if !slices.Contains(host.Capabilities, "build") {
				return fmt.Errorf("capabilities %v", host.Capabilities)
			}
			return nil
		})
	}
	return &pipelineDev{
		t: t, dev: dev, addr: addr, env: env, dataDir: filepath.Join(dataDir, "dev"),
		helper: "credential.helper=!" + slipwayBin + " git-credential",
		gitEnv: append(slices.Clone(env), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
			"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com"),
	}
}

// cli runs the CLI as the management token and fails the test on a non-zero exit.
func (d *pipelineDev) cli(args ...string) string {
	d.t.Helper()
	r := runCLI(d.t, "", d.env, args...)
	if r.code != 0 {
		d.t.Fatalf("slipway %s: %s\ndev stderr:\n%s", strings.Join(args, " "), r, tail(d.dev.Stderr(), 4000))
	}
	return r.stdout
}

// repo creates repository name holding examples/pipeline (with extra files) on main and
// returns the working copy.
func (d *pipelineDev) repo(name string, extra map[string]string) string {
	d.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "examples", "pipeline")
	d.cli("repo", "create", name)
	work := filepath.Join(d.t.TempDir(), name)
	if err := os.CopyFS(work, os.DirFS(example)); err != nil {
		d.t.Fatal(err)
	}
	for p, body := range extra {
		d.write(work, p, body)
	}
	mustGitWith(d.t, work, d.gitEnv, "init", "-q", "-b", "main")
	mustGitWith(d.t, work, d.gitEnv, "add", ".")
	mustGitWith(d.t, work, d.gitEnv, "commit", "-q", "-m", "the example")
	d.push(work, name)
	return work
}

func (d *pipelineDev) write(work, p, body string) {
	d.t.Helper()
	full := filepath.Join(work, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		d.t.Fatal(err)
	}
	mode := os.FileMode(0o644)
	if strings.HasSuffix(p, ".sh") {
		mode = 0o755
	}
	if err := os.WriteFile(full, []byte(body), mode); err != nil {
		d.t.Fatal(err)
	}
}

// commit commits a change to path in work and pushes it; it answers the new commit.
func (d *pipelineDev) commit(work, repo, p, body string) string {
	d.t.Helper()
	d.write(work, p, body)
	mustGitWith(d.t, work, d.gitEnv, "add", ".")
	mustGitWith(d.t, work, d.gitEnv, "commit", "-q", "-m", "change "+p)
	d.push(work, repo)
	return strings.TrimSpace(mustGitWith(d.t, work, d.gitEnv, "rev-parse", "HEAD"))
}

func (d *pipelineDev) push(work, repo string) {
	d.t.Helper()
	mustGitWith(d.t, work, d.gitEnv, "-c", d.helper, "push", "-q", d.addr+"/git/"+repo+".git", "main")
}

// history answers `slipway pipeline history NAME --output json`, newest first.
func (d *pipelineDev) history(name string) []api.PipelineExecution {
	d.t.Helper()
	out := d.cli("pipeline", "history", name, "--output", "json")
	var list []api.PipelineExecution
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		var page api.PipelineExecutionList
		if err2 := json.Unmarshal([]byte(out), &page); err2 != nil {
			d.t.Fatalf("pipeline history --output json is not a list of executions: %v\n%s", err, out)
		}
		list = page.Executions
	}
	return list
}

// waitFor waits until pipeline name has an execution for commit (its trigger's) that cond
// accepts, and answers it.
func (d *pipelineDev) waitFor(name, commit, what string, timeout time.Duration, cond func(api.PipelineExecution) error) api.PipelineExecution {
	d.t.Helper()
	var got api.PipelineExecution
	eventually(d.t, timeout, what, func() error {
		for _, e := range d.history(name) {
			if e.Trigger.Commit != commit {
				continue
			}
			if e.Status == api.PipelineFailed {
				d.t.Fatalf("%s: execution %s failed: %s", what, e.ID, describe(e))
			}
			if err := cond(e); err != nil {
				return fmt.Errorf("%s: %w", e.ID, err)
			}
			got = e
			return nil
		}
		return fmt.Errorf("no execution for commit %s yet", commit)
	})
	return got
}

func action(e api.PipelineExecution, stage, name string) api.ActionExecution {
	for _, s := range e.Stages {
		if s.Name == stage {
			for _, a := range s.Actions {
				if a.Name == name {
					return a
				}
			}
		}
	}
	return api.ActionExecution{}
}

func stageStatus(e api.PipelineExecution, stage string) string {
	for _, s := range e.Stages {
		if s.Name == stage {
			return s.Status
		}
	}
	return ""
}

func describe(e api.PipelineExecution) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s)", e.ID, e.Status, e.StatusSummary)
	for _, s := range e.Stages {
		fmt.Fprintf(&b, "; %s=%s", s.Name, s.Status)
		for _, a := range s.Actions {
			fmt.Fprintf(&b, " [%s %s %s %s]", a.Name, a.Status, a.Summary, a.Error)
		}
	}
	return b.String()
}

// TestDevPipelineReleasesAPush is the pipelines issue's end to end on `slipway dev --agents 2`:
// Source (repository web, main) → Build (project web-build) → Approve (Manual) → Deploy (group
// web-hosts, named by the build's exported GROUP) starts on `git push`; a user without
// codepipeline:PutApprovalResult is refused, one with it approves from the CLI; both hosts then
// serve the site the build stamped with the pushed commit.
func TestDevPipelineReleasesAPush(t *testing.T) {
	d := startPipelineDev(t)
	work := d.repo("web", nil)
	d.cli("project", "create", "web-build", "--repo", "web", "--artifacts", "BLOB")
	d.cli("app", "create", "web")
	d.cli("group", "create", "--app", "web", "web-hosts", "--host", "dev-1", "--host", "dev-2")
	d.cli("pipeline", "create", "--file", filepath.Join(work, "pipeline.yml"))

	// Two users: carol may read pipelines only, dave may approve.
	tokens := map[string]string{}
	for _, u := range []struct{ name, policy string }{{"carol", "CodePipelineReadOnlyAccess"}, {"dave", "CodePipelineApproverAccess"}} {
		d.cli("iam", "user", "create", u.name)
		d.cli("iam", "policy", "attach", u.policy, "--user", u.name)
		var tok struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal([]byte(d.cli("iam", "token", "create", "--user", u.name, "--output", "json")), &tok); err != nil || tok.Secret == "" {
			t.Fatalf("token of %s: %v", u.name, err)
		}
		tokens[u.name] = tok.Secret
	}

	commit := d.commit(work, "web", "VERSION", "2.1\n")
	pushed := time.Now()
	e := d.waitFor("web", commit, "the push's execution waits for the approval", 3*time.Minute, func(e api.PipelineExecution) error {
		if a := action(e, "Approve", "Release"); a.Status != api.PipelineInProgress || a.Approval == nil {
			return fmt.Errorf("approval is %q: %s", a.Status, describe(e))
		}
		return nil
	})
	t.Logf("from the push to the approval: %s", time.Since(pushed).Round(time.Millisecond))
	if e.Trigger.Type != api.TriggerPush || e.Trigger.Repository != "web" {
		t.Errorf("trigger = %+v, want a push to web", e.Trigger)
	}
	build := action(e, "Build", "Build")
	if build.Status != api.PipelineSucceeded || build.Variables["GROUP"] != "web-hosts" {
		t.Fatalf("the build action: %+v", build)
	}
	if src := action(e, "Source", "Source"); src.Variables["CommitId"] != commit {
		t.Errorf("Source's CommitId = %q, want %s", src.Variables["CommitId"], commit)
	}
	wantData := "Release 2.1+" + commit + " to web-hosts?"
	if got := action(e, "Approve", "Release").Approval.CustomData; got != wantData {
		t.Errorf("the approval's custom data = %q, want %q (variables resolved)", got, wantData)
	}

	approve := func(who string) cliResult {
		env := []string{"SLIPWAY_ADDR=" + d.addr, "SLIPWAY_TOKEN=" + tokens[who]}
		return runCLI(t, "", env, "approval", "approve", "web", "--execution", e.ID, "--stage", "Approve", "--action", "Release", "--comment", "ship it, says "+who)
	}
	if r := approve("carol"); r.code == 0 || !strings.Contains(r.stderr, "codepipeline:PutApprovalResult") {
		t.Fatalf("carol's approval: want a refusal naming codepipeline:PutApprovalResult: %s", r)
	}
	if a := action(d.history("web")[0], "Approve", "Release"); a.Status != api.PipelineInProgress {
		t.Fatalf("after carol's refused approval the action is %q", a.Status)
	}
	if r := approve("dave"); r.code != 0 {
		t.Fatalf("dave's approval: %s", r)
	}

	e = d.waitFor("web", commit, "the execution succeeds", 3*time.Minute, func(e api.PipelineExecution) error {
		if e.Status != api.PipelineSucceeded {
			return fmt.Errorf("%s", describe(e))
		}
		return nil
	})
	a := action(e, "Approve", "Release")
	if a.Approval == nil || a.Approval.By != "dave" || a.Approval.Comment != "ship it, says dave" {
		t.Errorf("the approval: %+v", a.Approval)
	}
	deploy := action(e, "Deploy", "Deploy")
	if deploy.Configuration["DeploymentGroupName"] != "web-hosts" {
		t.Errorf("the deploy action's configuration = %v, want DeploymentGroupName web-hosts from the build's GROUP", deploy.Configuration)
	}
	for _, h := range []string{"dev-1", "dev-2"} {
		page := filepath.Join(d.dataDir, "agents", h, "root", "srv", "web", "site", "index.html")
		b, err := os.ReadFile(page)
		if err != nil || !strings.Contains(string(b), "version 2.1+"+commit) {
			t.Errorf("%s serves %q (%v), want the site built from %s", h, b, err, commit)
		}
	}
}

// TestDevPipelineExecutionModes: three pushes in quick succession while Build runs. SUPERSEDED
// (the default): only the first and the last reach Deploy, the middle one is superseded while it
// waits for Build. QUEUED: all three reach Deploy, in order. A push that touches only excluded
// paths starts nothing.
func TestDevPipelineExecutionModes(t *testing.T) {
	d := startPipelineDev(t)
	// The build waits for a gate file the test creates, so the test decides when Build ends.
	gates := t.TempDir()
	slow := strings.Replace(mustRead(t, "buildspec.yml"), "      - export GROUP=web-hosts\n",
		"      - export GROUP=web-hosts\n      - while [ ! -e "+gates+"/$CODEBUILD_RESOLVED_SOURCE_VERSION ]; do sleep 0.2; done\n", 1)
	d.cli("app", "create", "web")
	d.cli("group", "create", "--app", "web", "web-hosts", "--host", "dev-1", "--host", "dev-2")

	for _, mode := range []string{"SUPERSEDED", "QUEUED"} {
		t.Run(mode, func(t *testing.T) {
			name := strings.ToLower(mode)
			work := d.repo(name, map[string]string{"buildspec.yml": slow})
			d.cli("project", "create", name+"-build", "--repo", name, "--artifacts", "BLOB")
			def := fmt.Sprintf(`pipeline:
  name: %[1]s
  executionMode: %[2]s
  triggers:
    - providerType: CodeStarSourceConnection
      gitConfiguration:
        sourceActionName: Source
        push:
          - branches: {includes: [main]}
            filePaths: {excludes: ["docs/**"]}
  stages:
    - name: Source
      actions:
        - name: Source
          actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
          configuration: {RepositoryName: %[1]s, BranchName: main}
          outputArtifacts: [{name: src}]
    - name: Build
      actions:
        - name: Build
          actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: "1"}
          configuration: {ProjectName: %[1]s-build}
          inputArtifacts: [{name: src}]
          outputArtifacts: [{name: bundle}]
          namespace: B
    - name: Deploy
      actions:
        - name: Deploy
          actionTypeId: {category: Deploy, owner: AWS, provider: CodeDeploy, version: "1"}
          configuration: {ApplicationName: web, DeploymentGroupName: "#{B.GROUP}"}
          inputArtifacts: [{name: bundle}]
`, name, mode)
			file := filepath.Join(t.TempDir(), "pipeline.yml")
			if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
				t.Fatal(err)
			}
			d.cli("pipeline", "create", "--file", file)

			// A push of docs alone starts nothing (checked below, once a later push has started).
			docs := d.commit(work, name, "docs/notes.md", "only docs\n")

			first := d.commit(work, name, "VERSION", "3.1\n")
			d.waitFor(name, first, "the first execution builds", 3*time.Minute, func(e api.PipelineExecution) error {
				if a := action(e, "Build", "Build"); a.Status != api.PipelineInProgress || a.ExternalID == "" {
					return fmt.Errorf("%s", describe(e))
				}
				return nil
			})
			second := d.commit(work, name, "VERSION", "3.2\n")
			third := d.commit(work, name, "VERSION", "3.3\n")
			d.waitFor(name, third, "the third execution waits for Build", 2*time.Minute, func(e api.PipelineExecution) error {
				if e.WaitingFor != "Build" {
					return fmt.Errorf("%s", describe(e))
				}
				return nil
			})
			if mode == "SUPERSEDED" {
				d.waitFor(name, second, "the second execution is superseded", time.Minute, func(e api.PipelineExecution) error {
					if e.Status != api.PipelineSuperseded {
						return fmt.Errorf("%s", describe(e))
					}
					return nil
				})
			}
			// Open the gates, one build after another.
			for _, c := range []string{first, second, third} {
				if err := os.WriteFile(filepath.Join(gates, c), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			reached := []string{first, second, third}
			if mode == "SUPERSEDED" {
				reached = []string{first, third}
			}
			var ends []time.Time
			for _, c := range reached {
				e := d.waitFor(name, c, "execution of "+c[:8]+" succeeds", 4*time.Minute, func(e api.PipelineExecution) error {
					if e.Status != api.PipelineSucceeded {
						return fmt.Errorf("%s", describe(e))
					}
					return nil
				})
				if s := stageStatus(e, "Deploy"); s != api.PipelineSucceeded {
					t.Errorf("execution of %s: Deploy is %q", c[:8], s)
				}
				ends = append(ends, *action(e, "Deploy", "Deploy").EndTime)
			}
			if !slices.IsSortedFunc(ends, func(a, b time.Time) int { return a.Compare(b) }) {
				t.Errorf("deployments ended out of order: %v", ends)
			}
			for _, e := range d.history(name) {
				if e.Trigger.Commit == docs {
					t.Errorf("the docs-only push started execution %s", e.ID)
				}
				if mode == "SUPERSEDED" && e.Trigger.Commit == second && stageStatus(e, "Deploy") != "" {
					t.Errorf("the superseded execution reached Deploy: %s", describe(e))
				}
			}
		})
	}
}

// TestDevPipelineRetryRunsOnlyTheFailedAction: a Build stage of two actions, one of which fails
// (its command looks for a file that is not there yet); retried with FAILED_ACTIONS, only that
// action runs again (the other keeps its build) and the execution goes on to its end.
func TestDevPipelineRetryRunsOnlyTheFailedAction(t *testing.T) {
	d := startPipelineDev(t)
	flag := filepath.Join(t.TempDir(), "tests-may-pass")
	d.repo("svc", nil)
	d.cli("project", "create", "svc-build", "--repo", "svc", "--artifacts", "BLOB")
	def := `pipeline:
  name: svc
  variables:
    - {name: flag, defaultValue: "` + flag + `"}
  stages:
    - name: Source
      actions:
        - name: Source
          actionTypeId: {category: Source, owner: AWS, provider: SlipwayRepo, version: "1"}
          configuration: {RepositoryName: svc, BranchName: main}
          outputArtifacts: [{name: src}]
    - name: Build
      actions:
        - name: Build
          actionTypeId: {category: Build, owner: AWS, provider: SlipwayBuild, version: "1"}
          configuration: {ProjectName: svc-build}
          inputArtifacts: [{name: src}]
          outputArtifacts: [{name: bundle}]
        - name: Checks
          actionTypeId: {category: Invoke, owner: AWS, provider: Command, version: "1"}
          commands: ["test -e #{variables.flag}"]
    - name: Done
      actions:
        - name: Note
          actionTypeId: {category: Invoke, owner: AWS, provider: Command, version: "1"}
          commands: ["echo released"]
`
	file := filepath.Join(t.TempDir(), "svc.yml")
	if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cli("pipeline", "create", "--file", file)
	var e api.PipelineExecution
	if err := json.Unmarshal([]byte(d.cli("pipeline", "start", "svc", "--output", "json")), &e); err != nil || e.ID == "" {
		t.Fatalf("pipeline start: %v", err)
	}
	eventually(t, 3*time.Minute, "the execution fails in Build", func() error {
		got := d.history("svc")[0]
		if got.Status != api.PipelineFailed {
			return fmt.Errorf("%s", describe(got))
		}
		e = got
		return nil
	})
	build, checks := action(e, "Build", "Build"), action(e, "Build", "Checks")
	if build.Status != api.PipelineSucceeded || checks.Status != api.PipelineFailed {
		t.Fatalf("Build stage: %s", describe(e))
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d.cli("pipeline", "retry", "svc", "--execution", e.ID, "--stage", "Build")
	eventually(t, 3*time.Minute, "the retried execution succeeds", func() error {
		got := d.history("svc")[0]
		if got.ID != e.ID || got.Status != api.PipelineSucceeded {
			return fmt.Errorf("%s", describe(got))
		}
		e = got
		return nil
	})
	if b := action(e, "Build", "Build"); b.ExternalID != build.ExternalID || b.Attempt != 1 {
		t.Errorf("the succeeded build ran again: was %s (attempt %d), now %s (attempt %d)", build.ExternalID, build.Attempt, b.ExternalID, b.Attempt)
	}
	if c := action(e, "Build", "Checks"); c.ExternalID == checks.ExternalID || c.Attempt != 2 || c.Status != api.PipelineSucceeded {
		t.Errorf("the failed action was not run again: %+v", c)
	}
	var builds []api.Build
	if err := json.Unmarshal([]byte(d.cli("build", "list", "--project", "svc-build", "--output", "json")), &builds); err != nil || len(builds) != 1 {
		t.Errorf("svc-build ran %d builds (%v), want 1", len(builds), err)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "examples", "pipeline", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
