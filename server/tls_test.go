package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

// TestTLSClusterLifecycle: a 3-node cluster with mutual TLS on the cluster port and TLS on the
// API forms, elects, replicates writes made through a follower, elects again after its leader
// is killed, and catches the killed node up when it comes back.
func TestTLSClusterLifecycle(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.Options{TLS: true})
	ctx := context.Background()
	for i := 0; i < c.Len(); i++ {
		if got := c.Server(i).HTTPAddr(); got != c.URL(i) {
			t.Fatalf("node %d advertises %s, want %s", i, got, c.URL(i))
		}
	}
	f := c.Follower()
	for i := 0; i < 20; i++ {
		if _, err := c.Client(f).AppCreate(ctx, api.AppCreateRequest{Name: fmt.Sprintf("before-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	old := c.WaitLeader()
	c.Kill(old)
	leader := c.WaitLeader()
	if leader == old {
		t.Fatal("the killed node still leads")
	}
	for i := 0; i < 300; i++ { // past the snapshot threshold: the restarted node may need a snapshot
		if _, err := c.Client(c.Follower()).AppCreate(ctx, api.AppCreateRequest{Name: fmt.Sprintf("after-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c.Start(old)
	leader = c.WaitLeader()
	c.WaitApplied(c.Server(leader).Node().FSM().AppliedIndex())
	want, err := testutil.ListApps(ctx, c.Client(leader), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 320 {
		t.Fatalf("leader has %d apps, want 320", len(want))
	}
	got, err := testutil.ListApps(ctx, c.Client(old), false)
	if err != nil {
		t.Fatal(err)
	}
	if d := testutil.SetDiff(want, got); d != "" {
		t.Fatalf("restarted node differs from the leader: %s", d)
	}
}
