package deploy

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/command"
)

// TestReportsLeaveABoundedRecord: whatever a (compromised) host reports, its part of the
// deployment record stays bounded: long fields are cut, control characters replaced, and
// event records beyond MaxEventRecordsPerTarget dropped with the target marked; the lifecycle
// events keep room, and the deployment still ends.
func TestReportsLeaveABoundedRecord(t *testing.T) {
	f := newFSM(t)
	apply := func(c *command.Command, err error) command.Result {
		t.Helper()
		r := f.apply(c, err)
		if r.Code != "" {
			t.Fatalf("%s: %s %s", c.Type, r.Code, r.Message)
		}
		return r
	}
	f.setUp()
	apply(cmdDeploymentCreate.New("", testTime, DeploymentCreate{ID: "d1", App: "web", RevisionID: "r1", HostIDs: []string{"h1"}}))

	hostile := "\x1b[31mred\x1b[0m\nline\x00\u202e" + strings.Repeat("x", 1<<20)
	var evs []agentproto.Event
	seq := uint64(0)
	add := func(ev agentproto.Event) {
		seq++
		ev.DeploymentID, ev.Seq = "d1", seq
		evs = append(evs, ev)
	}
	add(agentproto.Event{Event: "BeforeInstall", Status: agentproto.StatusFailed, Script: "s\x1b[2J", Result: "script_failed", Message: hostile})
	for len(evs) < 1000 {
		add(agentproto.Event{Event: strings.Repeat("E", 1000), Status: agentproto.StatusSucceeded, Script: "scripts/" + strings.Repeat("s", 1000)})
	}
	apply(cmdDeploymentReport.New("", testTime, DeploymentReport{DeploymentID: "d1", HostID: "h1", Events: records(evs...)}))
	// A lifecycle event after the flood still has room, and the end is still recorded.
	late := []agentproto.Event{}
	for _, ev := range []agentproto.Event{
		{Event: "ValidateService", Status: agentproto.StatusStarted},
		{Event: "ValidateService", Status: agentproto.StatusSucceeded},
		{Event: agentproto.DeploymentEnd, Status: agentproto.StatusFailed, Message: hostile},
	} {
		seq++
		ev.DeploymentID, ev.Seq = "d1", seq
		late = append(late, ev)
	}
	apply(cmdDeploymentReport.New("", testTime, DeploymentReport{DeploymentID: "d1", HostID: "h1", Events: records(late...)}))

	d := f.deployment("d1")
	tg := d.Targets["h1"]
	if n := len(tg.Events); n > MaxEventRecordsPerTarget || n < MaxScriptRecordsPerTarget {
		t.Fatalf("%d event records kept; want between %d and %d", n, MaxScriptRecordsPerTarget, MaxEventRecordsPerTarget)
	}
	if !tg.EventsTruncated {
		t.Error("records were dropped but the target is not marked events_truncated")
	}
	if tg.LastSeq != seq {
		t.Errorf("acknowledged up to %d; every report (%d) must be acknowledged, dropped or not", tg.LastSeq, seq)
	}
	if tg.Status != TargetFailed {
		t.Errorf("target %s after its DeploymentEnd; want failed", tg.Status)
	}
	checkText := func(what, s string, max int) {
		t.Helper()
		if len(s) > max {
			t.Errorf("%s is %d bytes; the bound is %d", what, len(s), max)
		}
		if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u202e' }); i >= 0 {
			t.Errorf("%s keeps a control character at byte %d: %q", what, i, s[:min(len(s), 40)])
		}
	}
	checkText("target message", tg.Message, MaxEventMessageLen)
	validate := false
	for i, e := range tg.Events {
		checkText("event name", e.Name, MaxEventFieldLen)
		checkText("script", e.Script, MaxEventFieldLen)
		checkText("result", e.Result, MaxEventFieldLen)
		checkText("message", e.Message, MaxEventMessageLen)
		if i == 0 && !strings.HasPrefix(e.Message, "\uFFFD[31mred\uFFFD[0m line\uFFFD\uFFFDxxx") {
			t.Errorf("first message %q: control characters must be replaced, the text kept", e.Message[:40])
		}
		validate = validate || (e.Name == "ValidateService" && e.Status == string(agentproto.StatusSucceeded))
	}
	if !validate {
		t.Error("the lifecycle event after the flood of script records was not recorded")
	}
	raw, _ := json.Marshal(d)
	if limit := MaxEventRecordsPerTarget * (4*MaxEventFieldLen + MaxEventMessageLen + 256); len(raw) > limit {
		t.Errorf("deployment record is %d bytes; bounded records make at most %d", len(raw), limit)
	}
}
