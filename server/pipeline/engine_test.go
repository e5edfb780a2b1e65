package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// threeWhileBuild starts executions e1, e2 and e3 of pipeline name while e1 is in stage Build,
// and has e2 and e3 finish Source (the issue's "three pushes in quick succession while Build
// runs").
func threeWhileBuild(h *harness, name string) {
	h.t.Helper()
	h.start(name, "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.start(name, "e2", nil)
	h.start(name, "e3", nil)
	h.succeed("e2", "Source", "Source")
	h.succeed("e3", "Source", "Source")
}

func TestSupersededOnlyTheFirstAndTheLastReachDeploy(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", pub.ModeSuperseded))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.start("web", "e2", nil)
	e3 := h.start("web", "e3", nil)
	if e3.WaitingFor != "Source" || !strings.Contains(e3.WaitReason, "e2") {
		t.Fatalf("e3 started while e2 is in Source: waiting for %q (%s); want Source, busy with e2", e3.WaitingFor, e3.WaitReason)
	}
	x := h.succeed("e2", "Source", "Source")
	if x.WaitingFor != "Build" {
		t.Fatalf("e2 after Source while e1 builds: waiting for %q; want Build", x.WaitingFor)
	}
	wantStatus(t, h.exec("e3"), pub.PipelineInProgress, "Source:InProgress[Source:InProgress] Build:[Build:] Deploy:[Deploy:]")
	h.succeed("e3", "Source", "Source")
	e2 := h.exec("e2")
	wantStatus(t, e2, pub.PipelineSuperseded, "Source:Succeeded[Source:Succeeded] Build:[Build:] Deploy:[Deploy:]")
	if !strings.Contains(e2.StatusSummary, "e3") || e2.EndTime == nil {
		t.Fatalf("e2 superseded: summary %q, end %v; want it to name e3 and an end", e2.StatusSummary, e2.EndTime)
	}
	if l := h.record("web").Lanes["Build"]; l == nil || l.Running != "e1" || !slices.Equal(l.Waiting, []string{"e3"}) {
		t.Fatalf("Build's lane: %+v; want e1 running, e3 waiting", l)
	}
	h.result("e1", "Build", "Build", true, group, "")
	wantStatus(t, h.exec("e1"), pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:Succeeded[Build:Succeeded] Deploy:InProgress[Deploy:InProgress]")
	wantStatus(t, h.exec("e3"), pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:InProgress[Build:InProgress] Deploy:[Deploy:]")
	h.result("e3", "Build", "Build", true, group, "")
	if x := h.exec("e3"); x.WaitingFor != "Deploy" {
		t.Fatalf("e3 after Build while e1 deploys: waiting for %q; want Deploy", x.WaitingFor)
	}
	h.succeed("e1", "Deploy", "Deploy")
	h.succeed("e3", "Deploy", "Deploy")
	for _, id := range []string{"e1", "e3"} {
		wantStatus(t, h.exec(id), pub.PipelineSucceeded, "Source:Succeeded[Source:Succeeded] Build:Succeeded[Build:Succeeded] Deploy:Succeeded[Deploy:Succeeded]")
	}
	if r := h.record("web"); r.Lanes != nil {
		t.Fatalf("lanes after every execution ended: %+v; want none", r.Lanes)
	}
	h.view(func(tx *stateTx) error {
		if l, err := activeExecutions(tx); err != nil || len(l) != 0 {
			t.Fatalf("active executions after every one ended: %d, %v; want none", len(l), err)
		}
		return nil
	})
}

func TestQueuedAllThreeReachDeployInOrder(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", pub.ModeQueued))
	threeWhileBuild(h, "web")
	if l := h.record("web").Lanes["Build"]; l == nil || l.Running != "e1" || !slices.Equal(l.Waiting, []string{"e2", "e3"}) {
		t.Fatalf("Build's lane: %+v; want e1 running, e2 then e3 waiting", l)
	}
	var order []string
	for i := 0; i < 20 && len(order) < 3; i++ {
		for _, id := range []string{"e1", "e2", "e3"} {
			x := h.exec(id)
			for _, st := range x.Stages {
				if st.Status != pub.PipelineInProgress {
					continue
				}
				if st.Name == "Deploy" {
					order = append(order, id)
				}
				h.result(id, st.Name, st.Name, true, group, "")
			}
		}
	}
	if !slices.Equal(order, []string{"e1", "e2", "e3"}) {
		t.Fatalf("executions reaching Deploy: %v; want e1, e2, e3", order)
	}
	for _, id := range []string{"e1", "e2", "e3"} {
		wantStatus(t, h.exec(id), pub.PipelineSucceeded, "")
	}
	d1, d2, d3 := h.action("e1", "Deploy", "Deploy"), h.action("e2", "Deploy", "Deploy"), h.action("e3", "Deploy", "Deploy")
	if !d1.StartTime.Before(*d2.StartTime) || !d2.StartTime.Before(*d3.StartTime) || d2.StartTime.Before(*d1.EndTime) {
		t.Fatalf("Deploy runs: e1 %v-%v, e2 %v, e3 %v; want one at a time in order", d1.StartTime, d1.EndTime, d2.StartTime, d3.StartTime)
	}
}

func TestParallelExecutionsAreIndependent(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", pub.ModeParallel))
	for _, id := range []string{"e1", "e2", "e3"} {
		h.start("web", id, nil)
	}
	for _, id := range []string{"e1", "e2", "e3"} {
		wantStatus(t, h.exec(id), pub.PipelineInProgress, "Source:InProgress[Source:InProgress] Build:[Build:] Deploy:[Deploy:]")
	}
	h.succeed("e3", "Source", "Source")
	h.result("e3", "Build", "Build", true, group, "")
	h.succeed("e1", "Source", "Source")
	h.result("e1", "Build", "Build", false, nil, "tests failed")
	h.succeed("e2", "Source", "Source")
	wantStatus(t, h.exec("e3"), pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:Succeeded[Build:Succeeded] Deploy:InProgress[Deploy:InProgress]")
	wantStatus(t, h.exec("e1"), pub.PipelineFailed, "Source:Succeeded[Source:Succeeded] Build:Failed[Build:Failed] Deploy:[Deploy:]")
	wantStatus(t, h.exec("e2"), pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:InProgress[Build:InProgress] Deploy:[Deploy:]")
	if r := h.record("web"); r.Lanes != nil {
		t.Fatalf("PARALLEL pipeline's lanes: %+v; want none", r.Lanes)
	}
}

// twoBuilds is Source -> Build (BuildA and BuildB together, then Package) -> Deploy.
func twoBuilds(name string) pipelinespec.Pipeline {
	s := webSpec(name, pub.ModeSuperseded)
	pkg := action("Package", pipelinespec.CategoryBuild, pipelinespec.ProviderBuild, 2, "BuildAArtifact", "BuildArtifact", "BuildVariables", map[string]string{"ProjectName": "pkg"})
	s.Stages[1].Actions = []pipelinespec.Action{buildAction("BuildA", 1), buildAction("BuildB", 1), pkg}
	return s
}

func TestRetryFailedActionsRerunsOnlyTheFailedOne(t *testing.T) {
	h := newHarness(t)
	h.create(twoBuilds("web"))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	wantStatus(t, h.exec("e1"), pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:InProgress[BuildA:InProgress,BuildB:InProgress,Package:] Deploy:[Deploy:]")
	h.succeed("e1", "Build", "BuildA")
	stale := h.resultOf("e1", "Build", "BuildB", false, nil, "compile error")
	h.result("e1", "Build", "BuildB", false, nil, "compile error")
	x := h.exec("e1")
	wantStatus(t, x, pub.PipelineFailed, "Source:Succeeded[Source:Succeeded] Build:Failed[BuildA:Succeeded,BuildB:Failed,Package:] Deploy:[Deploy:]")
	if !strings.Contains(x.StatusSummary, "BuildB") || !strings.Contains(x.StatusSummary, "compile error") {
		t.Fatalf("failed execution's summary %q; want the action and its error", x.StatusSummary)
	}
	if h.record("web").Lanes != nil {
		t.Fatal("a failed execution still holds a lane")
	}
	a1 := h.action("e1", "Build", "BuildA")
	x = Execution{}
	must(h, cmdRetry, RetryPayload{ExecutionID: "e1", Stage: "Build", Mode: pub.RetryFailedActions, Actor: "bob"}, &x)
	wantStatus(t, x, pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:InProgress[BuildA:Succeeded,BuildB:InProgress,Package:] Deploy:[Deploy:]")
	if st := x.Stages[1]; st.Attempt != 2 || x.EndTime != nil {
		t.Fatalf("retried stage: attempt %d, execution end %v; want attempt 2, no end", st.Attempt, x.EndTime)
	}
	if a := h.action("e1", "Build", "BuildA"); a.Attempt != 1 || !a.StartTime.Equal(*a1.StartTime) || len(a.Outputs) != 1 {
		t.Fatalf("BuildA after the retry: %+v; want its attempt 1 result kept", a)
	}
	if b := h.action("e1", "Build", "BuildB"); b.Attempt != 2 || b.Error != "" {
		t.Fatalf("BuildB after the retry: %+v; want running in attempt 2", b)
	}
	// The first attempt's failure proposed again (a new leader) changes nothing.
	before := h.dump()
	must(h, cmdActionResult, stale, nil)
	if h.dump() != before {
		t.Fatal("a result for attempt 1 changed the retried stage")
	}
	h.succeed("e1", "Build", "BuildB")
	h.result("e1", "Build", "Package", true, group, "")
	h.succeed("e1", "Deploy", "Deploy")
	wantStatus(t, h.exec("e1"), pub.PipelineSucceeded, "Source:Succeeded[Source:Succeeded] Build:Succeeded[BuildA:Succeeded,BuildB:Succeeded,Package:Succeeded] Deploy:Succeeded[Deploy:Succeeded]")

	refused(h, cmdRetry, RetryPayload{ExecutionID: "e1", Stage: "Build"}, fault.Conflict, "only a failed execution")
}

func TestRetryAllActionsRerunsEveryAction(t *testing.T) {
	h := newHarness(t)
	h.create(twoBuilds("web"))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.succeed("e1", "Build", "BuildA")
	h.result("e1", "Build", "BuildB", false, nil, "flaky")
	refused(h, cmdRetry, RetryPayload{ExecutionID: "e1", Stage: "Source"}, fault.Conflict, "did not fail")
	refused(h, cmdRetry, RetryPayload{ExecutionID: "e1", Stage: "Build", Mode: "SOME"}, fault.Invalid, "retry mode")
	var x Execution
	must(h, cmdRetry, RetryPayload{ExecutionID: "e1", Stage: "Build", Mode: pub.RetryAllActions}, &x)
	wantStatus(t, x, pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:InProgress[BuildA:InProgress,BuildB:InProgress,Package:] Deploy:[Deploy:]")
	if a := h.action("e1", "Build", "BuildA"); a.Attempt != 2 || a.Outputs != nil {
		t.Fatalf("BuildA after an ALL_ACTIONS retry: %+v; want running again in attempt 2", a)
	}
}

func TestResultsProposedTwiceApplyOnce(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	h.start("web", "e1", nil)
	started := ActionStartedPayload{ExecutionID: "e1", Stage: "Source", Action: "Source", Attempt: 1, ExternalID: "src-1", Summary: "reading"}
	must(h, cmdActionStarted, started, nil)
	if a := h.action("e1", "Source", "Source"); a.ExternalID != "src-1" || a.Status != pub.PipelineInProgress {
		t.Fatalf("after action_started: %+v", a)
	}
	p := h.resultOf("e1", "Source", "Source", true, map[string]string{"CommitId": "abc"}, "")
	must(h, cmdActionResult, p, nil)
	after := h.dump()
	build := h.action("e1", "Build", "Build")
	var x Execution
	must(h, cmdActionResult, p, &x)
	must(h, cmdActionStarted, started, nil)
	if h.dump() != after {
		t.Fatal("a result (or a start) proposed twice changed the state again")
	}
	if b := h.action("e1", "Build", "Build"); b.Attempt != 1 || !b.StartTime.Equal(*build.StartTime) {
		t.Fatalf("Build after the repeated Source result: %+v; want started once", b)
	}
	if x.ID != "e1" || x.Stages[0].Status != pub.PipelineSucceeded {
		t.Fatalf("a repeated result answers %+v; want the execution unchanged", x.PipelineExecution)
	}
	if x.Namespaces["SourceVariables"]["CommitId"] != "abc" || x.Artifacts["SourceArtifact"].SHA256 == "" {
		t.Fatalf("source outputs: %v %v; want its variables and artifact kept", x.Namespaces, x.Artifacts)
	}
	refused(h, cmdActionResult, ActionResultPayload{ExecutionID: "e1", Stage: "Build", Action: "Build", Attempt: 1, Status: "Done"}, fault.Invalid, "status")
	refused(h, cmdActionResult, ActionResultPayload{ExecutionID: "nope", Stage: "Build", Action: "Build", Attempt: 1, Status: pub.PipelineSucceeded}, fault.NotFound, "nope")
}

func TestTransitionDisabledThenEnabled(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", pub.ModeParallel))
	refused(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Source", Reason: "no"}, fault.Invalid, "first")
	refused(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Build"}, fault.Invalid, "reason")
	refused(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Nope", Reason: "x"}, fault.NotFound, "Nope")
	var r Record
	must(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Build", Reason: "freeze", Actor: "bob"}, &r)
	if ts := r.Transitions["Build"]; ts.Reason != "freeze" || ts.By != "bob" {
		t.Fatalf("disabled transition: %+v", r.Transitions)
	}
	for _, id := range []string{"e1", "e2"} {
		h.start("web", id, nil)
		x := h.succeed(id, "Source", "Source")
		if x.WaitingFor != "Build" || !strings.Contains(x.WaitReason, "freeze") {
			t.Fatalf("%s at a disabled transition: waiting for %q (%s); want Build, saying the reason", id, x.WaitingFor, x.WaitReason)
		}
	}
	if l := h.record("web").Lanes["Build"]; l == nil || !slices.Equal(l.Waiting, []string{"e1", "e2"}) {
		t.Fatalf("Build's waiting list: %+v; want e1, e2 (PARALLEL: both wait)", l)
	}
	r = Record{}
	must(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Build", Enabled: true, Actor: "bob"}, &r)
	if r.Transitions != nil {
		t.Fatalf("enabled transition still listed: %+v", r.Transitions)
	}
	for _, id := range []string{"e1", "e2"} {
		if x := h.exec(id); x.WaitingFor != "" || x.Stages[1].Status != pub.PipelineInProgress {
			t.Fatalf("%s after the transition was enabled: %s, waiting for %q; want in Build", id, stages(x), x.WaitingFor)
		}
	}
}

func TestTransitionDisabledInSupersededModeKeepsTheNewest(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	must(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Build", Reason: "freeze"}, nil)
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.start("web", "e2", nil)
	h.succeed("e2", "Source", "Source")
	wantStatus(t, h.exec("e1"), pub.PipelineSuperseded, "")
	must(h, cmdTransition, TransitionPayload{Name: "web", Stage: "Build", Enabled: true}, nil)
	if x := h.exec("e2"); x.Stages[1].Status != pub.PipelineInProgress {
		t.Fatalf("e2 after enabling: %s", stages(x))
	}
}

func TestStopLetsRunningActionsFinish(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	var x Execution
	must(h, cmdStop, StopPayload{ExecutionID: "e1", Reason: "wrong commit", Actor: "bob"}, &x)
	wantStatus(t, x, pub.PipelineStopping, "Source:Succeeded[Source:Succeeded] Build:InProgress[Build:InProgress] Deploy:[Deploy:]")
	x = h.result("e1", "Build", "Build", true, group, "")
	wantStatus(t, x, pub.PipelineStopped, "Source:Succeeded[Source:Succeeded] Build:Stopped[Build:Succeeded] Deploy:[Deploy:]")
	if !strings.Contains(x.StatusSummary, "bob") || !strings.Contains(x.StatusSummary, "wrong commit") {
		t.Fatalf("stopped summary %q; want who and why", x.StatusSummary)
	}
	refused(h, cmdStop, StopPayload{ExecutionID: "e1"}, fault.Conflict, "already ended")
}

func TestStopWithAbandonEndsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.start("web", "e2", nil)
	h.succeed("e2", "Source", "Source") // waits for Build
	var x Execution
	must(h, cmdStop, StopPayload{ExecutionID: "e2"}, &x)
	wantStatus(t, x, pub.PipelineStopped, "Source:Succeeded[Source:Succeeded] Build:[Build:] Deploy:[Deploy:]")
	if l := h.record("web").Lanes["Build"]; l == nil || len(l.Waiting) != 0 {
		t.Fatalf("Build's lane after the waiting execution stopped: %+v; want e1 alone", l)
	}
	must(h, cmdStop, StopPayload{ExecutionID: "e1", Abandon: true}, &x)
	wantStatus(t, x, pub.PipelineStopped, "Source:Succeeded[Source:Succeeded] Build:Stopped[Build:Abandoned] Deploy:[Deploy:]")
	var ab []Abandoned
	h.view(func(tx *stateTx) (err error) { ab, err = abandonedEntries(tx); return err })
	if len(ab) != 1 || ab[0] != (Abandoned{ExecutionID: "e1", Stage: "Build", Action: "Build", Attempt: 1}) {
		t.Fatalf("abandoned entries: %+v; want e1's Build", ab)
	}
	if h.record("web").Lanes != nil {
		t.Fatal("a stopped execution still holds a lane")
	}
	// A late success of the abandoned work changes nothing; the driver's Abandoned result
	// clears the entry.
	before := h.dump()
	must(h, cmdActionResult, ActionResultPayload{ExecutionID: "e1", Stage: "Build", Action: "Build", Attempt: 1, Status: pub.PipelineSucceeded}, nil)
	if h.dump() != before {
		t.Fatal("a result for an abandoned action changed the state")
	}
	must(h, cmdActionResult, ActionResultPayload{ExecutionID: "e1", Stage: "Build", Action: "Build", Attempt: 1, Status: pub.PipelineAbandoned, Summary: "build stopped"}, nil)
	h.view(func(tx *stateTx) (err error) { ab, err = abandonedEntries(tx); return err })
	if len(ab) != 0 {
		t.Fatalf("abandoned entries after the driver's result: %+v", ab)
	}
	if a := h.action("e1", "Build", "Build"); a.Status != pub.PipelineAbandoned || a.Summary != "build stopped" {
		t.Fatalf("abandoned action: %+v", a)
	}
}

func TestOnFailureRetryRetriesOnce(t *testing.T) {
	h := newHarness(t)
	s := webSpec("web", "")
	s.Stages[1].OnFailure = &pipelinespec.Condition{Result: pipelinespec.ResultRetry}
	h.create(s)
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	x := h.result("e1", "Build", "Build", false, nil, "flaky")
	wantStatus(t, x, pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Build:InProgress[Build:InProgress] Deploy:[Deploy:]")
	if x.Stages[1].Attempt != 2 || x.Retried["Build"] != 1 {
		t.Fatalf("after the automatic retry: attempt %d, retried %v", x.Stages[1].Attempt, x.Retried)
	}
	x = h.result("e1", "Build", "Build", false, nil, "flaky again")
	wantStatus(t, x, pub.PipelineFailed, "Source:Succeeded[Source:Succeeded] Build:Failed[Build:Failed] Deploy:[Deploy:]")
	if !strings.Contains(x.StatusSummary, "flaky again") {
		t.Fatalf("summary %q", x.StatusSummary)
	}
}

func TestOnFailureRollbackRunsTheLastSuccessfulArtifacts(t *testing.T) {
	h := newHarness(t)
	s := webSpec("web", "")
	s.Stages[2].OnFailure = &pipelinespec.Condition{Result: pipelinespec.ResultRollback}
	h.create(s)
	// e0 fails Deploy with nothing to roll back to.
	h.start("web", "e0", nil)
	h.succeed("e0", "Source", "Source")
	h.result("e0", "Build", "Build", true, group, "")
	x := h.result("e0", "Deploy", "Deploy", false, nil, "hosts unhealthy")
	wantStatus(t, x, pub.PipelineFailed, "")
	if !strings.Contains(x.StatusSummary, "no rollback") {
		t.Fatalf("summary %q; want it to say there was nothing to roll back to", x.StatusSummary)
	}
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.result("e1", "Build", "Build", true, group, "")
	h.succeed("e1", "Deploy", "Deploy")
	h.start("web", "e2", nil)
	h.succeed("e2", "Source", "Source")
	h.result("e2", "Build", "Build", true, map[string]string{"GROUP": "canary"}, "")
	x = h.result("e2", "Deploy", "Deploy", false, nil, "hosts unhealthy")
	wantStatus(t, x, pub.PipelineFailed, "")
	id := rollbackID("e2", "Deploy", 1)
	if !strings.Contains(x.StatusSummary, id) {
		t.Fatalf("summary %q; want the rollback %s", x.StatusSummary, id)
	}
	rb := h.exec(id)
	wantStatus(t, rb, pub.PipelineInProgress, "Deploy:InProgress[Deploy:InProgress]")
	if rb.Trigger.Type != pub.TriggerRollback || rb.RollbackOf != "e1" {
		t.Fatalf("rollback: trigger %+v of %q; want rollback of e1", rb.Trigger, rb.RollbackOf)
	}
	d := h.action(id, "Deploy", "Deploy")
	if len(d.Inputs) != 1 || d.Inputs[0] != artifact("BuildArtifact", "e1") || d.Configuration["DeploymentGroupName"] != "prod" {
		t.Fatalf("rollback's Deploy: inputs %+v, configuration %v; want e1's artifact and variables", d.Inputs, d.Configuration)
	}
	h.succeed(id, "Deploy", "Deploy")
	wantStatus(t, h.exec(id), pub.PipelineSucceeded, "Deploy:Succeeded[Deploy:Succeeded]")
	if len(rollbackID("e2", "Deploy", 1)) != 36 || rollbackID("e2", "Deploy", 1) == rollbackID("e2", "Deploy", 2) {
		t.Fatal("rollback IDs are not UUID-shaped or do not differ by attempt")
	}
}

func TestManualRollback(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.result("e1", "Build", "Build", true, group, "")
	refused(h, cmdRollback, RollbackPayload{ExecutionID: "r1", Pipeline: "web", Stage: "Deploy", Target: "e1"}, fault.Conflict, "did not succeed")
	refused(h, cmdRollback, RollbackPayload{ExecutionID: "r1", Pipeline: "web", Stage: "Deploy", Target: "nope"}, fault.NotFound, "nope")
	h.succeed("e1", "Deploy", "Deploy")
	var x Execution
	must(h, cmdRollback, RollbackPayload{ExecutionID: "r1", Pipeline: "web", Stage: "Deploy", Target: "e1", Actor: "bob"}, &x)
	wantStatus(t, x, pub.PipelineInProgress, "Deploy:InProgress[Deploy:InProgress]")
	if x.Trigger.Actor != "bob" || x.RollbackOf != "e1" || x.Version != 1 {
		t.Fatalf("rollback: %+v", x.PipelineExecution)
	}
	refused(h, cmdRollback, RollbackPayload{ExecutionID: "r1", Pipeline: "web", Stage: "Deploy", Target: "e1"}, fault.Conflict, "already exists")
}

// approvalSpec is Source -> Approve (Manual) -> Deploy.
func approvalSpec(name string, minutes int) pipelinespec.Pipeline {
	s := webSpec(name, "")
	ap := action("Approve", pipelinespec.CategoryApproval, pipelinespec.ProviderManual, 1, "", "", "", map[string]string{"CustomData": "commit #{SourceVariables.CommitId}"})
	ap.TimeoutInMinutes = minutes
	s.Stages[1] = pipelinespec.Stage{Name: "Approval", Actions: []pipelinespec.Action{ap}}
	s.Stages[2].Actions[0].InputArtifacts[0].Name = "SourceArtifact"
	s.Stages[2].Actions[0].Configuration = map[string]string{"ApplicationName": "web", "DeploymentGroupName": "prod"}
	return s
}

func TestApproval(t *testing.T) {
	h := newHarness(t)
	h.create(approvalSpec("web", 0))
	waiting := func(id string) pub.ActionExecution {
		t.Helper()
		h.start("web", id, nil)
		h.result(id, "Source", "Source", true, map[string]string{"CommitId": "abc123"}, "")
		a := h.action(id, "Approval", "Approve")
		if a.Status != pub.PipelineInProgress || a.Approval == nil || a.Approval.Token != approvalToken(id, "Approval", "Approve", 1) ||
			!a.Approval.Expires.Equal(a.StartTime.Add(DefaultApprovalMinutes*60e9)) || a.Approval.CustomData != "commit abc123" {
			t.Fatalf("approval action: %+v %+v", a, a.Approval)
		}
		return a
	}

	t.Run("approve", func(t *testing.T) {
		a := waiting("e1")
		refused(h, cmdApproval, ApprovalPayload{ExecutionID: "e1", Stage: "Approval", Action: "Approve", Token: "0123", Status: pub.ApprovalApproved, By: "carol"}, fault.Conflict, "token")
		refused(h, cmdApproval, ApprovalPayload{ExecutionID: "e1", Stage: "Approval", Action: "Approve", Status: "Maybe", By: "carol"}, fault.Invalid, "status")
		refused(h, cmdApproval, ApprovalPayload{ExecutionID: "e1", Stage: "Source", Action: "Source", Status: pub.ApprovalApproved, By: "carol"}, fault.Invalid, "not a manual approval")
		var x Execution
		must(h, cmdApproval, ApprovalPayload{ExecutionID: "e1", Stage: "Approval", Action: "Approve", Token: a.Approval.Token, Status: pub.ApprovalApproved, Comment: "ship it", By: "carol"}, &x)
		wantStatus(t, x, pub.PipelineInProgress, "Source:Succeeded[Source:Succeeded] Approval:Succeeded[Approve:Succeeded] Deploy:InProgress[Deploy:InProgress]")
		if got := x.Stages[1].Actions[0].Approval; got.Result != pub.ApprovalApproved || got.By != "carol" || got.Comment != "ship it" {
			t.Fatalf("answered approval: %+v", got)
		}
		if _, ok := x.Deadlines["Approval/Approve"]; ok {
			t.Fatal("an answered approval keeps its deadline")
		}
		before := h.dump()
		must(h, cmdApproval, ApprovalPayload{ExecutionID: "e1", Stage: "Approval", Action: "Approve", Status: pub.ApprovalRejected, By: "dave"}, nil)
		if h.dump() != before {
			t.Fatal("an answer to an approval no longer waiting changed the state")
		}
		h.succeed("e1", "Deploy", "Deploy")
	})
	t.Run("reject", func(t *testing.T) {
		waiting("e2")
		var x Execution
		must(h, cmdApproval, ApprovalPayload{ExecutionID: "e2", Stage: "Approval", Action: "Approve", Status: pub.ApprovalRejected, Comment: "not today", By: "carol"}, &x)
		wantStatus(t, x, pub.PipelineFailed, "Source:Succeeded[Source:Succeeded] Approval:Failed[Approve:Failed] Deploy:[Deploy:]")
		if !strings.Contains(x.StatusSummary, "rejected by carol: not today") {
			t.Fatalf("summary %q", x.StatusSummary)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		a := waiting("e3")
		early := TimeoutPayload{ExecutionID: "e3", Stage: "Approval", Action: "Approve", Attempt: 1}
		before := h.dump()
		must(h, cmdTimeout, early, nil) // the command's time is before the deadline
		if h.dump() != before {
			t.Fatal("a timeout before the deadline changed the state")
		}
		h.now = a.Approval.Expires
		var x Execution
		must(h, cmdTimeout, early, &x)
		wantStatus(t, x, pub.PipelineFailed, "Source:Succeeded[Source:Succeeded] Approval:Failed[Approve:Failed] Deploy:[Deploy:]")
		if !strings.Contains(x.Stages[1].Actions[0].Error, "expired") {
			t.Fatalf("timed out approval: %+v", x.Stages[1].Actions[0])
		}
	})
}

func TestVariablesResolveInLaterActions(t *testing.T) {
	h := newHarness(t)
	s := webSpec("web", "")
	s.Variables = []pipelinespec.Variable{{Name: "env", DefaultValue: "staging"}, {Name: "region", DefaultValue: "eu"}}
	s.Stages[2].Actions[0].Configuration["Description"] = "#{variables.env} in #{variables.region}"
	h.create(s)
	refused(h, cmdStart, StartPayload{h.startOf("web", "e0", map[string]string{"nope": "x"})}, fault.Invalid, "no variable")
	x := h.start("web", "e1", map[string]string{"env": "production"})
	if x.Variables["env"] != "production" || x.Variables["region"] != "eu" {
		t.Fatalf("execution variables %v; want the override and the default", x.Variables)
	}
	h.succeed("e1", "Source", "Source")
	h.result("e1", "Build", "Build", true, map[string]string{"GROUP": "blue"}, "")
	d := h.action("e1", "Deploy", "Deploy")
	if d.Status != pub.PipelineInProgress || d.Configuration["DeploymentGroupName"] != "blue" || d.Configuration["Description"] != "production in eu" {
		t.Fatalf("deploy action: %s, configuration %v; want the build's GROUP and the variables resolved", d.Status, d.Configuration)
	}
	if len(d.Inputs) != 1 || d.Inputs[0] != artifact("BuildArtifact", "e1") {
		t.Fatalf("deploy inputs %+v", d.Inputs)
	}
	h.succeed("e1", "Deploy", "Deploy")

	h.start("web", "e2", nil)
	h.succeed("e2", "Source", "Source")
	x = h.result("e2", "Build", "Build", true, nil, "") // no GROUP
	wantStatus(t, x, pub.PipelineFailed, "Source:Succeeded[Source:Succeeded] Build:Succeeded[Build:Succeeded] Deploy:Failed[Deploy:Failed]")
	if e := x.Stages[2].Actions[0].Error; !strings.Contains(e, "BuildVariables.GROUP") || !strings.Contains(e, "DeploymentGroupName") {
		t.Fatalf("unresolvable reference's error %q; want the reference and the key", e)
	}
}

func TestMissingOutputOrInputFailsTheAction(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", ""))
	h.start("web", "e1", nil)
	x := h.result("e1", "Source", "Source", true, nil, "")
	p := h.resultOf("e1", "Build", "Build", true, group, "")
	p.Outputs = nil
	must(h, cmdActionResult, p, &x)
	if e := x.Stages[1].Actions[0].Error; x.Status != pub.PipelineFailed || !strings.Contains(e, "BuildArtifact") {
		t.Fatalf("a success without its output: %s %q", x.Status, e)
	}
}

func TestRetryWaitsForABusyStage(t *testing.T) {
	h := newHarness(t)
	h.create(webSpec("web", pub.ModeQueued))
	h.start("web", "e1", nil)
	h.succeed("e1", "Source", "Source")
	h.result("e1", "Build", "Build", false, nil, "broken")
	h.start("web", "e2", nil)
	h.succeed("e2", "Source", "Source") // e2 runs in Build now
	var x Execution
	must(h, cmdRetry, RetryPayload{ExecutionID: "e1", Stage: "Build"}, &x)
	if x.Status != pub.PipelineInProgress || x.WaitingFor != "Build" || x.Stages[1].Attempt != 2 || x.Stages[1].Status != "" {
		t.Fatalf("retry while e2 builds: %s %s, waiting for %q, attempt %d", x.Status, stages(x), x.WaitingFor, x.Stages[1].Attempt)
	}
	h.result("e2", "Build", "Build", true, group, "")
	if a := h.action("e1", "Build", "Build"); a.Status != pub.PipelineInProgress || a.Attempt != 2 {
		t.Fatalf("e1's Build once e2 left the stage: %+v", a)
	}
}

func TestStopWithAbandonOfAnApprovalListsNoWork(t *testing.T) {
	h := newHarness(t)
	h.create(approvalSpec("web", 60))
	h.start("web", "e1", nil)
	h.result("e1", "Source", "Source", true, map[string]string{"CommitId": "abc"}, "")
	var x Execution
	must(h, cmdStop, StopPayload{ExecutionID: "e1"}, &x)
	wantStatus(t, x, pub.PipelineStopping, "Source:Succeeded[Source:Succeeded] Approval:InProgress[Approve:InProgress] Deploy:[Deploy:]")
	x = Execution{}
	must(h, cmdStop, StopPayload{ExecutionID: "e1", Abandon: true}, &x)
	wantStatus(t, x, pub.PipelineStopped, "Source:Succeeded[Source:Succeeded] Approval:Stopped[Approve:Abandoned] Deploy:[Deploy:]")
	h.view(func(tx *stateTx) error {
		if ab, err := abandonedEntries(tx); err != nil || len(ab) != 0 {
			t.Fatalf("abandoned entries for an approval: %+v %v; want none (no provider ran it)", ab, err)
		}
		return nil
	})
	if x.Deadlines != nil {
		t.Fatalf("a stopped execution keeps deadlines %v", x.Deadlines)
	}
}
