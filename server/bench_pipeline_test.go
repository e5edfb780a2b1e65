package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// The pipelines' benchmarks (docs/BENCHMARKS.md): a one-server cluster (a real server process),
// a repository changed through PutFile (the same replicated ref update as a push; the change is
// acknowledged when the call returns), pipelines in PARALLEL mode whose Build actions queue a
// build (no agent takes it; the benchmark stops it afterwards).
//
//	go test ./server/ -run '^$' -bench 'BenchmarkPipeline' -benchtime 20x

const benchPipeline = `pipeline:
  name: %[1]s
  executionMode: PARALLEL
  stages:
    - name: Source
      actions:
        - name: Source
          actionTypeId: {category: Source, owner: AWS, provider: SlipwayRepo, version: "1"}
          configuration: {RepositoryName: %[2]s, BranchName: main}
          outputArtifacts: [{name: src}]
    - name: Build
      actions:
        - name: Build
          actionTypeId: {category: Build, owner: AWS, provider: SlipwayBuild, version: "1"}
          configuration: {ProjectName: %[3]s}
          inputArtifacts: [{name: src}]
`

type pipelineBench struct {
	c      *testutil.Cluster
	cl     *api.Client
	parent string
}

func newPipelineBench(b *testing.B, repo string, pipelines, projects int) *pipelineBench {
	b.Helper()
	c := testutil.NewCluster(b, 1)
	c.WaitLeader()
	c.WaitToken()
	pb := &pipelineBench{c: c, cl: c.Client(0)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := pb.cl.RepoCreate(ctx, api.RepositoryCreateRequest{Name: repo}); err != nil {
		b.Fatalf("repo create: %v", err)
	}
	pb.change(b, repo, 0)
	for i := range projects {
		if _, err := pb.cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: fmt.Sprintf("p%d", i),
			Source: api.ProjectSource{Type: api.SourceSlipwayRepo, Repository: repo}}); err != nil {
			b.Fatalf("project create: %v", err)
		}
	}
	for i := range pipelines {
		def := fmt.Sprintf(benchPipeline, fmt.Sprintf("pl%d", i), repo, fmt.Sprintf("p%d", i%projects))
		if _, err := pb.cl.PipelineCreate(ctx, api.PipelineRequest{Definition: def}); err != nil {
			b.Fatalf("pipeline create: %v", err)
		}
	}
	return pb
}

// change commits a new buildspec to repo's main and answers the commit and how long the
// acknowledged write took.
func (pb *pipelineBench) change(b *testing.B, repo string, n int) (string, time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := pb.cl.RepoPutFile(ctx, repo, api.FilePutRequest{Branch: "main", Path: "buildspec.yml", Parent: pb.parent,
		Content: fmt.Sprintf("version: 0.2\nphases:\n  build:\n    commands:\n      - echo change %d\n", n), Message: fmt.Sprintf("change %d", n)})
	if err != nil {
		b.Fatalf("put file: %v", err)
	}
	pb.parent = res.Commit
	return res.Commit, time.Since(start)
}

// execution waits until pipeline name has an execution of commit whose Build action has queued
// its build, and answers it.
func (pb *pipelineBench) execution(b *testing.B, name, commit string) api.PipelineExecution {
	b.Helper()
	var got api.PipelineExecution
	err := testutil.Poll(time.Minute, 2*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l, err := pb.cl.PipelineHistory(ctx, name, &api.QueryOptions{Limit: 3})
		if err != nil {
			return err
		}
		for _, e := range l.Executions {
			if e.Trigger.Commit == commit {
				if e.Status == api.PipelineFailed {
					b.Fatalf("execution %s failed: %s", e.ID, e.StatusSummary)
				}
				if len(e.Stages) < 2 || len(e.Stages[1].Actions) == 0 || e.Stages[1].Actions[0].ExternalID == "" {
					return fmt.Errorf("execution %s: the build has not started", e.ID)
				}
				got = e
				return nil
			}
		}
		return fmt.Errorf("no execution of %s yet", commit)
	})
	if err != nil {
		b.Fatal(err)
	}
	return got
}

// stopBuild stops the build an execution's Build action queued (the queue is bounded).
func (pb *pipelineBench) stopBuild(b *testing.B, e api.PipelineExecution) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pb.cl.BuildStop(ctx, e.Stages[1].Actions[0].ExternalID); err != nil {
		b.Fatalf("build stop: %v", err)
	}
}

// BenchmarkPipelinePushToBuild: from a change acknowledged to its execution's Source action
// succeeding (source-ms) and to the Build action starting (build-ms: the action in progress,
// from the execution's own times) and its build queued (queued-ms: seen by the client);
// reference in the same run: the acknowledged write itself (putfile-ms).
func BenchmarkPipelinePushToBuild(b *testing.B) {
	pb := newPipelineBench(b, "app", 1, 1)
	var source, build, queued, put time.Duration
	b.ResetTimer()
	for i := range b.N {
		commit, took := pb.change(b, "app", i+1)
		acked := time.Now()
		e := pb.execution(b, "pl0", commit)
		queued += time.Since(acked)
		put += took
		src, bld := e.Stages[0].Actions[0], e.Stages[1].Actions[0]
		if src.EndTime == nil || bld.StartTime == nil {
			b.Fatalf("execution %s lacks times: %+v", e.ID, e.Stages)
		}
		source += src.EndTime.Sub(acked)
		build += bld.StartTime.Sub(acked)
		b.StopTimer()
		pb.stopBuild(b, e)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(source.Milliseconds())/n, "source-ms")
	b.ReportMetric(float64(build.Milliseconds())/n, "build-ms")
	b.ReportMetric(float64(queued.Milliseconds())/n, "queued-ms")
	b.ReportMetric(float64(put.Milliseconds())/n, "putfile-ms")
}

// BenchmarkPipelineFanOut: 100 pipelines over one repository (10 build projects), one change:
// the time until every execution's Source action succeeded and every Build action queued its
// build (all-ms), beside the acknowledged write (putfile-ms).
func BenchmarkPipelineFanOut(b *testing.B) {
	const pipelines = 100
	pb := newPipelineBench(b, "mono", pipelines, 10)
	var all, put time.Duration
	b.ResetTimer()
	for i := range b.N {
		commit, took := pb.change(b, "mono", i+1)
		acked := time.Now()
		execs := make([]api.PipelineExecution, 0, pipelines)
		for p := range pipelines {
			execs = append(execs, pb.execution(b, fmt.Sprintf("pl%d", p), commit))
		}
		all += time.Since(acked)
		put += took
		b.StopTimer()
		for _, e := range execs {
			pb.stopBuild(b, e)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(all.Milliseconds())/n, "all-ms")
	b.ReportMetric(float64(put.Milliseconds())/n, "putfile-ms")
}
