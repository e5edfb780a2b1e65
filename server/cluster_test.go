package server_test

import (
	"context"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	"github.com/slipwayhq/slipway/pkg/api"
)

func TestSingleNodeAppLifecycle(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	app, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web", Description: "front end"})
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "web" || app.CreateIndex == 0 {
		t.Fatalf("created app = %+v", app)
	}
	if _, err := cl.AppCreate(ctx, api.AppCreateRequest{Name: "web"}); !api.IsConflict(err) {
		t.Fatalf("duplicate create: want conflict, got %v", err)
	}
	got, err := cl.AppGet(ctx, "web", nil)
	if err != nil || got.Description != "front end" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if err := cl.AppDelete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := cl.AppDelete(ctx, "web"); !api.IsNotFound(err) {
		t.Fatalf("delete missing: want not found, got %v", err)
	}
}

func TestWritesThroughFollower(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	f := c.Follower()
	if _, err := c.Client(f).AppCreate(ctx, api.AppCreateRequest{Name: "via-follower"}); err != nil {
		t.Fatal(err)
	}
	for _, i := range c.Running() {
		if _, err := c.Client(i).AppGet(ctx, "via-follower", &api.QueryOptions{Consistent: true}); err != nil {
			t.Fatalf("node %d consistent read: %v", i, err)
		}
	}
}
