//go:build testbed

package testbed

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// The pipeline scenario (issue 21): an execution carries on across a leader's death without
// running any action twice.

// tbPipeline is Source (repository tb) → Build (project tb-build, a slow counting build) →
// Test (project tb-test, a quick one).
const tbPipeline = `pipeline:
  name: tb
  stages:
    - name: Source
      actions:
        - name: Source
          actionTypeId: {category: Source, owner: AWS, provider: SlipwayRepo, version: "1"}
          configuration: {RepositoryName: tb, BranchName: main}
          outputArtifacts: [{name: src}]
    - name: Build
      actions:
        - name: Build
          actionTypeId: {category: Build, owner: AWS, provider: SlipwayBuild, version: "1"}
          configuration: {ProjectName: tb-build}
          inputArtifacts: [{name: src}]
          namespace: B
    - name: Test
      actions:
        - name: Test
          actionTypeId: {category: Test, owner: AWS, provider: SlipwayBuild, version: "1"}
          configuration: {ProjectName: tb-test}
          inputArtifacts: [{name: src}]
`

// waitExecution waits until the execution read through any server satisfies ok.
func (b *bed) waitExecution(timeout time.Duration, name, id, what string, ok func(*api.PipelineExecution) error) *api.PipelineExecution {
	b.t.Helper()
	var got *api.PipelineExecution
	i := 0
	eventually(b.t, timeout, what, func() error {
		i = (i + 1) % len(b.servers)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e, err := b.ClientWith(i, -1).PipelineExecutionGet(ctx, name, id, &api.QueryOptions{Consistent: true})
		if err != nil {
			return fmt.Errorf("%s: %w", b.servers[i].id, err)
		}
		got = e
		return ok(e)
	})
	return got
}

func pipelineAction(e *api.PipelineExecution, stage string) api.ActionExecution {
	for _, s := range e.Stages {
		if s.Name == stage && len(s.Actions) > 0 {
			return s.Actions[0]
		}
	}
	return api.ActionExecution{}
}

// TestPipelineSurvivesLeaderKill: an execution of Source → Build → Test runs while the leader's
// process is killed (SIGKILL) in the middle of Build, and later restarted. The execution must
// succeed, and every action must have run once: one build per project, every action in its first
// attempt, the same execution read through every server.
func TestPipelineSurvivesLeaderKill(t *testing.T) {
	b := newBed(t, bedOptions{Agents: 1})
	leader := b.WaitLeader(30*time.Second, b.all())
	cl := b.Client(0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := cl.RepoCreate(ctx, api.RepositoryCreateRequest{Name: "tb"}); err != nil {
		t.Fatalf("repo create: %v", err)
	}
	if _, err := cl.RepoPutFile(ctx, "tb", api.FilePutRequest{Branch: "main", Path: "buildspec.yml",
		Content: countingBuildspec(40, "0.2"), Message: "a slow build"}); err != nil {
		t.Fatalf("put buildspec: %v", err)
	}
	for _, p := range []string{"tb-build", "tb-test"} {
		if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: p,
			Source: api.ProjectSource{Type: api.SourceSlipwayRepo, Repository: "tb"}}); err != nil {
			t.Fatalf("project create %s: %v", p, err)
		}
	}
	if _, err := cl.PipelineCreate(ctx, api.PipelineRequest{Definition: tbPipeline}); err != nil {
		t.Fatalf("pipeline create: %v", err)
	}
	started, err := cl.PipelineStart(ctx, "tb", api.PipelineStartRequest{})
	if err != nil {
		t.Fatalf("pipeline start: %v", err)
	}
	id := started.ID
	b.waitExecution(2*time.Minute, "tb", id, "the Build action's build runs", func(e *api.PipelineExecution) error {
		if a := pipelineAction(e, "Build"); a.Status != api.PipelineInProgress || a.ExternalID == "" {
			return fmt.Errorf("execution %s, Build %q", e.Status, a.Status)
		}
		return nil
	})

	killed := b.servers[leader]
	killed.KillProcess()
	killedAt := time.Now()
	next := b.WaitLeader(30*time.Second, without(b.all(), leader))
	var recovered time.Duration
	b.waitExecution(3*time.Minute, "tb", id, "the execution moves on after the kill", func(e *api.PipelineExecution) error {
		if a := pipelineAction(e, "Test"); a.Status == "" {
			return fmt.Errorf("Test not started; Build %q", pipelineAction(e, "Build").Status)
		}
		recovered = time.Since(killedAt)
		return nil
	})
	killed.RestartProcess()
	b.WaitHTTP(leader, 30*time.Second)
	b.WaitLeader(60*time.Second, b.all())

	final := b.waitExecution(3*time.Minute, "tb", id, "the execution ends", func(e *api.PipelineExecution) error {
		if e.Status == api.PipelineInProgress || e.Status == api.PipelineStopping {
			return fmt.Errorf("status %s", e.Status)
		}
		return nil
	})
	if final.Status != api.PipelineSucceeded {
		t.Errorf("the execution ended %s (%s), want Succeeded", final.Status, final.StatusSummary)
	}
	twice := 0
	for _, s := range final.Stages {
		for _, a := range s.Actions {
			if a.Status != api.PipelineSucceeded || a.Attempt != 1 {
				t.Errorf("%s/%s: %s in attempt %d, want Succeeded in attempt 1", s.Name, a.Name, a.Status, a.Attempt)
			}
		}
	}
	for _, p := range []string{"tb-build", "tb-test"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		l, err := b.ClientWith(next, -1).BuildListForProject(ctx, p, nil)
		cancel()
		if err != nil {
			t.Fatalf("builds of %s: %v", p, err)
		}
		if len(l.Builds) != 1 {
			t.Errorf("project %s ran %d builds, want 1", p, len(l.Builds))
			twice += max(0, len(l.Builds)-1)
		}
	}
	for i := range b.servers {
		e := b.waitExecution(30*time.Second, "tb", id, "the execution through "+b.servers[i].id, func(e *api.PipelineExecution) error {
			if e.Status != final.Status {
				return fmt.Errorf("status %s", e.Status)
			}
			return nil
		})
		if pipelineAction(e, "Build").ExternalID != pipelineAction(final, "Build").ExternalID {
			t.Errorf("%s names build %s, others %s", b.servers[i].id, pipelineAction(e, "Build").ExternalID, pipelineAction(final, "Build").ExternalID)
		}
	}
	addReport(t, reportRow{Scenario: "pipeline/leader-kill", Faults: fmt.Sprintf("kill -9 leader %s mid-Build, restart", killed.id),
		Acknowledged: 3, Lost: twice, Recover: recovered})
}
