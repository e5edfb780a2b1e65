package build

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// running makes project web with build 1 assigned to host "builder" and answers its ID.
func running(t *testing.T, r *runFSM) string {
	t.Helper()
	ok(t, "project", do(r, cmdProjectCreate, ProjectCreatePayload{Settings: repoProject("web"), Actor: "ana"}))
	s := start("web", 1)
	s.ProjectCreateIndex = 2
	ok(t, "start", do(r, cmdStart, s))
	r.host("builder", nil, agentproto.KindBuild)
	r.host("other", nil, agentproto.KindBuild)
	ok(t, "assign", do(r, cmdAssign, AssignPayload{ID: s.ID, Host: "builder"}))
	return s.ID
}

func ackOf(t *testing.T, res command.Result) agentproto.Ack {
	t.Helper()
	ok(t, "report", res)
	var a agentproto.Ack
	if err := json.Unmarshal(res.Data, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func phaseNames(b Build) string {
	var out []string
	for _, p := range b.Phases {
		s := p.Name
		if p.Status != "" {
			s += "=" + p.Status
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func ev(seq uint64, event string, status agentproto.Status, at time.Time) ReportEvent {
	return ReportEvent{Seq: seq, Event: event, Status: string(status), Time: at}
}

// TestReportPhasesLogsAndEnd: reports apply in sequence order, once each, and stop at a gap; a
// host the build is not assigned to is refused; the end records the outcome, frees the host and
// counts, and later reports are acknowledged without changing anything.
func TestReportPhasesLogsAndEnd(t *testing.T) {
	r := newRunFSM(t)
	id := running(t, r)
	at := r.now()
	sha := strings.Repeat("ab", 32)
	ok(t, "blob", do(r, command.BlobRegisterCmd, command.BlobRegister{SHA256: sha, Size: 42}))

	before := r.dump()
	wantCode(t, "another host", do(r, cmdReport, ReportPayload{ID: id, Host: "other", Events: []ReportEvent{ev(1, PhaseDownloadSource, agentproto.StatusStarted, at)}}),
		fault.Forbidden, "not assigned to host")
	if r.dump() != before {
		t.Fatal("a refused report changed the state")
	}

	a := ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder",
		Events: []ReportEvent{ev(3, PhaseDownloadSource, agentproto.StatusSucceeded, at.Add(2*time.Second)), ev(1, PhaseDownloadSource, agentproto.StatusStarted, at.Add(time.Second))},
		Logs:   []ReportLog{{Seq: 2, Lines: []logLine{{Time: at, Phase: PhaseDownloadSource, Text: "fetching"}, {Time: at, Phase: "NOPE", Text: "done\x00"}}}},
	}))
	if a.Seq != 3 || a.Kind != agentproto.KindBuild || a.DeploymentID != id {
		t.Fatalf("ack %+v", a)
	}
	// A resend and a gap: the resend is ignored, the gap (5 before 4) stops the apply.
	a = ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder",
		Logs:   []ReportLog{{Seq: 2, Lines: []logLine{{Text: "again"}}}, {Seq: 5, Lines: []logLine{{Text: "after a gap"}}}},
		Events: []ReportEvent{ev(6, PhaseBuild, agentproto.StatusStarted, at)},
	}))
	if a.Seq != 3 {
		t.Fatalf("ack past a gap: %+v", a)
	}
	b, _ := buildAt(t, r.f, id)
	if got := phaseNames(b); got != "SUBMITTED=SUCCEEDED QUEUED=SUCCEEDED PROVISIONING=SUCCEEDED DOWNLOAD_SOURCE=SUCCEEDED" {
		t.Fatalf("phases %s", got)
	}
	if b.LogLines != 2 || b.LogBytes != int64(len("fetching")+len("done")) || b.ReportSeq != 3 {
		t.Fatalf("log %d lines %d bytes, seq %d", b.LogLines, b.LogBytes, b.ReportSeq)
	}
	_ = r.f.Store().View(func(tx *state.Tx) error {
		var batch logBatch
		if err := json.Unmarshal(tx.Bucket(bucketLogs).Get(logKey(id, 1)), &batch); err != nil {
			t.Fatal(err)
		}
		if batch.First != 1 || len(batch.Lines) != 2 || batch.Lines[1].Text != "done" || batch.Lines[1].Phase != "" {
			t.Fatalf("batch %+v", batch)
		}
		return nil
	})

	outcome := &agentproto.BuildOutcome{Status: pub.BuildSucceeded,
		ExportedVariables: map[string]string{"VERSION": "1.2.3", "bad name": "x"},
		Artifacts:         []agentproto.BuildArtifact{{SHA256: sha, Size: 42, Files: 3}, {Identifier: "missing", SHA256: strings.Repeat("cd", 32), Size: 1}},
		Reports: []agentproto.BuildReport{{Name: "unit", Format: "JUNITXML", Status: "FAILED", Total: 2, Counts: map[string]int{"SUCCEEDED": 1, "FAILED": 1},
			Cases: []agentproto.BuildTestCase{{Name: "a", Status: "FAILED", Message: "boom"}, {Name: "b", Status: "SUCCEEDED"}}}},
	}
	a = ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder",
		Logs: []ReportLog{{Seq: 4, Lines: []logLine{{Phase: PhaseBuild, Text: "go build"}}}, {Seq: 5, Lines: []logLine{{Text: "ok"}}}},
		Events: []ReportEvent{ev(6, PhaseBuild, agentproto.StatusStarted, at.Add(3*time.Second)), ev(7, PhaseBuild, agentproto.StatusSucceeded, at.Add(4*time.Second)),
			{Seq: 8, Event: agentproto.BuildEnd, Status: string(agentproto.StatusSucceeded), Result: pub.BuildSucceeded, Time: at.Add(5 * time.Second), Outcome: outcome},
			ev(9, PhaseFinalizing, agentproto.StatusStarted, at.Add(6*time.Second))},
	}))
	if a.Seq != 9 {
		t.Fatalf("ack of the end %+v", a)
	}
	b, _ = buildAt(t, r.f, id)
	if b.Status != pub.BuildSucceeded || b.End == nil || b.End.Before(*b.Phases[4].End) || b.LogLines != 4 {
		t.Fatalf("ended build %+v", b)
	}
	if got := phaseNames(b); got != "SUBMITTED=SUCCEEDED QUEUED=SUCCEEDED PROVISIONING=SUCCEEDED DOWNLOAD_SOURCE=SUCCEEDED BUILD=SUCCEEDED COMPLETED" {
		t.Fatalf("phases %s", got)
	}
	if len(b.Artifacts) != 1 || b.Artifacts[0].Blob != sha || b.ExportedVariables["VERSION"] != "1.2.3" || len(b.ExportedVariables) != 1 ||
		len(b.Reports) != 1 || b.Reports[0].Counts["FAILED"] != 1 {
		t.Fatalf("outcome on the record: %+v %v %+v", b.Artifacts, b.ExportedVariables, b.Reports)
	}
	cnt, _, _ := countersOf(t, r.f, "web")
	_ = r.f.Store().View(func(tx *state.Tx) error {
		if cnt.Running != 0 || len(buildsOnHost(tx, "builder")) != 0 || tx.Bucket(bucketFinish).Get([]byte(id)) == nil {
			t.Fatalf("after the end: running %d, by-host %v, finish %v", cnt.Running, buildsOnHost(tx, "builder"), tx.Bucket(bucketFinish).Get([]byte(id)))
		}
		if !tx.Blobs().Referenced(sha) {
			t.Fatal("the artifact's blob is not referenced")
		}
		var rep agentproto.BuildReport
		if err := json.Unmarshal(tx.Bucket(bucketReports).Get(reportKey(id, "unit")), &rep); err != nil || len(rep.Cases) != 2 {
			t.Fatalf("report cases %+v %v", rep, err)
		}
		return nil
	})

	// Reports after the end are acknowledged and change nothing, whatever their sequence.
	before = r.dump()
	a = ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder", Logs: []ReportLog{{Seq: 12, Lines: []logLine{{Text: "late"}}}}}))
	if a.Seq != 12 || r.dump() != before {
		t.Fatalf("a late report: ack %+v, state changed %v", a, r.dump() != before)
	}
	// Deleting the project deletes the build, which references its artifact's blob no more.
	ok(t, "delete", do(r, cmdProjectDelete, ProjectDeletePayload{Name: "web"}))
	_ = r.f.Store().View(func(tx *state.Tx) error {
		if tx.Blobs().Referenced(sha) {
			t.Fatal("a deleted build still references its artifact's blob")
		}
		return nil
	})
}

// TestEndStatuses: STOPPED counts only after a stop was requested (else FAILED); an unknown
// status is FAULT; build.fail ends a build in progress on its host only, TIMED_OUT only past
// its deadline.
func TestEndStatuses(t *testing.T) {
	end := func(status string) ReportEvent {
		return ReportEvent{Seq: 1, Event: agentproto.BuildEnd, Status: string(agentproto.StatusFailed), Outcome: &agentproto.BuildOutcome{Status: status}}
	}
	for _, tc := range []struct {
		what, status string
		stop         bool
		want         string
	}{
		{"stopped, asked", pub.BuildStopped, true, pub.BuildStopped},
		{"stopped, not asked", pub.BuildStopped, false, pub.BuildFailed},
		{"unknown", "EXPLODED", false, pub.BuildFault},
		{"failed", pub.BuildFailed, false, pub.BuildFailed},
	} {
		r := newRunFSM(t)
		id := running(t, r)
		if tc.stop {
			ok(t, "stop", do(r, cmdStop, StopPayload{ID: id, Actor: "ana"}))
		}
		ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder", Events: []ReportEvent{end(tc.status)}}))
		if b, _ := buildAt(t, r.f, id); b.Status != tc.want {
			t.Errorf("%s: status %s, want %s", tc.what, b.Status, tc.want)
		}
	}

	r := newRunFSM(t)
	id := running(t, r)
	b, _ := buildAt(t, r.f, id)
	before := r.dump()
	for _, p := range []FailPayload{
		{ID: id, Host: "other", Status: pub.BuildFault, Reason: "wrong host"},
		{ID: id, Host: "builder", Status: pub.BuildTimedOut, Reason: "early"},
	} {
		ok(t, "fail "+p.Reason, do(r, cmdFail, p))
	}
	wantCode(t, "a bad status", do(r, cmdFail, FailPayload{ID: id, Host: "builder", Status: pub.BuildSucceeded}), fault.Invalid, "not FAULT")
	if r.dump() != before {
		t.Fatal("a build.fail that does not hold changed the state")
	}
	ok(t, "timed out", doAt(r, b.RunningDeadline(), cmdFail, FailPayload{ID: id, Host: "builder", Status: pub.BuildTimedOut, Reason: "ran too long"}))
	b, _ = buildAt(t, r.f, id)
	cnt, _, _ := countersOf(t, r.f, "web")
	if b.Status != pub.BuildTimedOut || phaseNames(b) != "SUBMITTED=SUCCEEDED QUEUED=SUCCEEDED PROVISIONING=TIMED_OUT COMPLETED" ||
		b.Phases[2].Message != "ran too long" || cnt.Running != 0 {
		t.Fatalf("timed out: %+v, running %d", b, cnt.Running)
	}
	// The silent agent's FAULT on another build.
	r = newRunFSM(t)
	id = running(t, r)
	ok(t, "fault", do(r, cmdFail, FailPayload{ID: id, Host: "builder", Status: pub.BuildFault, Reason: "agent on host builder was not heard from for 1m0s"}))
	if b, _ := buildAt(t, r.f, id); b.Status != pub.BuildFault || !strings.Contains(b.Phases[2].Message, "not heard from") {
		t.Fatalf("fault: %+v", b)
	}
}

// TestPhaseStartedAgainIsRecordedOnce: each phase runs once; an agent that reports a phase
// started again (a restarted agent going over its steps) changes neither that phase nor the
// list, and the next phase follows as usual.
func TestPhaseStartedAgainIsRecordedOnce(t *testing.T) {
	r := newRunFSM(t)
	id := running(t, r)
	at := r.now()
	ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder", Events: []ReportEvent{
		ev(1, PhaseDownloadSource, agentproto.StatusStarted, at),
		ev(2, PhaseDownloadSource, agentproto.StatusSucceeded, at),
	}}))
	before, _ := buildAt(t, r.f, id)
	ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder", Events: []ReportEvent{
		ev(3, PhaseDownloadSource, agentproto.StatusStarted, r.now()),
		ev(4, PhaseInstall, agentproto.StatusStarted, r.now()),
	}}))
	b, _ := buildAt(t, r.f, id)
	if got := phaseNames(b); got != "SUBMITTED=SUCCEEDED QUEUED=SUCCEEDED PROVISIONING=SUCCEEDED DOWNLOAD_SOURCE=SUCCEEDED INSTALL" {
		t.Fatalf("phases %s; want DOWNLOAD_SOURCE once, then INSTALL", got)
	}
	if got, want := b.Phases[3], before.Phases[3]; !got.Start.Equal(want.Start) || !got.End.Equal(*want.End) {
		t.Fatalf("DOWNLOAD_SOURCE %v-%v after its repeated start, was %v-%v", got.Start, got.End, want.Start, want.End)
	}
}

// TestLogCutAtTheBound: lines past MaxLogBytes are dropped and the build says log_truncated.
func TestLogCutAtTheBound(t *testing.T) {
	r := newRunFSM(t)
	id := running(t, r)
	line := strings.Repeat("x", agentproto.MaxLineBytes)
	per := 200 // lines per report: 3.2 MiB, under a command's 4 MiB
	var seq uint64
	for sent := int64(0); sent <= MaxLogBytes; sent += int64(per * len(line)) {
		seq++
		l := ReportLog{Seq: seq, Lines: make([]logLine, per)}
		for i := range l.Lines {
			l.Lines[i] = logLine{Text: line}
		}
		ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder", Logs: []ReportLog{l}}))
	}
	b, _ := buildAt(t, r.f, id)
	if !b.LogTruncated || b.LogBytes > MaxLogBytes || b.LogBytes+int64(len(line)) <= MaxLogBytes || b.LogLines != uint64(b.LogBytes)/uint64(len(line)) {
		t.Fatalf("log %d lines, %d bytes, truncated %v", b.LogLines, b.LogBytes, b.LogTruncated)
	}
	ackOf(t, do(r, cmdReport, ReportPayload{ID: id, Host: "builder", Logs: []ReportLog{{Seq: seq + 1, Lines: []logLine{{Text: "x"}}}}}))
	if b2, _ := buildAt(t, r.f, id); b2.LogLines != b.LogLines || b2.LogBytes != b.LogBytes {
		t.Fatal("a line after the cut was kept")
	}
}

// TestRunApplyIsDeterministic: two state machines fed the same entries, one at a time and in a
// batch, hold byte-identical state.
func TestRunApplyIsDeterministic(t *testing.T) {
	one := newRunFSM(t)
	id := running(t, one)
	ok(t, "report", do(one, cmdReport, ReportPayload{ID: id, Host: "builder",
		Events: []ReportEvent{ev(1, PhaseBuild, agentproto.StatusStarted, t0), {Seq: 3, Event: agentproto.BuildEnd, Status: "failed",
			Outcome: &agentproto.BuildOutcome{Status: pub.BuildFailed, ExportedVariables: map[string]string{"B": "2", "A": "1"}}}},
		Logs: []ReportLog{{Seq: 2, Lines: []logLine{{Text: "a"}, {Text: "b"}}}}}))
	// Replay the first machine's entries into two fresh ones, one at a time and in a batch.
	two, three := newFSM(t), newFSM(t)
	for _, l := range one.replay {
		two.Apply(l)
	}
	three.ApplyBatch(one.replay)
	a, b := (&runFSM{t: t, f: two}).dump(), (&runFSM{t: t, f: three}).dump()
	if a != b || a != one.dump() || !strings.Contains(a, `"status":"FAILED"`) {
		t.Fatalf("the state machines differ:\n%s\n---\n%s", a, b)
	}
}
