package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// fsmCluster is a one-node cluster over a test FSM, for the service's reads and waits.
type fsmCluster struct{ tf *testFSM }

func (c fsmCluster) Apply(context.Context, *command.Command) (command.Result, error) {
	c.tf.t.Fatal("the test proposes nothing")
	return command.Result{}, nil
}
func (fsmCluster) ID() string                           { return "s1" }
func (fsmCluster) IsLeader() bool                       { return true }
func (fsmCluster) ConsistentRead(context.Context) error { return nil }
func (c fsmCluster) AppliedIndex() uint64               { return c.tf.f.AppliedIndex() }
func (c fsmCluster) WaitApplied(ctx context.Context, index uint64) error {
	return c.tf.f.WaitApplied(ctx, index)
}

// TestWatchSendsUntilTheEnd: a watch sends a host's output lines and the deployment, then ends
// with the deployment's status once it has finished and everything was sent; a stop reason ends
// it before anything is sent.
func TestWatchSendsUntilTheEnd(t *testing.T) {
	f := newFSM(t)
	f.setUp()
	if r := f.apply(cmdDeploymentCreate.New("", testTime, DeploymentCreate{ID: "d1", App: "web", RevisionID: "r1", HostIDs: []string{"h1"}})); r.Code != "" {
		t.Fatalf("create: %+v", r)
	}
	line := agentproto.Log{DeploymentID: "d1", Seq: 1, Lines: []agentproto.LogLine{{Text: "installing", Stream: "stdout"}}}
	end := agentproto.Event{DeploymentID: "d1", Seq: 2, Event: agentproto.DeploymentEnd, Status: agentproto.StatusSucceeded, Time: testTime}
	if r := f.apply(cmdDeploymentReport.New("", testTime, DeploymentReport{DeploymentID: "d1", HostID: "h1",
		Events: records(end), Logs: []ReportLog{logRecord(line)}})); r.Code != "" {
		t.Fatalf("report: %+v", r)
	}
	svc := Deployments{core: &module.Core{Cluster: fsmCluster{f}, State: f.f.Store()}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var got []pub.WatchMessage
	send := func(m pub.WatchMessage) bool { got = append(got, m); return true }
	stopped, err := svc.Watch(ctx, "d1", WatchFrom{}, func() string { return "token revoked" }, send)
	if err != nil || stopped.Stopped != "token revoked" || len(got) != 0 {
		t.Fatalf("a watch stopped at once: %+v, %v, %d messages", stopped, err, len(got))
	}
	res, err := svc.Watch(ctx, "d1", WatchFrom{}, func() string { return "" }, send)
	if err != nil || res.Status != DeploymentSucceeded {
		t.Fatalf("watch ended with %+v, %v; want the status succeeded", res, err)
	}
	if len(got) != 2 || got[0].Host != "host-1" || len(got[0].Lines) != 1 || got[0].Lines[0].Text != "installing" ||
		got[1].Deployment == nil || got[1].Deployment.Status != DeploymentSucceeded {
		t.Fatalf("messages %+v; want the host's line, then the deployment", got)
	}
	// Resumed where the client is, nothing is sent twice; resumed before the end, only what is newer.
	if got[0].Next != 1 {
		t.Fatalf("lines message %+v: want next 1, the sequence to resume after", got[0])
	}
	final := got[1].Deployment.ModifyIndex
	got = nil
	res, err = svc.Watch(ctx, "d1", WatchFrom{Index: final, After: map[string]uint64{"host-1": 1}}, func() string { return "" }, send)
	if err != nil || res.Status != DeploymentSucceeded || len(got) != 0 {
		t.Fatalf("a watch resumed at the end: %+v, %v, messages %+v; want the status and nothing sent", res, err, got)
	}
	if _, err = svc.Watch(ctx, "d1", WatchFrom{Index: final - 1, After: map[string]uint64{"host-1": 1}}, func() string { return "" }, send); err != nil ||
		len(got) != 1 || got[0].Deployment == nil {
		t.Fatalf("a watch resumed before the last change: %v, messages %+v; want only the deployment", err, got)
	}
	if _, err := svc.Watch(ctx, "nope", WatchFrom{}, func() string { return "" }, send); err == nil {
		t.Fatal("a watch of no deployment ended without an error")
	}
}
