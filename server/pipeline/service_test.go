package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/git"
	"github.com/slipwayhq/slipway/server/pipeline"
)

// fakeProvider is a provider whose work ends when the test says (hold: until release), and
// which counts Start calls per run Key. One instance is shared by every server of a cluster,
// so the counts are across leaders.
type fakeProvider struct {
	mu       sync.Mutex
	starts   map[string]int
	polls    int
	hold     map[string]bool // action name -> its work waits for release
	released map[string]bool
	fail     map[string]bool // action name -> its work fails
	vars     map[string]string
	stops    []string
}

func newFake() *fakeProvider {
	return &fakeProvider{starts: map[string]int{}, hold: map[string]bool{}, released: map[string]bool{}, fail: map[string]bool{}}
}

func (f *fakeProvider) Start(_ context.Context, run pipeline.ActionRun) (pipeline.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts[run.Key]++
	return pipeline.Result{ExternalID: "work-" + run.Action, Summary: "started"}, nil
}

func (f *fakeProvider) Poll(_ context.Context, run pipeline.ActionRun, ext string) (pipeline.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if f.hold[run.Action] && !f.released[run.Action] {
		return pipeline.Result{ExternalID: ext}, nil
	}
	if f.fail[run.Action] {
		return pipeline.Result{Done: true, Status: pub.PipelineFailed, Error: "it failed"}, nil
	}
	var outs []pub.PipelineArtifact
	for _, n := range run.OutputNames {
		sum := sha256.Sum256([]byte(run.Key + n))
		outs = append(outs, pub.PipelineArtifact{Name: n, SHA256: hex.EncodeToString(sum[:]), Size: 1, Format: "zip"})
	}
	return pipeline.Result{Done: true, Status: pub.PipelineSucceeded, Outputs: outs, Variables: f.vars}, nil
}

func (f *fakeProvider) Stop(_ context.Context, run pipeline.ActionRun, ext string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops = append(f.stops, run.Action+":"+ext)
	return nil
}

// stopped answers the runs Stop was called for ("action:externalID").
func (f *fakeProvider) stopped() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.stops...)
}

func (f *fakeProvider) release(action string) {
	f.mu.Lock()
	f.released[action] = true
	f.mu.Unlock()
}

// startCounts answers a copy of the Start counts by key.
func (f *fakeProvider) startCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.starts {
		out[k] = v
	}
	return out
}

// fixedChanges resolves every version to one commit (pipelines whose repository is not a real
// one).
type fixedChanges struct{ commit string }

func (c fixedChanges) ChangedPaths(context.Context, string, string, string, int) ([]string, bool, error) {
	return nil, true, nil
}

func (c fixedChanges) Resolve(context.Context, string, string) (string, error) { return c.commit, nil }

// gitChanges reads the cluster's real repositories (what the server's wiring does).
type gitChanges struct{ g *git.Module }

func (c gitChanges) Resolve(ctx context.Context, repo, version string) (string, error) {
	b, err := c.g.Browse(ctx, repo)
	if err != nil {
		return "", err
	}
	return b.Resolve(ctx, version)
}

func (c gitChanges) ChangedPaths(ctx context.Context, repo, old, new string, max int) ([]string, bool, error) {
	b, err := c.g.Browse(ctx, repo)
	if err != nil {
		return nil, false, err
	}
	cmp, err := b.Compare(ctx, old, new, true, 1<<20)
	if err != nil {
		return nil, false, err
	}
	var out []string
	for _, f := range cmp.Files {
		out = append(out, f.Path)
	}
	return out, cmp.Truncated || len(out) > max, nil
}

// wire registers the fake providers (one shared instance each) and changes on every server.
func wire(c *testutil.Cluster, p *fakeProvider, ch func(i int) pipeline.Changes) {
	for _, i := range c.Running() {
		m := c.Server(i).Service("pipeline").(*pipeline.Module)
		for _, name := range []string{"SlipwayRepo", "SlipwayBuild", "SlipwayDeploy", "Command"} {
			m.SetProvider(name, p)
		}
		m.SetChanges(ch(i))
	}
}

const fixedCommit = "0123456789abcdef0123456789abcdef01234567"

func fixed(int) pipeline.Changes { return fixedChanges{commit: fixedCommit} }

// definition is a pipeline of stages Source (repository repo, branch main), Build, then the
// extra stages given (YAML list items).
func definition(name, repo, extra string) string {
	return fmt.Sprintf(`pipeline:
  name: %s
  stages:
    - name: Source
      actions:
        - name: Source
          actionTypeId: {category: Source, owner: AWS, provider: SlipwayRepo, version: "1"}
          configuration: {RepositoryName: %s, BranchName: main}
          outputArtifacts: [{name: SourceArtifact}]
    - name: Build
      actions:
        - name: Build
          actionTypeId: {category: Build, owner: AWS, provider: SlipwayBuild, version: "1"}
          configuration: {ProjectName: web-build}
          inputArtifacts: [{name: SourceArtifact}]
          outputArtifacts: [{name: BuildArtifact}]
%s`, name, repo, extra)
}

const approvalStage = `    - name: Approve
      actions:
        - name: Approve
          actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
`

// awaitExecution polls an execution until ok accepts it.
func awaitExecution(t *testing.T, cl *pub.Client, name, id string, ok func(e *pub.PipelineExecution) error) *pub.PipelineExecution {
	t.Helper()
	var e *pub.PipelineExecution
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		if e, err = cl.PipelineExecutionGet(context.Background(), name, id, nil); err != nil {
			return err
		}
		return ok(e)
	})
	return e
}

func statusIs(want string) func(e *pub.PipelineExecution) error {
	return func(e *pub.PipelineExecution) error {
		if e.Status != want {
			return fmt.Errorf("execution %s is %s (%s), want %s", e.ID, e.Status, e.StatusSummary, want)
		}
		return nil
	}
}

// actionWorking waits until action of stage has started work (an ExternalID).
func actionWorking(stage, action string) func(e *pub.PipelineExecution) error {
	return func(e *pub.PipelineExecution) error {
		for _, st := range e.Stages {
			for _, a := range st.Actions {
				if st.Name == stage && a.Name == action && a.Status == pub.PipelineInProgress && a.ExternalID != "" {
					return nil
				}
			}
		}
		return fmt.Errorf("action %s/%s has no work yet", stage, action)
	}
}

// TestCreateUpdateVersions: a pipeline is created at version 1 and each update makes the next
// version; an execution records the version it runs; an update naming another pipeline, an
// unknown provider and an unknown variable at start are refused.
func TestCreateUpdateVersions(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	f := newFake()
	f.hold["Build"] = true
	wire(c, f, fixed)
	ctx, cl := context.Background(), c.Client(0)
	p, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("web", "web", "")})
	if err != nil || p.Version != 1 || p.Name != "web" || p.ExecutionMode != pub.ModeSuperseded {
		t.Fatalf("create: %+v, %v", p, err)
	}
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("web", "web", "")}); pub.ErrorCode(err) != pub.CodeConflict {
		t.Fatalf("create twice: %v, want conflict", err)
	}
	e1, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil || e1.Version != 1 || e1.Trigger.Type != pub.TriggerManual {
		t.Fatalf("start: %+v, %v", e1, err)
	}
	p, err = cl.PipelineUpdate(ctx, "web", pub.PipelineRequest{Definition: definition("web", "web", approvalStage)})
	if err != nil || p.Version != 2 {
		t.Fatalf("update: %+v, %v", p, err)
	}
	if _, err := cl.PipelineUpdate(ctx, "web", pub.PipelineRequest{Definition: definition("other", "web", "")}); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("update with another name: %v, want bad request", err)
	}
	bad := definition("web", "web", `    - name: Run
      actions:
        - name: Run
          actionTypeId: {category: Invoke, owner: Custom, provider: Nothing, version: "1"}
`)
	if _, err := cl.PipelineUpdate(ctx, "web", pub.PipelineRequest{Definition: bad}); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("update with an unknown provider: %v, want bad request", err)
	}
	if _, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{Variables: map[string]string{"nope": "x"}}); pub.ErrorCode(err) != pub.CodeBadRequest {
		t.Fatalf("start with an unknown variable: %v, want bad request", err)
	}
	f.release("Build")
	e2, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil || e2.Version != 2 || len(e2.Stages) != 3 {
		t.Fatalf("start after the update: %+v, %v", e2, err)
	}
	if e := awaitExecution(t, cl, "web", e1.ID, statusIs(pub.PipelineSucceeded)); e.Version != 1 || len(e.Stages) != 2 {
		t.Fatalf("the first execution ran %d stages of version %d; want 2 of version 1", len(e.Stages), e.Version)
	}
	p, err = cl.PipelineGet(ctx, "web", nil)
	if err != nil || p.Version != 2 {
		t.Fatalf("get: %+v, %v", p, err)
	}
	l, err := cl.PipelineHistory(ctx, "web", nil)
	if err != nil || len(l.Executions) != 2 || l.Executions[0].ID != e2.ID || l.Executions[1].ID != e1.ID {
		t.Fatalf("history (newest first): %+v, %v", l, err)
	}
	list, err := cl.PipelineList(ctx, nil)
	if err != nil || len(list.Pipelines) != 1 || list.Pipelines[0].LatestExecution != e2.ID {
		t.Fatalf("list: %+v, %v", list, err)
	}
}

// TestDriverRunsActions: a manual start through the HTTP client; the driver runs each action
// through its provider (Start once per run), the source's artifact reaches the build, and the
// execution succeeds.
func TestDriverRunsActions(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	f := newFake()
	wire(c, f, fixed)
	ctx, cl := context.Background(), c.Client(0)
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("web", "web", "")}); err != nil {
		t.Fatal(err)
	}
	e, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.SourceRevisions) != 1 || e.SourceRevisions[0].Commit != fixedCommit {
		t.Fatalf("source revisions: %+v", e.SourceRevisions)
	}
	done := awaitExecution(t, cl, "web", e.ID, statusIs(pub.PipelineSucceeded))
	build := done.Stages[1].Actions[0]
	if build.Status != pub.PipelineSucceeded || len(build.Inputs) != 1 || build.Inputs[0].Name != "SourceArtifact" || build.ExternalID != "work-Build" {
		t.Fatalf("build action: %+v", build)
	}
	counts := f.startCounts()
	if len(counts) != 2 {
		t.Fatalf("Start calls: %v; want one per action", counts)
	}
	for k, n := range counts {
		if n != 1 {
			t.Errorf("Start of %s called %d times", k, n)
		}
	}
}

// TestLeaderKilledMidExecution: in a 3-server cluster the leader is killed while the build
// action's work runs; the new leader's driver polls the work the old one started (Start is
// called once per run Key across both leaders) and the execution succeeds.
func TestLeaderKilledMidExecution(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	f := newFake()
	f.hold["Build"] = true
	wire(c, f, fixed)
	ctx := context.Background()
	if _, err := c.Client(0).PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("web", "web", "")}); err != nil {
		t.Fatal(err)
	}
	e, err := c.Client(0).PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	awaitExecution(t, c.Client(0), "web", e.ID, actionWorking("Build", "Build"))
	old := c.LeaderIndex()
	c.Kill(old)
	c.WaitLeader()
	f.release("Build")
	alive := (old + 1) % 3
	awaitExecution(t, c.Client(alive), "web", e.ID, statusIs(pub.PipelineSucceeded))
	for k, n := range f.startCounts() {
		if n != 1 {
			t.Errorf("Start of %s called %d times across leaders; want once", k, n)
		}
	}
	if len(f.startCounts()) != 2 {
		t.Fatalf("Start calls: %v; want one per action", f.startCounts())
	}
}

// TestApprovalNeedsPermission: a user without codepipeline:PutApprovalResult is refused 403;
// one with CodePipelineApproverAccess approves, and the execution goes on to succeed.
func TestApprovalNeedsPermission(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	wire(c, newFake(), fixed)
	ctx, cl := context.Background(), c.Client(0)
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("web", "web", approvalStage)}); err != nil {
		t.Fatal(err)
	}
	e, err := cl.PipelineStart(ctx, "web", pub.PipelineStartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	awaitExecution(t, cl, "web", e.ID, func(e *pub.PipelineExecution) error {
		if a := e.Stages[2].Actions[0]; a.Status != pub.PipelineInProgress || a.Approval == nil {
			return fmt.Errorf("the approval is %q", a.Status)
		}
		return nil
	})
	user := func(name string, policies ...string) *pub.Client {
		pw := "correct horse battery staple " + name
		if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: name, Password: pw}); err != nil {
			t.Fatal(err)
		}
		for _, p := range policies {
			if err := cl.PolicyAttach(ctx, p, pub.PolicyAttachRequest{User: name}); err != nil {
				t.Fatal(err)
			}
		}
		tk, err := cl.Login(ctx, pub.LoginRequest{User: name, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		return c.ClientWithToken(0, tk.SecretID)
	}
	reader, approver := user("rita", "CodePipelineReadOnlyAccess"), user("alan", "CodePipelineApproverAccess")
	req := pub.ApprovalResultRequest{Execution: e.ID, Stage: "Approve", Action: "Approve", Status: pub.ApprovalApproved, Comment: "ship it"}
	if _, err := reader.PipelineApproval(ctx, "web", req); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("approval by a reader: %v, want forbidden", err)
	}
	got, err := approver.PipelineApproval(ctx, "web", req)
	if err != nil {
		t.Fatalf("approval by an approver: %v", err)
	}
	if a := got.Stages[2].Actions[0].Approval; a == nil || a.By != "alan" || a.Result != pub.ApprovalApproved || a.Comment != "ship it" {
		t.Fatalf("approval state: %+v", a)
	}
	awaitExecution(t, cl, "web", e.ID, statusIs(pub.PipelineSucceeded))
	if _, err := approver.PipelineStart(ctx, "web", pub.PipelineStartRequest{}); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("an approver starts: %v, want forbidden", err)
	}
}

// TestTriggerOnPush: a real git push to the source's branch of a Slipway repository starts an
// execution (trigger push, with the pushed commit), and a push to another branch does not.
func TestTriggerOnPush(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	c := testutil.NewCluster(t, 1)
	f := newFake()
	wire(c, f, func(i int) pipeline.Changes { return gitChanges{c.Server(i).Service("git").(*git.Module)} })
	ctx, cl := context.Background(), c.Client(0)
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mustGit(t, dir, "init", "--quiet", "--initial-branch=main")
	first := commitFile(t, dir, "a.txt")
	mustGit(t, dir, "push", "--quiet", remote(c, "web"), "main")
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: definition("web", "web", "")}); err != nil {
		t.Fatal(err)
	}
	// "code" starts on pushes to main that change anything outside docs/.
	code := definition("code", "web", "") + `  triggers:
    - providerType: CodeStarSourceConnection
      gitConfiguration:
        sourceActionName: Source
        push:
          - branches: {includes: [main]}
            filePaths: {excludes: ["docs/**"]}
`
	if _, err := cl.PipelineCreate(ctx, pub.PipelineRequest{Definition: code}); err != nil {
		t.Fatal(err)
	}
	// A push to another branch starts nothing; then one to main starts an execution.
	mustGit(t, dir, "checkout", "--quiet", "-b", "feature")
	commitFile(t, dir, "b.txt")
	mustGit(t, dir, "push", "--quiet", remote(c, "web"), "feature")
	mustGit(t, dir, "checkout", "--quiet", "main")
	second := commitFile(t, dir, "c.txt")
	mustGit(t, dir, "push", "--quiet", remote(c, "web"), "main")
	var l *pub.PipelineExecutionList
	testutil.Eventually(t, 30*time.Second, func() error {
		var err error
		if l, err = cl.PipelineHistory(ctx, "web", nil); err != nil {
			return err
		}
		if len(l.Executions) == 0 {
			return fmt.Errorf("no execution yet")
		}
		return nil
	})
	// The push to main came after the push to feature: once its execution exists, the trigger
	// has handled both events.
	if len(l.Executions) != 1 {
		t.Fatalf("executions: %+v; want the one of the push to main", l.Executions)
	}
	e := l.Executions[0]
	if e.Trigger.Type != pub.TriggerPush || e.Trigger.Commit != second || e.Trigger.Ref != "refs/heads/main" ||
		len(e.SourceRevisions) != 1 || e.SourceRevisions[0].Commit != second {
		t.Fatalf("execution: trigger %+v sources %+v; want a push of %s (not %s)", e.Trigger, e.SourceRevisions, second, first)
	}
	awaitExecution(t, cl, "web", e.ID, statusIs(pub.PipelineSucceeded))

	// A push that changes only docs/ starts web (no filter) and not code (docs/ excluded).
	if err := os.MkdirAll(dir+"/docs", 0o700); err != nil {
		t.Fatal(err)
	}
	third := commitFile(t, dir, "docs/readme.md")
	mustGit(t, dir, "push", "--quiet", remote(c, "web"), "main")
	testutil.Eventually(t, 30*time.Second, func() error {
		l, err := cl.PipelineHistory(ctx, "web", nil)
		if err != nil {
			return err
		}
		if len(l.Executions) != 2 || l.Executions[0].Trigger.Commit != third {
			return fmt.Errorf("web has %d executions; want the push of %s too", len(l.Executions), third)
		}
		return nil
	})
	cl2, err := cl.PipelineHistory(ctx, "code", nil)
	if err != nil || len(cl2.Executions) != 1 || cl2.Executions[0].Trigger.Commit != second {
		t.Fatalf("code's executions: %+v, %v; want only the push of %s (the docs-only push excluded)", cl2, err, second)
	}
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return string(trimNL(out))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func commitFile(t *testing.T, dir, name string) string {
	t.Helper()
	if err := writeFile(dir+"/"+name, name+"\n"); err != nil {
		t.Fatal(err)
	}
	mustGit(t, dir, "add", name)
	mustGit(t, dir, "commit", "--quiet", "-m", name)
	return mustGit(t, dir, "rev-parse", "HEAD")
}

// remote is the repository's URL on server 0 with the management token as the password.
func remote(c *testutil.Cluster, repo string) string {
	u, _ := url.Parse(c.URL(0) + "/git/" + repo + ".git")
	u.User = url.UserPassword("x", testutil.ManagementToken)
	return u.String()
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
