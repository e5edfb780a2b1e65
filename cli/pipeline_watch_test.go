package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// watchOf is a pipeline watch message with fakePipeline and the executions.
func watchOf(execs ...api.PipelineExecution) api.PipelineWatchMessage {
	p := fakePipeline
	return api.PipelineWatchMessage{Pipeline: &p, Executions: execs}
}

// runningThen is the watch of an execution that goes from Build in progress (sent twice, as a
// server sends when something else changed) to Deploy in progress, then ends with status.
func runningThen(status string) []api.PipelineWatchMessage {
	building := fakeExecution(execID, api.PipelineInProgress, api.PipelineInProgress)
	deploying := fakeExecution(execID, api.PipelineInProgress, api.PipelineSucceeded)
	deploying.Stages[2].Status, deploying.Stages[2].Actions[0].Status = api.PipelineInProgress, api.PipelineInProgress
	ended := fakeExecution(execID, status, api.PipelineSucceeded)
	ended.Stages[2].Status, ended.Stages[2].Actions[0].Status = status, status
	return []api.PipelineWatchMessage{watchOf(building), watchOf(building), watchOf(deploying), watchOf(ended)}
}

// TestPipelineWatchExecution: watch --execution draws one block per change to a pipe (a
// message that changes nothing draws nothing), and exits 0 when the execution ends Succeeded,
// 1 when it ends otherwise.
func TestPipelineWatchExecution(t *testing.T) {
	f := newPipelineAPI(t)
	f.watch = runningThen(api.PipelineSucceeded)
	r := f.run(t, "pipeline", "watch", "web", "--execution", execID)
	if r.code != 0 {
		t.Fatalf("watch of a succeeding execution: %+v", r)
	}
	blocks := strings.Split(strings.TrimSpace(r.stdout), "\n\n")
	if len(blocks) != 3 {
		t.Fatalf("want 3 blocks (one per change), got %d:\n%s", len(blocks), r.stdout)
	}
	first := "Pipeline web (version 2, SUPERSEDED)\n" +
		"Execution " + execID + "  InProgress  push by alice: web refs/heads/main 1a2b3c4d5e6f  (version 2)\n" +
		"  Source  Succeeded\n" +
		"    Source  SlipwayRepo    Succeeded   1m30s  commit 1a2b3c4\n" +
		"  Build  InProgress\n" +
		"    Build   SlipwayBuild   InProgress  web-build:0b7c5a52\n" +
		"  ==> transition into Deploy disabled: release freeze\n" +
		"  Deploy  -\n" +
		"    Deploy  SlipwayDeploy  -"
	if blocks[0] != first {
		t.Errorf("first block:\n%s\nwant:\n%s", blocks[0], first)
	}
	if !strings.Contains(blocks[1], "    Deploy  SlipwayDeploy  InProgress") || !strings.HasSuffix(blocks[2], "Execution "+execID+" Succeeded") {
		t.Errorf("later blocks:\n%s", r.stdout)
	}

	f.watch = runningThen(api.PipelineFailed)
	r = f.run(t, "pipeline", "watch", "web", "--execution", execID)
	if r.code != 1 || !strings.Contains(r.stdout, "Execution "+execID+" Failed") ||
		!strings.Contains(r.stderr, "execution "+execID+" of pipeline web ended Failed: see slipway pipeline execution web "+execID) {
		t.Fatalf("watch of a failing execution: %+v", r)
	}
}

// TestPipelineWatchExecutionNotInStream: an execution the stream no longer carries (newer
// ones pushed it out) is read from the API, and its end decides the exit code.
func TestPipelineWatchExecutionNotInStream(t *testing.T) {
	f := newPipelineAPI(t)
	f.watch = []api.PipelineWatchMessage{watchOf(fakeExecution("newer", api.PipelineInProgress, api.PipelineInProgress))}
	r := f.run(t, "pipeline", "watch", "web", "--execution", "older-one")
	calls := f.takeCalls()
	if r.code != 1 || !strings.Contains(r.stdout, "Execution older-one  Failed") || !strings.Contains(r.stderr, "ended Failed") {
		t.Fatalf("watch of an execution out of the stream: %+v", r)
	}
	if strings.Join(calls, "\n") != "GET /v1/pipelines/web/watch\nGET /v1/pipelines/web/executions/older-one" {
		t.Fatalf("requests: %q", calls)
	}
}

// TestPipelineWatchEnds: without --execution the newest execution is drawn with a line for
// each other one, and a stream the server ends (the pipeline deleted) is an error naming why.
func TestPipelineWatchEnds(t *testing.T) {
	f := newPipelineAPI(t)
	newest := fakeExecution(execID, api.PipelineInProgress, api.PipelineInProgress)
	older := fakeExecution("older-execution", api.PipelineSuperseded, api.PipelineSucceeded)
	f.watch = []api.PipelineWatchMessage{watchOf(newest, older), {End: "deleted"}}
	r := f.run(t, "pipeline", "watch", "web")
	if r.code != 1 || !strings.Contains(r.stdout, "Execution "+execID+"  InProgress") ||
		!strings.Contains(r.stdout, "  also older-execution  Superseded  push by alice") ||
		!strings.Contains(r.stderr, "the watch of pipeline web ended: deleted") {
		t.Fatalf("watch of a deleted pipeline: %+v", r)
	}
	f.watch = []api.PipelineWatchMessage{{Pipeline: &fakePipeline}}
	r = f.run(t, "pipeline", "watch", "web")
	if r.code != 1 || !strings.Contains(r.stdout, "  no execution yet") || !strings.Contains(r.stderr, "ended: the server closed it") {
		t.Fatalf("watch of a pipeline that never ran: %+v", r)
	}
}

// TestPipelineWatchJSON: --output json prints each message of the stream as one JSON line.
func TestPipelineWatchJSON(t *testing.T) {
	f := newPipelineAPI(t)
	f.watch = runningThen(api.PipelineSucceeded)
	r := f.run(t, "pipeline", "watch", "web", "--execution", execID, "--output", "json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 4 {
		t.Fatalf("watch --output json: %+v", r)
	}
	var last api.PipelineWatchMessage
	if err := json.Unmarshal([]byte(lines[3]), &last); err != nil || last.Executions[0].Status != api.PipelineSucceeded {
		t.Fatalf("last line %q: %v", lines[3], err)
	}
}

// TestPipelineStartWatch: start --watch starts the execution, then follows it to its end.
func TestPipelineStartWatch(t *testing.T) {
	f := newPipelineAPI(t)
	f.watch = runningThen(api.PipelineSucceeded)
	r := f.run(t, "pipeline", "start", "web", "--watch")
	calls := f.takeCalls()
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Started execution "+execID+" of pipeline web (version 2); watching it\n") ||
		!strings.HasSuffix(r.stdout, "Execution "+execID+" Succeeded\n") {
		t.Fatalf("start --watch: %+v", r)
	}
	if len(calls) != 2 || calls[0] != "POST /v1/pipelines/web/executions {}" || calls[1] != "GET /v1/pipelines/web/watch" {
		t.Fatalf("requests: %q", calls)
	}
	f.watch = runningThen(api.PipelineStopped)
	if r := f.run(t, "pipeline", "start", "web", "--watch"); r.code != 1 || !strings.Contains(r.stderr, "ended Stopped") {
		t.Fatalf("start --watch of an execution stopped: %+v", r)
	}
}

// TestPipelineWatchInterrupted: Ctrl-C stops the watch only: exit 130 and a line saying how
// to watch again.
func TestPipelineWatchInterrupted(t *testing.T) {
	f := newPipelineAPI(t)
	f.watch = []api.PipelineWatchMessage{watchOf(fakeExecution(execID, api.PipelineInProgress, api.PipelineInProgress))}
	f.hold = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := background(ctx, &stdout, &stderr, "--addr", f.srv.URL, "--token", testToken, "pipeline", "watch", "web")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "Execution "+execID) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing drawn: %q %q", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != ExitInterrupted || !strings.Contains(stderr.String(), "Stopped watching. Pipeline web goes on; watch it again with: slipway pipeline watch web") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestPipelineViewRedrawsInPlace: on a terminal each block moves the cursor back over the
// one before and clears it; a block equal to the last is not drawn again.
func TestPipelineViewRedrawsInPlace(t *testing.T) {
	var b bytes.Buffer
	v := &pipelineView{w: &b, live: true}
	v.draw([]string{"a", "b", "c"})
	v.draw([]string{"a", "b", "c"})
	v.draw([]string{"a", "B"})
	v.draw([]string{"x"})
	if want := "a\nb\nc\n\x1b[3A\x1b[Ja\nB\n\x1b[2A\x1b[Jx\n"; b.String() != want {
		t.Fatalf("drawn %q, want %q", b.String(), want)
	}
}

// TestPipelineWatchServersLost: a watch that reaches no server for --reconnect-for exits 3 and
// says how to watch again.
func TestPipelineWatchServersLost(t *testing.T) {
	f := newPipelineAPI(t)
	addr := f.srv.URL
	f.srv.Close()
	r := runWith(t, context.Background(), nil, "--addr", addr, "--token", testToken, "pipeline", "watch", "web", "--reconnect-for", "200ms")
	if r.code != ExitServersLost || !strings.Contains(r.stderr, "lost every server of the cluster while watching pipeline web") ||
		!strings.Contains(r.stderr, "when a server is back: slipway pipeline watch web") {
		t.Fatalf("watch without servers: %+v", r)
	}
}
