package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

func TestGroupsAndConfigs(t *testing.T) {
	c := testutil.NewCluster(t, 1, testutil.Options{Tweak: fastAgents})
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	testutil.StartAgent(t, c, "h1", "env=prod")
	testutil.StartAgent(t, c, "h2", "env=staging")
	c.WaitHost("h1")
	c.WaitHost("h2")

	if _, err := cl.GroupCreate(ctx, "web", api.GroupRequest{Name: "prod", Config: "NoSuchConfig", Tags: map[string]string{"env": "prod"}}); !api.IsNotFound(err) {
		t.Fatalf("unknown config: want not found, got %v", err)
	}
	if _, err := cl.GroupCreate(ctx, "web", api.GroupRequest{Name: "empty"}); api.ErrorCode(err) != api.CodeBadRequest {
		t.Fatalf("group without members: want bad request, got %v", err)
	}
	if _, err := cl.ConfigCreate(ctx, api.DeploymentConfig{Name: "most", Kind: "FLEET_PERCENT", Value: 100}); api.ErrorCode(err) != api.CodeBadRequest {
		t.Fatalf("100%% config: want bad request, got %v", err)
	}
	if _, err := cl.ConfigCreate(ctx, api.DeploymentConfig{Name: "two", Kind: "HOST_COUNT", Value: 2}); err != nil {
		t.Fatal(err)
	}
	g, err := cl.GroupCreate(ctx, "web", api.GroupRequest{Name: "prod", Tags: map[string]string{"env": "prod"}, Hosts: []string{"h2"}, Config: "two", AutoRollback: "on-failure"})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 2 || g.Config != "two" || g.AutoRollback != api.RollbackOnFailure {
		t.Fatalf("group %+v", g)
	}
	if _, err := cl.GroupCreate(ctx, "web", api.GroupRequest{Name: "prod", Hosts: []string{"h1"}}); !api.IsConflict(err) {
		t.Fatalf("duplicate group: want conflict, got %v", err)
	}
	// An update is partial (issue 15): new tags; hosts, config and auto-rollback stay.
	staging := map[string]string{"env": "staging"}
	g, err = cl.GroupUpdate(ctx, "web", "prod", api.GroupUpdateRequest{Tags: &staging})
	if err != nil || len(g.Members) != 1 || g.Members[0].Host != "h2" || g.Config != "two" || g.AutoRollback != api.RollbackOnFailure ||
		strings.Join(g.Hosts, ",") != "h2" {
		t.Fatalf("updated group %+v, %v", g, err)
	}
	l, err := cl.ConfigList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dc := range l.Configs {
		names = append(names, dc.Name)
	}
	if got := strings.Join(names, ","); got != "OneAtATime,HalfAtATime,AllAtOnce,two" {
		t.Fatalf("configs %s", got)
	}
	// Built-ins answer to their AWS names too, and are stored by their short names (issue 15).
	if dc, err := cl.ConfigGet(ctx, "CodeDeployDefault.HalfAtATime"); err != nil || dc.Name != "HalfAtATime" || !dc.Builtin {
		t.Fatalf("config by AWS name: %+v, %v", dc, err)
	}
	if dc, err := cl.ConfigGet(ctx, "two"); err != nil || strings.Join(dc.UsedBy, ",") != "web/prod" {
		t.Fatalf("config two: %+v, %v", dc, err)
	}
	if err := cl.ConfigDelete(ctx, "two"); !api.IsConflict(err) || !strings.Contains(err.Error(), "web/prod") {
		t.Fatalf("delete of a config in use: want a conflict naming web/prod, got %v", err)
	}
	if err := cl.ConfigDelete(ctx, "CodeDeployDefault.AllAtOnce"); !api.IsConflict(err) {
		t.Fatalf("delete of a built-in: want conflict, got %v", err)
	}
	aws := "CodeDeployDefault.AllAtOnce"
	if g, err = cl.GroupUpdate(ctx, "web", "prod", api.GroupUpdateRequest{Config: &aws}); err != nil || g.Config != "AllAtOnce" || g.Tags["env"] != "staging" {
		t.Fatalf("update to an AWS config name: %+v, %v", g, err)
	}
	if err := cl.ConfigDelete(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ConfigGet(ctx, "two"); !api.IsNotFound(err) {
		t.Fatalf("deleted config: %v", err)
	}
	if err := cl.GroupDelete(ctx, "web", "prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GroupGet(ctx, "web", "prod", nil); !api.IsNotFound(err) {
		t.Fatalf("deleted group: %v", err)
	}
}

// TestEventsFromAnyNode subscribes to the change feed on a follower, filtered to one app, and
// sees changes made through the leader, and nothing else.
func TestEventsFromAnyNode(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan api.Event, 64)
	go func() {
		_ = c.Client(c.Follower()).Events(ctx, []string{"app"}, "wanted", func(e api.Event) error {
			got <- e
			return nil
		})
	}()
	leader := c.Client(c.WaitLeader())
	deadline := time.After(20 * time.Second)
	// The stream starts at the next change: change things until the subscription reports one.
	for i := 0; ; i++ {
		_, _ = leader.AppCreate(ctx, api.AppCreateRequest{Name: fmt.Sprintf("other-%d", i)})
		_, _ = leader.AppCreate(ctx, api.AppCreateRequest{Name: "wanted"})
		_ = leader.AppDelete(ctx, "wanted")
		select {
		case e := <-got:
			if e.Kind != "app" || e.Resource != "wanted" || (e.Op != "create" && e.Op != "delete") || e.Index == 0 {
				t.Fatalf("event %+v", e)
			}
			return
		case <-deadline:
			t.Fatal("no event for the watched app")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
