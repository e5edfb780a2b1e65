//go:build testbed

package testbed

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// The build scenarios (issue 20): an agent container takes builds with the process executor.

// countingBuildspec prints lines "line 1" ... "line N", one every pause, in the BUILD phase.
func countingBuildspec(n int, pause string) string {
	return fmt.Sprintf(`version: 0.2
phases:
  build:
    commands:
      - i=1; while [ $i -le %d ]; do echo "line $i"; i=$((i+1)); sleep %s; done
`, n, pause)
}

// newBuildProject creates a project without source whose buildspec is spec.
func newBuildProject(t *testing.T, cl *api.Client, name, spec string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.ProjectCreate(ctx, api.ProjectCreateRequest{Name: name,
		Source: api.ProjectSource{Type: api.SourceNone, BuildspecInline: spec}}); err != nil {
		t.Fatalf("project create %s: %v", name, err)
	}
}

// buildLog reads a build's whole log as committed now, through cl.
func buildLog(ctx context.Context, cl *api.Client, id string) ([]api.BuildLogLine, error) {
	var lines []api.BuildLogLine
	var after uint64
	for {
		page, err := cl.BuildLogs(ctx, id, after, 0)
		if err != nil {
			return nil, err
		}
		lines = append(lines, page.Lines...)
		if len(page.Lines) == 0 || page.Next <= after {
			return lines, nil
		}
		after = page.Next
	}
}

// countedLines returns the numbers of the "line N" lines of a log, in order.
func countedLines(lines []api.BuildLogLine) []int {
	var out []int
	for _, l := range lines {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(l.Text), "line %d", &n); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// waitBuild waits until the build read through any server satisfies ok.
func (b *bed) waitBuild(timeout time.Duration, id, what string, ok func(*api.Build) error) *api.Build {
	b.t.Helper()
	var got *api.Build
	i := 0
	eventually(b.t, timeout, what, func() error {
		i = (i + 1) % len(b.servers)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		bd, err := b.ClientWith(i, -1).BuildGet(ctx, id, &api.QueryOptions{Consistent: true})
		if err != nil {
			return fmt.Errorf("%s: %w", b.servers[i].id, err)
		}
		got = bd
		return ok(bd)
	})
	return got
}

// TestBuildSurvivesLeaderKill: a build printing 60 numbered lines runs on an agent while the
// leader's process is killed (SIGKILL) and later restarted. The build must succeed, and its log,
// read through every server, must hold lines 1 to 60 exactly once and in order: nothing the
// agent reported is lost or applied twice across the failover.
func TestBuildSurvivesLeaderKill(t *testing.T) {
	b := newBed(t, bedOptions{Agents: 1})
	leader := b.WaitLeader(30*time.Second, b.all())
	cl := b.Client(0)
	const lines = 60
	newBuildProject(t, cl, "counting", countingBuildspec(lines, "0.2"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	started, err := cl.BuildStart(ctx, api.BuildStartRequest{Project: "counting"})
	cancel()
	if err != nil {
		t.Fatalf("build start: %v", err)
	}
	id := started.ID
	b.waitBuild(90*time.Second, id, "the build runs and has logged 10 lines", func(bd *api.Build) error {
		if bd.Status != api.BuildInProgress {
			return fmt.Errorf("status %s, phase %s", bd.Status, bd.CurrentPhase)
		}
		if bd.LogLines < 10 {
			return fmt.Errorf("%d lines logged", bd.LogLines)
		}
		return nil
	})

	killed := b.servers[leader]
	killed.KillProcess()
	killedAt := time.Now()
	next := b.WaitLeader(30*time.Second, without(b.all(), leader))
	var before uint64
	var recovered time.Duration
	eventually(t, 60*time.Second, "log lines committed after the kill", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		bd, err := b.ClientWith(next, -1).BuildGet(ctx, id, &api.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if before == 0 {
			before = bd.LogLines
			return fmt.Errorf("%d lines at the first read after the kill", before)
		}
		if bd.LogLines <= before && !isEnded(bd.Status) {
			return fmt.Errorf("still %d lines", bd.LogLines)
		}
		recovered = time.Since(killedAt)
		return nil
	})
	killed.RestartProcess()
	b.WaitHTTP(leader, 30*time.Second)
	b.WaitLeader(60*time.Second, b.all())

	final := b.waitBuild(2*time.Minute, id, "the build ends", func(bd *api.Build) error {
		if !isEnded(bd.Status) {
			return fmt.Errorf("status %s, phase %s, %d lines", bd.Status, bd.CurrentPhase, bd.LogLines)
		}
		return nil
	})
	if final.Status != api.BuildSucceeded {
		t.Errorf("the build ended %s, want SUCCEEDED; phases %+v", final.Status, final.Phases)
	}
	lost := 0
	for i := range b.servers {
		var got []int
		eventually(t, 30*time.Second, "the log through "+b.servers[i].id, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ls, err := buildLog(ctx, b.ClientWith(i, -1), id)
			if err != nil {
				return err
			}
			got = countedLines(ls)
			return nil
		})
		missing := 0
		for n := 1; n <= lines; n++ {
			if n > len(got) || got[n-1] != n {
				missing++
			}
		}
		if len(got) != lines || missing > 0 {
			t.Errorf("the log through %s holds lines %v; want 1 to %d once each, in order", b.servers[i].id, got, lines)
		}
		lost = max(lost, missing)
	}
	addReport(t, reportRow{Scenario: "build/leader-kill", Faults: fmt.Sprintf("kill -9 leader %s mid-build, restart", killed.id),
		Acknowledged: lines, Lost: lost, Recover: recovered})
}

// TestBuildAgentKilled: the agent running a build is killed (its container, as a host that
// loses power). The servers run with a 1 s heartbeat and a 6 s host timeout: the build must end
// FAULT with a reason naming the host timeout, within about that timeout.
func TestBuildAgentKilled(t *testing.T) {
	const heartbeat, hostTimeout = time.Second, 6 * time.Second
	b := newBed(t, bedOptions{Agents: 1, Config: agentsConfig(heartbeat, hostTimeout)})
	cl := b.Client(0)
	newBuildProject(t, cl, "sleeper", countingBuildspec(600, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	started, err := cl.BuildStart(ctx, api.BuildStartRequest{Project: "sleeper"})
	cancel()
	if err != nil {
		t.Fatalf("build start: %v", err)
	}
	b.waitBuild(90*time.Second, started.ID, "the build runs", func(bd *api.Build) error {
		if bd.Status != api.BuildInProgress || bd.LogLines < 2 {
			return fmt.Errorf("status %s, %d lines", bd.Status, bd.LogLines)
		}
		return nil
	})
	victim := b.agents[0]
	victim.Kill()
	killedAt := time.Now()
	final := b.waitBuild(hostTimeout+60*time.Second, started.ID, "the build fails", func(bd *api.Build) error {
		if !isEnded(bd.Status) {
			return fmt.Errorf("status %s", bd.Status)
		}
		return nil
	})
	failedAfter := time.Since(killedAt)
	if final.Status != api.BuildFault {
		t.Errorf("the build ended %s, want FAULT", final.Status)
	}
	reason := ""
	for _, p := range final.Phases {
		reason += p.Message + " "
	}
	if !strings.Contains(reason, "not heard from") {
		t.Errorf("the build's phases say %q; want the host timeout's reason", reason)
	}
	t.Logf("the build failed %s after the agent was killed (host timeout %s)", failedAfter.Round(time.Millisecond), hostTimeout)
	addReport(t, reportRow{Scenario: "build/agent-kill", Faults: "kill the agent " + victim.role + " mid-build",
		Acknowledged: 1, Recover: failedAfter})
}

func isEnded(status string) bool {
	return status != api.BuildQueued && status != api.BuildInProgress
}
