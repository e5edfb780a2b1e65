package server_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/dockertest"
	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// The builds' benchmarks (docs/BENCHMARKS.md): a one-server cluster and a real agent process
// that takes builds, on this machine.
//
//	go test ./server/ -run '^$' -bench 'BenchmarkBuild(StartToFirstCommand|LogThroughput)' -benchtime 10x

// buildBench is a cluster with one building agent.
type buildBench struct {
	c     *testutil.Cluster
	cl    *api.Client
	agent *testutil.Agent
}

func newBuildBench(b *testing.B) *buildBench {
	b.Helper()
	c := testutil.NewCluster(b, 1)
	c.WaitLeader()
	c.WaitToken()
	a := testutil.StartAgent(b, c, "builder")
	a.Kill()
	a.SetArgs(append(a.Args(), "--builds", "--log-level", "warn"))
	a.Start()
	c.WaitHost("builder")
	return &buildBench{c: c, cl: c.Client(0), agent: a}
}

// project creates a project without source running spec, in image ("" the process executor).
func (bb *buildBench) project(b *testing.B, name, image, spec string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bb.cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: name,
		Source:      api.ProjectSource{Type: api.SourceNone, BuildspecInline: spec},
		Environment: api.BuildEnvironment{Image: image}}); err != nil {
		b.Fatalf("project create: %v", err)
	}
}

// start starts a build of project and returns its ID.
func (bb *buildBench) start(b *testing.B, project string) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bd, err := bb.cl.BuildStart(ctx, api.BuildStartRequest{Project: project})
	if err != nil {
		b.Fatalf("build start: %v", err)
	}
	return bd.ID
}

// waitEnded waits until build id ended and fails the benchmark unless it succeeded.
func (bb *buildBench) waitEnded(b *testing.B, id string) {
	b.Helper()
	var last *api.Build
	err := testutil.Poll(2*time.Minute, 5*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		bd, err := bb.cl.BuildGet(ctx, id, nil)
		if err != nil {
			return err
		}
		last = bd
		if bd.Status == api.BuildQueued || bd.Status == api.BuildInProgress {
			return fmt.Errorf("build %s is %s", id, bd.Status)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if last.Status != api.BuildSucceeded {
		b.Fatalf("build %s ended %s: %+v\nagent:\n%s", id, last.Status, last.Phases, bb.agent.Output())
	}
}

// findFile waits for a file named name under dir (the agent's build workspaces: the Docker
// executor's source directory is a bind mount of one) and reports when it appeared.
func findFile(dir, name string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		found := false
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == name {
				found = true
				return filepath.SkipAll
			}
			return nil
		})
		if found {
			return time.Now(), nil
		}
		time.Sleep(500 * time.Microsecond)
	}
	return time.Time{}, fmt.Errorf("no %s under %s within %s", name, dir, timeout)
}

// BenchmarkBuildStartToFirstCommand measures, on a building agent, the time from the API's
// `build start` to the build's first command running (it creates a file in the build's
// workspace, which the benchmark watches for), with the process executor and with the Docker
// executor and a local image. Beside them, the references measured in the same run:
// `sh -c true` (one process start) and `docker run --rm IMAGE true` of the same image.
func BenchmarkBuildStartToFirstCommand(b *testing.B) {
	const spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - touch first-command-$CODEBUILD_BUILD_NUMBER\n"
	run := func(b *testing.B, image string) {
		bb := newBuildBench(b)
		bb.project(b, "first", image, spec)
		builds := filepath.Join(bb.agent.DataDir, "builds")
		var took []time.Duration
		b.ResetTimer()
		for i := range b.N {
			t0 := time.Now()
			id := bb.start(b, "first")
			at, err := findFile(builds, fmt.Sprintf("first-command-%d", i+1), time.Minute)
			if err != nil {
				b.Fatalf("%v\nagent:\n%s", err, bb.agent.Output())
			}
			took = append(took, at.Sub(t0))
			b.StopTimer()
			bb.waitEnded(b, id)
			b.StartTimer()
		}
		reportMedian(b, took, "ms-to-first-command")
	}
	b.Run("process", func(b *testing.B) { run(b, "") })
	b.Run("sh-c-true-reference", func(b *testing.B) {
		var took []time.Duration
		for range b.N {
			t0 := time.Now()
			if out, err := exec.Command("sh", "-c", "true").CombinedOutput(); err != nil {
				b.Fatalf("sh -c true: %v: %s", err, out)
			}
			took = append(took, time.Since(t0))
		}
		reportMedian(b, took, "ms-to-first-command")
	})
	b.Run("docker", func(b *testing.B) {
		dockertest.Require(b)
		run(b, dockertest.Image(b))
	})
	b.Run("docker-run-reference", func(b *testing.B) {
		dockertest.Require(b)
		image := dockertest.Image(b)
		var took []time.Duration
		for range b.N {
			t0 := time.Now()
			if out, err := exec.Command("docker", "run", "--rm", "--network", "none", image, "true").CombinedOutput(); err != nil {
				b.Fatalf("docker run: %v: %s", err, out)
			}
			took = append(took, time.Since(t0))
		}
		reportMedian(b, took, "ms-to-first-command")
	})
}

// logLines is what the log throughput benchmark prints: lines of about 80 bytes.
const logLines = 100000

// logCommand prints logLines numbered lines as fast as the shell can.
const logCommand = `seq 1 100000 | sed 's/^/a log line of a build printing as fast as it can, number /'`

// BenchmarkBuildLogThroughput measures a build printing 100,000 lines (about 7.5 MB) as fast as
// it can, from `build start` until a `--follow` client (pkg/api's BuildLogsFollow, as `slipway
// build logs --follow` uses it) has received the last line; beside it the same command writing
// to a file. Both report lines per second.
func BenchmarkBuildLogThroughput(b *testing.B) {
	b.Run("follow", func(b *testing.B) {
		bb := newBuildBench(b)
		bb.project(b, "printer", "", "version: 0.2\nphases:\n  build:\n    commands:\n      - "+logCommand+"\n")
		var took []time.Duration
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			id := bb.start(b, "printer")
			seen := 0
			last := false
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			err := bb.cl.BuildLogsFollow(ctx, id, 0, func(m api.BuildLogMessage) error {
				for _, l := range m.Lines {
					if strings.HasPrefix(l.Text, "a log line") {
						seen++
						if strings.HasSuffix(l.Text, fmt.Sprintf("number %d", logLines)) {
							last = true
						}
					}
				}
				if last {
					return errStopFollow
				}
				return nil
			})
			cancel()
			if err != nil && !errors.Is(err, errStopFollow) {
				b.Fatalf("follow: %v", err)
			}
			if !last || seen != logLines {
				b.Fatalf("the follow saw %d lines (last: %v), want %d", seen, last, logLines)
			}
			took = append(took, time.Since(t0))
			b.StopTimer()
			bb.waitEnded(b, id)
			b.StartTimer()
		}
		reportLinesPerSecond(b, took)
	})
	b.Run("file-reference", func(b *testing.B) {
		out := filepath.Join(b.TempDir(), "log")
		var took []time.Duration
		for range b.N {
			t0 := time.Now()
			if o, err := exec.Command("sh", "-c", logCommand+" > "+out).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, o)
			}
			took = append(took, time.Since(t0))
		}
		if st, err := os.Stat(out); err != nil || st.Size() < logLines*60 {
			b.Fatalf("the reference wrote %v (%v)", st, err)
		}
		reportLinesPerSecond(b, took)
	})
}

var errStopFollow = errors.New("the last line arrived")

func reportMedian(b *testing.B, took []time.Duration, unit string) {
	if len(took) == 0 {
		return
	}
	s := slices.Clone(took)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Microseconds())/1000, unit)
}

func reportLinesPerSecond(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	s := slices.Clone(took)
	slices.Sort(s)
	med := s[len(s)/2]
	b.ReportMetric(float64(logLines)/med.Seconds(), "lines/s")
	b.ReportMetric(float64(med.Milliseconds()), "ms-median")
}
