package build

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/buildspec"
	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

// ReadFile serves batchSpec as every file of repository web (the batch starts of queue_test).
func (fakeSources) ReadFile(_ context.Context, repo, _, path string, _ int64) ([]byte, error) {
	if repo != "web" || path != DefaultBuildspecPath {
		return nil, fault.New(fault.NotFound, "%s not found", path)
	}
	return []byte(batchSpec), nil
}

const batchSpec = `version: 0.2
batch:
  build-graph:
    - identifier: a
    - identifier: b
      depend-on: [a]
phases:
  build:
    commands: [echo hi]
`

const batchID = "web:00000000-0000-4000-8000-00000000b000"

func taskID(i int) string { return fmt.Sprintf("web:00000000-0000-4000-8000-%012d", 100+i) }

// batchOf is a batch of project web (created at index 2) with one task per spec
// "identifier<dep,dep" (a trailing "!" ignores its failure).
func batchOf(fastFail bool, specs ...string) BatchStartPayload {
	p := start("web", 0)
	bp := BatchStartPayload{ID: batchID, Project: "web", ProjectCreateIndex: 2, Initiator: "ana", ResolvedSourceVersion: commit1,
		Source: p.Source, TimeoutMinutes: 60, QueuedTimeoutMinutes: 5, Kind: buildspec.BuildGraph, FastFail: fastFail}
	for i, s := range specs {
		t := BatchTaskPayload{BuildID: taskID(i)}
		if strings.HasSuffix(s, "!") {
			s, t.IgnoreFailure = strings.TrimSuffix(s, "!"), true
		}
		id, deps, _ := strings.Cut(s, "<")
		t.Identifier = id
		if deps != "" {
			t.DependOn = strings.Split(deps, ",")
		}
		bp.Tasks = append(bp.Tasks, t)
	}
	return bp
}

func batchAt(t *testing.T, f *fsm.FSM) Batch {
	t.Helper()
	var bt Batch
	if err := f.Store().View(func(tx *state.Tx) error {
		var err error
		bt, err = mustBatch(tx, batchID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return bt
}

// states answers "identifier=STATUS" of each task's build, waiting ones "WAITING".
func states(t *testing.T, r *runFSM) string {
	t.Helper()
	var out []string
	for _, tk := range batchAt(t, r.f).Tasks {
		b, _ := buildAt(t, r.f, tk.BuildID)
		s := b.Status
		if b.Waiting {
			s = "WAITING"
		} else if b.StopRequested && !b.Ended() {
			s += "+STOP"
		}
		out = append(out, tk.Identifier+"="+s)
	}
	return strings.Join(out, " ")
}

func queued(t *testing.T, r *runFSM) int {
	var n int
	_ = r.f.Store().View(func(tx *state.Tx) error { n = tx.Bucket(bucketQueue).Stats().KeyN; return nil })
	return n
}

// batchFSM makes project web, hosts h1-h3, and starts the batch.
func batchFSM(t *testing.T, p BatchStartPayload) *runFSM {
	t.Helper()
	r := newRunFSM(t)
	ok(t, "project", do(r, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web"), Actor: "ana"}))
	for _, h := range []string{"h1", "h2", "h3"} {
		r.host(h, nil, agentproto.KindBuild)
	}
	p.ProjectCreateIndex = 2
	ok(t, "batch start", do(r, cmdBatchStart, p))
	return r
}

func assign(t *testing.T, r *runFSM, i int, host string) {
	t.Helper()
	ok(t, "assign", do(r, cmdAssign, AssignPayload{ID: taskID(i), Host: host}))
}

func endOn(t *testing.T, r *runFSM, i int, host, status string) {
	t.Helper()
	ackOf(t, do(r, cmdReport, ReportPayload{ID: taskID(i), Host: host, Events: []ReportEvent{
		{Seq: 1, Event: agentproto.BuildEnd, Status: string(agentproto.StatusSucceeded), Outcome: &agentproto.BuildOutcome{Status: status}}}}))
}

func want(t *testing.T, r *runFSM, what, wantStates, wantBatch string) {
	t.Helper()
	if got, bt := states(t, r), batchAt(t, r.f); got != wantStates || bt.Status != wantBatch {
		t.Fatalf("%s: %s, batch %s; want %s, batch %s", what, got, bt.Status, wantStates, wantBatch)
	}
}

// TestBatchLogFormat pins the batch commands and buckets (in the Raft log and in snapshots).
func TestBatchLogFormat(t *testing.T) {
	if cmdBatchStart.Type() != 1750 || cmdBatchStart.Name() != "build.batch_start" || cmdBatchStart.Version() != 1 ||
		cmdBatchStop.Type() != 1751 || cmdBatchStop.Name() != "build.batch_stop" || cmdBatchStop.Version() != 1 {
		t.Fatal("the batch commands changed")
	}
	c, _ := cmdBatchStop.New("", t0, BatchStopPayload{ID: "web:x", Actor: "ana"})
	if string(c.Payload) != `{"id":"web:x","actor":"ana"}` {
		t.Fatalf("build.batch_stop payload %s", c.Payload)
	}
	c, _ = cmdBatchStart.New("", t0, BatchStartPayload{ID: "web:x", Project: "web", Kind: "build-graph",
		Tasks: []BatchTaskPayload{{Identifier: "a", BuildID: "web:y", Buildspec: "b.yml", Image: "i", Privileged: true, IgnoreFailure: true, DependOn: []string{"z"}}}})
	if want := `{"id":"web:x","project":"web","project_create_index":0,"initiator":"","source":{"type":""},"environment":{},"timeout_minutes":0,"queued_timeout_minutes":0,"kind":"build-graph","tasks":[{"identifier":"a","build_id":"web:y","buildspec":"b.yml","image":"i","privileged":true,"ignore_failure":true,"depend_on":["z"]}]}`; string(c.Payload) != want {
		t.Fatalf("build.batch_start payload\n%s\nwant\n%s", c.Payload, want)
	}
	if got := string(bucketBatches) + " " + string(bucketBatchesByProject) + " " + string(bucketBatchHistory); got != "build/batches build/batches-by-project build/batch-history" {
		t.Fatalf("buckets %s", got)
	}
}

// TestBatchUserStopsAChild: stopping one waiting child by itself ends it STOPPED (no longer
// waiting) and fails its dependents; the batch FAILED once the rest ended.
func TestBatchUserStopsAChild(t *testing.T) {
	r := batchFSM(t, batchOf(false, "a", "b<a", "c<b"))
	ok(t, "stop b", do(r, cmdStop, StopPayload{ID: taskID(1), Actor: "bo"}))
	want(t, r, "b stopped", "a=QUEUED b=STOPPED c=FAILED", pub.BuildInProgress)
	ok(t, "stop a", do(r, cmdStop, StopPayload{ID: taskID(0), Actor: "bo"}))
	want(t, r, "a stopped", "a=STOPPED b=STOPPED c=FAILED", pub.BuildFailed)
	if c, q, _ := countersOf(t, r.f, "web"); c.Queued != 0 || q != 0 || queued(t, r) != 0 {
		t.Fatalf("counts %+v %d", c, q)
	}
	replayIdentical(t, r)
}

// TestBatchGraph: a graph's builds enter the queue once their dependencies succeeded, in order;
// a failed dependency fails its dependents (and theirs) without running them; the batch ends
// when every build did, FAILED.
func TestBatchGraph(t *testing.T) {
	r := batchFSM(t, batchOf(false, "a", "b<a", "c<a", "d<b,c", "e<d"))
	want(t, r, "started", "a=QUEUED b=WAITING c=WAITING d=WAITING e=WAITING", pub.BuildInProgress)
	if b, _ := buildAt(t, r.f, taskID(3)); b.Phases[1].Message != "waiting for b, c" || b.BatchID != batchID || b.BatchIdentifier != "d" || b.Number != 4 {
		t.Fatalf("a waiting child: %+v", b)
	}
	if n := queued(t, r); n != 1 {
		t.Fatalf("%d builds in build/queue, want 1", n)
	}
	if c, q, _ := countersOf(t, r.f, "web"); c.Queued != 5 || q != 5 || c.LastNumber != 5 {
		t.Fatalf("counts %+v, %d queued", c, q)
	}
	wantCode(t, "assign a waiting build", do(r, cmdAssign, AssignPayload{ID: taskID(1), Host: "h1"}), fault.Conflict, "waits for builds of its batch")
	assign(t, r, 0, "h1")
	endOn(t, r, 0, "h1", pub.BuildSucceeded)
	want(t, r, "a succeeded", "a=SUCCEEDED b=QUEUED c=QUEUED d=WAITING e=WAITING", pub.BuildInProgress)
	if b, _ := buildAt(t, r.f, taskID(3)); b.Phases[1].Message != "waiting for b, c" {
		t.Fatalf("d's message: %q", b.Phases[1].Message)
	}
	assign(t, r, 1, "h1")
	assign(t, r, 2, "h2")
	endOn(t, r, 2, "h2", pub.BuildSucceeded)
	want(t, r, "c succeeded", "a=SUCCEEDED b=IN_PROGRESS c=SUCCEEDED d=WAITING e=WAITING", pub.BuildInProgress)
	if b, _ := buildAt(t, r.f, taskID(3)); b.Phases[1].Message != "waiting for b" {
		t.Fatalf("d's message: %q", b.Phases[1].Message)
	}
	endOn(t, r, 1, "h1", pub.BuildFailed)
	want(t, r, "b failed", "a=SUCCEEDED b=FAILED c=SUCCEEDED d=FAILED e=FAILED", pub.BuildFailed)
	d, _ := buildAt(t, r.f, taskID(3))
	e, _ := buildAt(t, r.f, taskID(4))
	if d.Phases[1].Message != "dependency b failed" || e.Phases[1].Message != "dependency d failed" || phaseNames(d) != "SUBMITTED=SUCCEEDED QUEUED=FAILED COMPLETED" {
		t.Fatalf("dependents: %s %q, %q", phaseNames(d), d.Phases[1].Message, e.Phases[1].Message)
	}
	if c, q, _ := countersOf(t, r.f, "web"); c.Queued != 0 || q != 0 || c.Running != 0 || queued(t, r) != 0 {
		t.Fatalf("counts after the end %+v, %d queued", c, q)
	}
	if bt := batchAt(t, r.f); bt.End == nil {
		t.Fatal("the batch has no end time")
	}
	// Every child is to settle (log, status) through the finish task.
	_ = r.f.Store().View(func(tx *state.Tx) error {
		if n := tx.Bucket(bucketFinish).Stats().KeyN; n != 5 {
			t.Errorf("%d finish entries, want 5", n)
		}
		return nil
	})
	replayIdentical(t, r)
}

// TestBatchIgnoreFailure: a failure with ignore-failure releases its dependents and lets the
// batch succeed.
func TestBatchIgnoreFailure(t *testing.T) {
	r := batchFSM(t, batchOf(false, "a!", "b<a"))
	assign(t, r, 0, "h1")
	endOn(t, r, 0, "h1", pub.BuildFailed)
	want(t, r, "a failed, ignored", "a=FAILED b=QUEUED", pub.BuildInProgress)
	// b's queued timeout counts from its release, not from the batch's start.
	b, _ := buildAt(t, r.f, taskID(1))
	if b.Released == nil || !b.Released.After(b.Start) || !b.QueuedDeadline().Equal(b.Released.Add(5*time.Minute)) {
		t.Fatalf("released b: %+v", b)
	}
	ok(t, "sweep", doAt(r, b.Start.Add(5*time.Minute), cmdQueueTimeout, QueueTimeoutPayload{ID: taskID(1)}))
	want(t, r, "the sweep before its deadline", "a=FAILED b=QUEUED", pub.BuildInProgress)
	assign(t, r, 1, "h1")
	endOn(t, r, 1, "h1", pub.BuildSucceeded)
	want(t, r, "b succeeded", "a=FAILED b=SUCCEEDED", pub.BuildSucceeded)
	replayIdentical(t, r)
}

// TestBatchFastFail: with fast-fail, a failure stops the other builds: queued and waiting ones
// STOPPED at once, running ones asked to stop; the batch ends FAILED when the last one ends.
func TestBatchFastFail(t *testing.T) {
	r := batchFSM(t, batchOf(true, "a", "b", "c", "d<c"))
	assign(t, r, 0, "h1")
	assign(t, r, 1, "h2")
	endOn(t, r, 0, "h1", pub.BuildFailed)
	want(t, r, "a failed", "a=FAILED b=IN_PROGRESS+STOP c=STOPPED d=STOPPED", pub.BuildInProgress)
	endOn(t, r, 1, "h2", pub.BuildStopped)
	want(t, r, "b stopped", "a=FAILED b=STOPPED c=STOPPED d=STOPPED", pub.BuildFailed)
	replayIdentical(t, r)
}

// TestBatchStop: a stop of the batch stops every build; the batch ends STOPPED once the running
// one ended; a second stop and a stop of the ended batch change nothing.
func TestBatchStop(t *testing.T) {
	r := batchFSM(t, batchOf(false, "a", "b", "c<a"))
	assign(t, r, 0, "h1")
	ok(t, "stop", do(r, cmdBatchStop, BatchStopPayload{ID: batchID, Actor: "bo"}))
	want(t, r, "stopped", "a=IN_PROGRESS+STOP b=STOPPED c=STOPPED", pub.BuildInProgress)
	if b, _ := buildAt(t, r.f, taskID(1)); b.Phases[1].Message != "stopped with its batch by bo" {
		t.Fatalf("b's message %q", b.Phases[1].Message)
	}
	before := r.dump()
	ok(t, "stop again", do(r, cmdBatchStop, BatchStopPayload{ID: batchID, Actor: "bo"}))
	if r.dump() != before {
		t.Fatal("a second stop changed the builds")
	}
	endOn(t, r, 0, "h1", pub.BuildStopped)
	want(t, r, "a stopped", "a=STOPPED b=STOPPED c=STOPPED", pub.BuildStopped)
	replayIdentical(t, r)
	wantCode(t, "an unknown batch", do(r, cmdBatchStop, BatchStopPayload{ID: "web:00000000-0000-4000-8000-00000000bbbb"}), fault.NotFound, "not found")
}

// TestBatchStartRefusals: malformed batches and batches over the queue bounds change nothing;
// a project delete deletes its batches.
func TestBatchStartRefusals(t *testing.T) {
	r := newRunFSM(t)
	ok(t, "project", do(r, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web"), Actor: "ana"}))
	before := r.dump()
	cycle := batchOf(false, "a<c", "b<a", "c<b", "d")
	dup := batchOf(false, "a", "a")
	unknown := batchOf(false, "a<z")
	badID := batchOf(false, "a-b")
	otherProject := batchOf(false, "a")
	otherProject.Tasks[0].BuildID = "app:00000000-0000-4000-8000-000000000001"
	var big []string
	for i := range MaxQueuedPerProject + 1 {
		big = append(big, fmt.Sprintf("t%d", i))
	}
	for _, tc := range []struct {
		what string
		p    BatchStartPayload
		code fault.Code
		msg  string
	}{
		{"a cycle", cycle, fault.Invalid, "a, b, c depend on each other in a cycle"},
		{"a duplicate", dup, fault.Invalid, "used twice"},
		{"an unknown dependency", unknown, fault.Invalid, "no build of the batch"},
		{"a bad identifier", badID, fault.Invalid, "malformed"},
		{"another project's build", otherProject, fault.Invalid, "not of project"},
		{"no builds", batchOf(false), fault.Invalid, "1 to 100 builds"},
		{"too many", batchOf(false, big...), fault.Invalid, "1 to 100 builds"},
	} {
		wantCode(t, tc.what, do(r, cmdBatchStart, tc.p), tc.code, tc.msg)
	}
	if r.dump() != before {
		t.Fatal("a malformed batch changed the state")
	}
	for i := range MaxQueuedPerProject - 2 {
		s := start("web", 1000+i)
		s.ProjectCreateIndex = 2
		ok(t, "start", do(r, cmdStart, s))
	}
	before = r.dump()
	wantCode(t, "over the project's queue", do(r, cmdBatchStart, batchOf(false, "a", "b", "c")), fault.Conflict, "would add 3, over its maximum of 100")
	if r.dump() != before {
		t.Fatal("a refused batch changed the state")
	}
	ok(t, "two fit", do(r, cmdBatchStart, batchOf(false, "a", "b")))
	ok(t, "stop", do(r, cmdBatchStop, BatchStopPayload{ID: batchID}))
	for i := range MaxQueuedPerProject - 2 {
		ok(t, "stop", do(r, cmdStop, StopPayload{ID: start("web", 1000+i).ID}))
	}
	ok(t, "delete", do(r, cmdProjectDelete, ProjectDeletePayload{Name: "web"}))
	_ = r.f.Store().View(func(tx *state.Tx) error {
		for _, bk := range [][]byte{bucketBatches, bucketBatchesByProject, bucketBatchHistory} {
			if n := tx.Bucket(bk).Stats().KeyN; n != 0 {
				t.Errorf("%s keeps %d entries after the project's delete", bk, n)
			}
		}
		return nil
	})
}

// replayIdentical: a state machine fed the same log one entry at a time and another fed it in
// one batch hold byte-identical records, batches included.
func replayIdentical(t *testing.T, r *runFSM) {
	t.Helper()
	dump := func(f *fsm.FSM) string {
		var b strings.Builder
		_ = f.Store().View(func(tx *state.Tx) error {
			for _, bk := range [][]byte{bucketProjects, bucketCounters, bucketBuilds, bucketByProject, bucketHistory, bucketQueue, bucketMeta,
				bucketByHost, bucketFinish, bucketBatches, bucketBatchesByProject, bucketBatchHistory} {
				_ = tx.Bucket(bk).ForEach(func(k, v []byte) error {
					fmt.Fprintf(&b, "%s %q=%s\n", bk, k, v)
					return nil
				})
			}
			return nil
		})
		return b.String()
	}
	one, two := newFSM(t), newFSM(t)
	for _, l := range r.replay {
		one.Apply(l)
	}
	two.ApplyBatch(r.replay)
	if a, b, c := dump(one), dump(two), dump(r.f); a != b || a != c || !strings.Contains(a, "build/batches ") {
		t.Fatalf("the state machines differ:\n%s\n---\n%s", a, b)
	}
}

// TestExpand: a buildspec's batch key as tasks: a list's identifiers, a graph's dependencies, a
// matrix's combinations in order with its static settings, the start's variables winning.
func TestExpand(t *testing.T) {
	load := func(text string) *buildspec.Spec {
		s, d := buildspec.Load("bs.yml", []byte(text))
		if d.HasErrors() {
			t.Fatal(d)
		}
		return s
	}
	over := []Variable{{Name: "MODE", Value: "ci", Type: pub.VariablePlaintext}}
	tasks, kind, ff, err := Expand("bs.yml", load(`version: 0.2
batch:
  fast-fail: true
  build-matrix:
    static:
      ignore-failure: true
      env:
        image: alpine
        variables: {MODE: local, KEEP: "1"}
    dynamic:
      buildspec: [a.yml, b.yml]
      env:
        variables:
          GO: ["1.25", "1.26"]
phases: {build: {commands: [x]}}
`), over)
	if err != nil || kind != buildspec.BuildMatrix || !ff || len(tasks) != 4 {
		t.Fatalf("matrix: %v %s %v %+v", err, kind, ff, tasks)
	}
	var got []string
	for _, tk := range tasks {
		var vs []string
		for _, v := range tk.Variables {
			vs = append(vs, v.Name+"="+v.Value)
		}
		got = append(got, fmt.Sprintf("%s:%s:%s:%v:%s", tk.Identifier, tk.Buildspec, tk.Image, tk.IgnoreFailure, strings.Join(vs, ",")))
	}
	if w := "build_1:a.yml:alpine:true:KEEP=1,GO=1.25 build_2:a.yml:alpine:true:KEEP=1,GO=1.26 build_3:b.yml:alpine:true:KEEP=1,GO=1.25 build_4:b.yml:alpine:true:KEEP=1,GO=1.26"; strings.Join(got, " ") != w {
		t.Fatalf("matrix tasks:\n%s\nwant\n%s", strings.Join(got, " "), w)
	}
	tasks, _, _, err = Expand("bs.yml", load(batchSpec), nil)
	if err != nil || len(tasks) != 2 || tasks[1].Identifier != "b" || strings.Join(tasks[1].DependOn, ",") != "a" {
		t.Fatalf("graph: %v %+v", err, tasks)
	}
	tasks, _, _, err = Expand("bs.yml", load("version: 0.2\nbatch:\n  build-list:\n    - buildspec: x.yml\n      depend-on: [y]\n    - identifier: two\nphases: {build: {commands: [x]}}\n"), nil)
	if err != nil || len(tasks) != 2 || tasks[0].Identifier != "build_1" || tasks[0].DependOn != nil || tasks[0].Buildspec != "x.yml" || tasks[1].Identifier != "two" {
		t.Fatalf("list: %v %+v", err, tasks)
	}
	_, _, _, err = Expand("bs.yml", load("version: 0.2\nphases: {build: {commands: [x]}}\n"), nil)
	if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), "has no batch key") {
		t.Fatalf("no batch: %v", err)
	}
}
