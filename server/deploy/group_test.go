package deploy

import (
	"context"
	"reflect"
	"testing"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/module"
)

// applyingCluster is fsmCluster that applies what the service proposes as the next entry.
type applyingCluster struct{ fsmCluster }

func (c applyingCluster) Apply(_ context.Context, cmd *command.Command) (command.Result, error) {
	return c.tf.apply(cmd, nil), nil
}

// groupService is the groups' API over a test FSM with app web and host host-1.
func groupService(t *testing.T) (*Groups, *testFSM) {
	t.Helper()
	f := newFSM(t)
	f.setUp()
	return &Groups{core: &module.Core{Cluster: applyingCluster{fsmCluster{f}}, State: f.f.Store(), Now: func() time.Time { return testTime }}}, f
}

func TestGroupUpdateKeepsWhatItIsNotGiven(t *testing.T) {
	s, _ := groupService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "web", pub.GroupRequest{Name: "g", Tags: map[string]string{"env": "dev"}, Hosts: []string{"dev-1"},
		Config: "HalfAtATime", AutoRollback: RollbackOnFailure}); err != nil {
		t.Fatal(err)
	}
	hosts := []string{"dev-3"}
	g, err := s.Update(ctx, "web", "g", pub.GroupUpdateRequest{Hosts: &hosts})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Hosts, hosts) || !reflect.DeepEqual(g.Tags, map[string]string{"env": "dev"}) || g.Config != "HalfAtATime" || g.AutoRollback != RollbackOnFailure {
		t.Fatalf("after a hosts-only update: %+v", g)
	}
	// Given fields replace; an empty one clears.
	none, cfg := []string{}, "AllAtOnce"
	g, err = s.Update(ctx, "web", "g", pub.GroupUpdateRequest{Hosts: &none, Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Hosts) != 0 || g.Config != "AllAtOnce" || g.Tags["env"] != "dev" || g.AutoRollback != RollbackOnFailure {
		t.Fatalf("after clearing hosts: %+v", g)
	}
	// Clearing both filters is refused: a group needs one.
	noTags := map[string]string{}
	if _, err := s.Update(ctx, "web", "g", pub.GroupUpdateRequest{Tags: &noTags}); err == nil {
		t.Fatal("a group left with neither tags nor hosts was accepted")
	}
	if _, err := s.Update(ctx, "web", "missing", pub.GroupUpdateRequest{Hosts: &hosts}); err == nil {
		t.Fatal("an update of a missing group succeeded")
	}
}

// TestDeploymentTakesAnAWSConfigName: deploy create --config CodeDeployDefault.AllAtOnce runs
// with the built-in AllAtOnce.
func TestDeploymentTakesAnAWSConfigName(t *testing.T) {
	s, f := groupService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, "web", pub.GroupRequest{Name: "g", Hosts: []string{"host-1"}}); err != nil {
		t.Fatal(err)
	}
	d, err := Deployments{core: s.core}.Create(ctx, pub.DeploymentCreateRequest{App: "web", Revision: "r1", Group: "g", Config: "CodeDeployDefault.AllAtOnce"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Config != "AllAtOnce" {
		t.Fatalf("deployment config %q, want AllAtOnce", d.Config)
	}
	if rec := f.deployment(d.ID); rec.Rollout == nil || rec.Rollout.Config.Name != "AllAtOnce" {
		t.Fatalf("stored rollout %+v", rec.Rollout)
	}
}
