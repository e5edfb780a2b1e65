package pipeline

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

func TestCreateUpdateDelete(t *testing.T) {
	h := newHarness(t)
	// Two repository events before the pipeline: its EventSeq is the stream's last.
	if err := h.f.Store().Update(func(tx *state.Tx) error {
		for range 2 {
			if err := hooks.Emit(tx, "repo-1", hooks.Event{Type: hooks.TypePush, Repo: "web", Time: t0, Payload: hooks.PushPayload{}}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r := h.create(webSpec("web", ""))
	if r.Version != 1 || r.EventSeq != 2 || r.CreatedBy != "alice" || r.CreateIndex != 1 {
		t.Fatalf("created: version %d, event seq %d, by %q, index %d", r.Version, r.EventSeq, r.CreatedBy, r.CreateIndex)
	}
	refused(h, cmdCreate, CreatePayload{Spec: webSpec("web", "")}, fault.Conflict, "already exists")
	bad := webSpec("we b", "")
	refused(h, cmdCreate, CreatePayload{Spec: bad}, fault.Invalid, "pipeline name")
	bad = webSpec("x", "")
	bad.Stages = append(bad.Stages, bad.Stages[0])
	refused(h, cmdCreate, CreatePayload{Spec: bad}, fault.Invalid, "used twice")
	bad = webSpec("x", "SOMETIMES")
	refused(h, cmdCreate, CreatePayload{Spec: bad}, fault.Invalid, "execution mode")
	bad = webSpec("x", "")
	bad.Stages[0].Actions[0].Configuration["Big"] = strings.Repeat("x", MaxDefinitionBytes)
	refused(h, cmdCreate, CreatePayload{Spec: bad}, fault.TooLarge, "over")

	v2 := webSpec("web", pub.ModeQueued)
	refused(h, cmdUpdate, UpdatePayload{Spec: v2, Version: 3}, fault.Conflict, "version 3 is not its next")
	refused(h, cmdUpdate, UpdatePayload{Spec: webSpec("nope", "")}, fault.NotFound, "nope")
	h.start("web", "e1", nil) // runs version 1
	must(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Deploy", Reason: "freeze"}, nil)
	v2.Stages = v2.Stages[:2]
	var r2 Record
	must(h, cmdUpdate, UpdatePayload{Spec: v2, Version: 2, Warnings: []string{"w"}}, &r2)
	if r2.Version != 2 || r2.Spec.ExecutionMode != pub.ModeQueued || r2.Transitions != nil || r2.CreateIndex != 1 || r2.ModifyIndex == 1 {
		t.Fatalf("updated: %+v", r2)
	}
	h.view(func(tx *state.Tx) error {
		for v, stages := range map[int]int{1: 3, 2: 2} {
			s, ok, err := versionSpec(tx, "web", v)
			if err != nil || !ok || len(s.Stages) != stages {
				t.Fatalf("version %d: %d stages, %v %v; want %d", v, len(s.Stages), ok, err, stages)
			}
		}
		return nil
	})
	// e1 goes on with version 1's three stages.
	h.succeed("e1", "Source", "Source")
	h.result("e1", "Build", "Build", true, group, "")
	if x := h.exec("e1"); x.Version != 1 || len(x.Stages) != 3 || x.Stages[2].Status != pub.PipelineInProgress {
		t.Fatalf("e1 after the update: version %d, %s", x.Version, stages(x))
	}
	refused(h, cmdDelete, DeletePayload{Name: "web"}, fault.Conflict, "e1")
	h.succeed("e1", "Deploy", "Deploy")

	var w Record
	must(h, cmdWebhook, WebhookPayload{Name: "web", Sealed: []byte("sealed")}, &w)
	if !recordView(w).Webhook {
		t.Fatal("webhook not set")
	}
	must(h, cmdDelete, DeletePayload{Name: "web"}, nil)
	if d := h.dump(); strings.Contains(d, "e1") || strings.Contains(d, "pipeline/versions") || strings.Contains(d, "pipeline/history") {
		t.Fatalf("left after the delete:\n%s", d)
	}
	h.view(func(tx *state.Tx) error {
		if n := pipelineCount(tx); n != 0 {
			t.Fatalf("pipeline count after the delete: %d", n)
		}
		if tx.Blobs().Referenced(artifact("BuildArtifact", "e1").SHA256) {
			t.Fatal("the deleted execution still references its artifacts' blobs")
		}
		return nil
	})
}

func TestArtifactsBlobsAreReferencedWhileTheExecutionIsKept(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.view(func(tx *state.Tx) error {
		if !tx.Blobs().Referenced(artifact("SourceArtifact", "e1").SHA256) {
			t.Fatal("the source artifact's blob is not referenced")
		}
		return nil
	})
}

func TestVersionsKeepTheNewestAndThoseInUse(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	h.start("web", "e1", nil) // runs version 1 throughout
	for v := 2; v <= MaxVersions+5; v++ {
		must(h, cmdUpdate, UpdatePayload{Spec: webSpec("web", ""), Version: v}, nil)
	}
	h.view(func(tx *state.Tx) error {
		vs := versionNumbers(tx, "web")
		if len(vs) != MaxVersions+1 || vs[0] != 1 || vs[1] != 6 || vs[len(vs)-1] != MaxVersions+5 {
			t.Fatalf("versions kept: %d, from %v; want 1 (in use) and the newest %d", len(vs), vs[:3], MaxVersions)
		}
		return nil
	})
	h.succeed("e1", "Source", "Source")
	if a := h.action("e1", "Build", "Build"); a.Status != pub.PipelineInProgress {
		t.Fatalf("e1 on its kept version: %+v", a)
	}
}

func TestRetentionKeepsTheNewestEndedExecutions(t *testing.T) {
	h := newHarness(t)
	s := webSpec("web", pub.ModeParallel)
	s.Stages = s.Stages[:1]
	h.create(s)
	h.start("web", "running", nil)
	for i := range MaxEndedExecutions + 3 {
		id := fmt.Sprintf("x%03d", i)
		h.start("web", id, nil)
		h.result(id, "Source", "Source", false, nil, "no")
	}
	h.start("web", "last", nil)
	h.view(func(tx *state.Tx) error {
		ids := historyIDs(tx, "web")
		if len(ids) != MaxEndedExecutions+2 {
			t.Fatalf("%d executions kept; want %d ended, and the two running", len(ids), MaxEndedExecutions)
		}
		for _, gone := range []string{"x000", "x001", "x002"} {
			if _, ok, _ := loadExecution(tx, gone); ok {
				t.Fatalf("%s (among the oldest ended) is still kept", gone)
			}
		}
		for _, kept := range []string{"running", "x003", "last"} {
			if _, ok, _ := loadExecution(tx, kept); !ok {
				t.Fatalf("%s was deleted", kept)
			}
		}
		return nil
	})
}

func TestTrigger(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", pub.ModeParallel))
	h.create(webSpec("api", pub.ModeParallel))
	push := func(id, pipeline string) Start {
		s := h.startOf(pipeline, id, nil)
		s.Trigger = pub.PipelineTrigger{Type: pub.TriggerPush, Repository: "web", Ref: "refs/heads/main", Commit: strings.Repeat("1", 40), EventID: "00000000000000000005"}
		return s
	}
	stale := push("t0", "api")
	stale.Version = 7
	var got []Execution
	must(h, cmdTrigger, TriggerPayload{Seq: 5, Starts: []Start{push("t1", "web"), push("t2", "web"), stale, {ExecutionID: "t3", Pipeline: "gone", Trigger: pub.PipelineTrigger{Type: pub.TriggerPush}}}}, &got)
	if len(got) != 1 || got[0].ID != "t1" || got[0].Trigger.Type != pub.TriggerPush || got[0].Stages[0].Status != pub.PipelineInProgress {
		t.Fatalf("trigger started %+v; want t1 alone (one per pipeline; a stale version and a missing pipeline skipped)", got)
	}
	h.view(func(tx *state.Tx) error {
		if c := cursor(tx); c != 5 {
			t.Fatalf("cursor %d; want 5", c)
		}
		return nil
	})
	before := h.dump()
	must(h, cmdTrigger, TriggerPayload{Seq: 5, Starts: []Start{push("t4", "api")}}, &got)
	if len(got) != 0 || h.dump() != before {
		t.Fatal("an event at the cursor started executions again")
	}
	refused(h, cmdStart, StartPayload{push("t5", "web")}, fault.Invalid, "trigger type")
	// A pipeline created after the event never starts from it.
	if err := h.f.Store().Update(func(tx *state.Tx) error {
		return hooks.Emit(tx, "repo-1", hooks.Event{Type: hooks.TypePush, Repo: "web", Time: t0, Payload: hooks.PushPayload{}})
	}); err != nil {
		t.Fatal(err)
	}
	h.create(webSpec("late", ""))
	must(h, cmdTrigger, TriggerPayload{Seq: 1, Starts: []Start{push("t6", "late")}}, &got) // below the cursor
	must(h, cmdTrigger, TriggerPayload{Seq: 6, Starts: []Start{push("t7", "late")}}, &got)
	if h.record("late").EventSeq != 1 || len(got) != 1 {
		t.Fatalf("pipeline late (event seq %d) from event 6: %d started; want 1", h.record("late").EventSeq, len(got))
	}
}

func TestStartChecks(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	s := h.startOf("web", "e1", nil)
	s.Version = 2
	refused(h, cmdStart, StartPayload{s}, fault.Conflict, "changed")
	s = h.startOf("web", "e/1", nil)
	refused(h, cmdStart, StartPayload{s}, fault.Invalid, "execution ID")
	s = h.startOf("web", "e1", nil)
	s.SourceRevisions = nil
	refused(h, cmdStart, StartPayload{s}, fault.Invalid, "no commit for source action Source")
	s = h.startOf("web", "e1", nil)
	s.SourceRevisions = append(s.SourceRevisions, pub.SourceRevision{Action: "Build", Commit: "x"})
	refused(h, cmdStart, StartPayload{s}, fault.Invalid, "not a source action")
	h.start("web", "e1", nil)
	refused(h, cmdStart, StartPayload{h.startOf("web", "e1", nil)}, fault.Conflict, "already exists")
	refused(h, cmdStart, StartPayload{Start{ExecutionID: "e2", Pipeline: "nope", Trigger: pub.PipelineTrigger{Type: pub.TriggerManual}}}, fault.NotFound, "nope")
}

func TestHistoryPagesNewestFirst(t *testing.T) {
	h := newHarness(t)
	s := webSpec("web", pub.ModeParallel)
	h.create(s)
	s.Name = "web2" // a name that web is a prefix of stays apart
	h.create(s)
	h.start("web2", "other", nil)
	for i := range 5 {
		h.start("web", fmt.Sprintf("e%d", i), nil)
	}
	h.view(func(tx *state.Tx) error {
		var ids []string
		after := ""
		for {
			page, next, err := historyPage(tx, "web", after, 2)
			if err != nil {
				return err
			}
			for _, x := range page {
				ids = append(ids, x.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if strings.Join(ids, ",") != "e4,e3,e2,e1,e0" {
			t.Fatalf("history pages: %v; want e4..e0", ids)
		}
		if _, _, err := historyPage(tx, "web", "x", 2); fault.CodeOf(err) != fault.Invalid {
			t.Fatalf("a bad cursor: %v", err)
		}
		if x, ok, err := latestExecution(tx, "web"); err != nil || !ok || x.ID != "e4" {
			t.Fatalf("latest: %v %v %v", x.ID, ok, err)
		}
		l, err := activeExecutions(tx)
		if err != nil || len(l) != 6 {
			t.Fatalf("active: %d %v; want 6", len(l), err)
		}
		if _, err := pipelineExecution(tx, "web", "other"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("another pipeline's execution: %v", err)
		}
		recs, next, err := listRecords(tx, "", 1)
		if err != nil || len(recs) != 1 || recs[0].Name != "web" || next != "web" {
			t.Fatalf("first page of pipelines: %v %q %v", len(recs), next, err)
		}
		latest, ok, err := latestExecution(tx, "web")
		if sum := summaryView(recs[0], latest, ok); err != nil || sum.LatestExecution != "e4" || sum.LatestStatus != pub.PipelineInProgress || sum.ExecutionMode != pub.ModeParallel {
			t.Fatalf("summary: %+v %v", sum, err)
		}
		return nil
	})
	v := view(h.exec("e0"))
	if v.ID != "e0" || len(v.Stages) != 3 || v.Stages[2].Actions == nil {
		t.Fatalf("view: %+v", v)
	}
}

// TestApplyIsDeterministic applies one command sequence (every kind of command, every
// engine path) to two state machines and compares the bytes of every record.
func TestApplyIsDeterministic(t *testing.T) {
	script := func(h *harness) {
		h.create(webSpec("web", pub.ModeSuperseded))
		q := twoBuilds("q")
		q.ExecutionMode = pub.ModeQueued
		q.Variables = []pipelinespec.Variable{{Name: "a", DefaultValue: "1"}, {Name: "b", DefaultValue: "2"}}
		q.Stages[2].OnFailure = &pipelinespec.Condition{Result: pipelinespec.ResultRollback}
		h.create(q)
		threeWhileBuild(h, "web")
		for _, id := range []string{"q1", "q2", "q3"} {
			h.start("q", id, map[string]string{"b": id})
			h.result(id, "Source", "Source", true, map[string]string{"CommitId": id, "Z": "z", "A": "a"}, "")
		}
		h.succeed("q1", "Build", "BuildA")
		h.succeed("q1", "Build", "BuildB")
		h.result("q1", "Build", "Package", true, group, "")
		h.succeed("q1", "Deploy", "Deploy")
		h.succeed("q2", "Build", "BuildA")
		h.succeed("q2", "Build", "BuildB")
		h.result("q2", "Build", "Package", true, group, "")
		h.result("q2", "Deploy", "Deploy", false, nil, "bad")
		must(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Deploy", Reason: "r"}, nil)
		h.result("e1", "Build", "Build", true, group, "")
		must(h, cmdStop, StopPayload{ExecutionID: "e3", Abandon: true}, nil)
		must(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Deploy", Enabled: true}, nil)
		must(h, cmdRetry, RetryPayload{ExecutionID: "q2", Stage: "Deploy"}, nil)
		must(h, cmdTrigger, TriggerPayload{Seq: 3, Starts: []Start{h.startOf("web", "t1", nil)}}, nil) // manual: skipped
	}
	a, b := newHarness(t), newHarness(t)
	script(a)
	script(b)
	if a.dump() != b.dump() {
		t.Fatal("two state machines applying the same commands differ")
	}
	var raw [][]byte
	a.view(func(tx *state.Tx) error {
		c := tx.Bucket(bucketExecutions).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			raw = append(raw, append([]byte(nil), v...))
		}
		return nil
	})
	if len(raw) != 7 || !bytes.Contains(bytes.Join(raw, nil), []byte(pub.PipelineSuperseded)) {
		t.Fatalf("the script ran %d executions; want 7 (a rollback among them) and a superseded one", len(raw))
	}
}
