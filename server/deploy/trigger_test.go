package deploy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/state"
)

// outbox reads the trigger outbox in order.
func (tf *testFSM) outbox() []outboxEvent {
	tf.t.Helper()
	var out []outboxEvent
	_ = tf.f.Store().View(func(tx *state.Tx) error {
		out = outboxList(tx, MaxOutbox)
		return nil
	})
	return out
}

func (tf *testFSM) addTrigger(name string, events ...string) {
	tf.t.Helper()
	if r := tf.apply(cmdTriggerPut.New("", testTime, TriggerPutPayload{App: "web", Group: "g", GroupID: "g-id",
		Trigger: Trigger{Name: name, Events: events, URL: "https://hooks.example.com/" + name, Secret: []byte("sealed")}})); r.Code != "" {
		tf.t.Fatalf("trigger.put: %+v", r)
	}
}

// TestTriggerEventsAreQueuedInApply: a failing deployment on a group with rollback queues, in
// order, the events its triggers take, with CodeDeploy's message fields; trigger.delivered
// removes them.
func TestTriggerEventsAreQueuedInApply(t *testing.T) {
	f := groupFSM(t, 2, RollbackOnFailure)
	f.addTrigger("all", "all")
	f.addTrigger("ends", EventDeploymentSuccess, EventDeploymentFailure)
	host := pendingHost(t, f.create("d1", "r2", ""))
	f.report("d1", host, 1, "ApplicationStop", agentproto.StatusStarted)
	f.report("d1", host, 2, "ApplicationStop", agentproto.StatusFailed)
	f.report("d1", host, 3, agentproto.DeploymentEnd, agentproto.StatusFailed)
	var got []string
	for _, ev := range f.outbox() {
		var m pub.TriggerMessage
		if err := json.Unmarshal(ev.Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.EventID != ev.ID || m.EventType != ev.Event || m.EventTriggerName != ev.Trigger || m.ApplicationName != "web" || m.DeploymentGroupName != "g" {
			t.Fatalf("message %+v of %+v", m, ev)
		}
		got = append(got, ev.Trigger+" "+ev.Event+" "+m.DeploymentID+" "+m.Hostname+" "+m.Status+" "+m.InstanceStatus)
		switch ev.Event {
		case EventInstanceFailure:
			if m.InstanceID != host || m.ErrorInformation == nil {
				t.Fatalf("instance failure %+v", m)
			}
		case EventDeploymentRollback:
			if m.RollbackDeploymentID != "d1-rollback" || m.CompleteTime == nil {
				t.Fatalf("rollback %+v", m)
			}
		}
	}
	hn := f.deployment("d1").Targets[host].HostName
	want := []string{
		"all DeploymentStart d1  IN_PROGRESS ",
		"all InstanceStart d1 " + hn + " IN_PROGRESS InProgress",
		"all InstanceFailure d1 " + hn + " FAILED Failed",
		"all DeploymentFailure d1  FAILED ",
		"ends DeploymentFailure d1  FAILED ",
		"all DeploymentRollback d1  FAILED ",
		"all DeploymentStart d1-rollback  IN_PROGRESS ",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("outbox:\n%q\nwant:\n%q", got, want)
	}
	ids := []string{f.outbox()[0].ID, f.outbox()[1].ID, "not-there"}
	if r := f.apply(cmdTriggerDelivered.New("", testTime, TriggerDeliveredPayload{IDs: ids})); r.Code != "" {
		t.Fatalf("delivered: %+v", r)
	}
	if n := len(f.outbox()); n != len(want)-2 {
		t.Fatalf("%d events left after two were delivered, want %d", n, len(want)-2)
	}
	_ = f.f.Store().View(func(tx *state.Tx) error {
		if n := outboxUint(tx, outboxCountKey); n != uint64(len(want)-2) {
			t.Errorf("outbox count %d", n)
		}
		return nil
	})
	// Removing the trigger, and deleting the group, remove triggers from the state.
	if r := f.apply(cmdTriggerDelete.New("", testTime, TriggerDeletePayload{App: "web", Group: "g", Name: "ends"})); r.Code != "" {
		t.Fatalf("trigger delete: %+v", r)
	}
	if r := f.apply(cmdTriggerDelete.New("", testTime, TriggerDeletePayload{App: "web", Group: "g", Name: "ends"})); r.Code != "not_found" {
		t.Fatalf("second trigger delete: %+v", r)
	}
}

// TestTriggerRefusals: bad events, URLs and duplicates are refused in apply too.
func TestTriggerRefusals(t *testing.T) {
	f := groupFSM(t, 1, RollbackOff)
	f.addTrigger("t", EventDeploymentStart)
	for _, tc := range []struct {
		name   string
		p      TriggerPutPayload
		code   string
		inText string
	}{
		{"duplicate", TriggerPutPayload{GroupID: "g-id", Trigger: Trigger{Name: "t", Events: []string{"all"}, URL: "https://x"}}, "conflict", "already has"},
		{"bad event", TriggerPutPayload{GroupID: "g-id", Trigger: Trigger{Name: "u", Events: []string{"Deployed"}, URL: "https://x"}}, "bad_request", "DeploymentStart"},
		{"no events", TriggerPutPayload{GroupID: "g-id", Trigger: Trigger{Name: "u", URL: "https://x"}}, "bad_request", "no events"},
		{"file URL", TriggerPutPayload{GroupID: "g-id", Trigger: Trigger{Name: "u", Events: []string{"all"}, URL: "file:///etc/passwd"}}, "bad_request", "http://"},
		{"credentials", TriggerPutPayload{GroupID: "g-id", Trigger: Trigger{Name: "u", Events: []string{"all"}, URL: "https://a:b@x"}}, "bad_request", "credentials"},
		{"group made again", TriggerPutPayload{GroupID: "old", Trigger: Trigger{Name: "u", Events: []string{"all"}, URL: "https://x"}}, "conflict", "made again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.App, tc.p.Group, tc.p.Trigger.Secret = "web", "g", []byte("s")
			r := f.apply(cmdTriggerPut.New("", testTime, tc.p))
			if r.Code != tc.code || !strings.Contains(r.Message, tc.inText) {
				t.Fatalf("got %s %q, want %s saying %q", r.Code, r.Message, tc.code, tc.inText)
			}
		})
	}
}

// TestGroupPutVersionsAndHealthCheck: a version 2 group.put sets or removes the health check; a
// version 1 entry (which knows none) applies as before and keeps it.
func TestGroupPutVersionsAndHealthCheck(t *testing.T) {
	f := groupFSM(t, 1, RollbackOff)
	hc := &HealthCheck{URL: "http://127.0.0.1:8080/health", ExpectedStatus: 200, Timeout: time.Second, Attempts: 2, Interval: time.Second}
	put := func(version uint8, hc *HealthCheck) {
		t.Helper()
		c, err := CmdGroupPut.New("", testTime, GroupPutPayload{ID: "g-id", App: "web", Name: "g", Hosts: []string{"host-1"}, Config: "AllAtOnce", HealthCheck: hc})
		if err != nil {
			t.Fatal(err)
		}
		c.Version = version
		if r := f.apply(c, nil); r.Code != "" {
			t.Fatalf("group.put v%d: %+v", version, r)
		}
	}
	put(2, hc)
	if g := f.webG(); g.HealthCheck == nil || *g.HealthCheck != *hc {
		t.Fatalf("after v2 put: %+v", g.HealthCheck)
	}
	put(1, nil)
	if g := f.webG(); g.HealthCheck == nil || g.Config != "AllAtOnce" {
		t.Fatalf("a version 1 put dropped the health check: %+v", g)
	}
	put(2, nil)
	if g := f.webG(); g.HealthCheck != nil {
		t.Fatalf("a version 2 put without a health check kept %+v", g.HealthCheck)
	}
	bad := *hc
	bad.URL = "ftp://x"
	c, _ := CmdGroupPut.New("", testTime, GroupPutPayload{ID: "g-id", App: "web", Name: "g", Hosts: []string{"host-1"}, HealthCheck: &bad})
	if r := f.apply(c, nil); r.Code != "bad_request" {
		t.Fatalf("a health check of ftp:// was %+v", r)
	}
}

// TestSuccessWithoutHealthCheckFailsTheHost: on a group with a health check, a host that reports
// success without a HealthCheck event (an agent older than health checks) fails, saying to
// upgrade its agent; one that ran it succeeds.
func TestSuccessWithoutHealthCheckFailsTheHost(t *testing.T) {
	f := groupFSM(t, 2, RollbackOff)
	c, _ := CmdGroupPut.New("", testTime, GroupPutPayload{ID: "g-id", App: "web", Name: "g", Hosts: []string{"host-1", "host-2"}, Config: "AllAtOnce",
		HealthCheck: &HealthCheck{URL: "http://127.0.0.1:9/h", ExpectedStatus: 200, Timeout: time.Second, Attempts: 1}})
	if r := f.apply(c, nil); r.Code != "" {
		t.Fatal(r)
	}
	d := f.create("d1", "r2", "")
	if d.HealthCheck == nil {
		t.Fatal("the deployment did not take the group's health check")
	}
	f.report("d1", "h1", 1, agentproto.HealthCheckEvent, agentproto.StatusStarted)
	f.report("d1", "h1", 2, agentproto.HealthCheckEvent, agentproto.StatusSucceeded)
	f.report("d1", "h1", 3, agentproto.DeploymentEnd, agentproto.StatusSucceeded)
	f.report("d1", "h2", 1, agentproto.DeploymentEnd, agentproto.StatusSucceeded)
	d = f.deployment("d1")
	if tg := d.Targets["h1"]; tg.Status != TargetSucceeded {
		t.Fatalf("host that ran the check: %s %s", tg.Status, tg.Message)
	}
	if tg := d.Targets["h2"]; tg.Status != TargetFailed || !strings.Contains(tg.Message, "upgrade slipway-agent") {
		t.Fatalf("host that skipped the check: %s %q", tg.Status, tg.Message)
	}
	// The agent is sent the check.
	_ = f.f.Store().View(func(tx *state.Tx) error {
		_, body, err := agentWork{}.Start(tx, "d1")
		if run := body.(agentproto.Run); err != nil || run.HealthCheck == nil || run.HealthCheck.URL != "http://127.0.0.1:9/h" {
			t.Errorf("run %+v %v", run, err)
		}
		return nil
	})
}
