package build

import (
	"context"
	"testing"

	"github.com/slipwayhq/slipway/server/core/command"
)

// laggingCluster is a follower that has not yet applied the commands in pending (acknowledged
// through another server); its read barrier applies them, as a follower catches up to the
// leader's commit index before a linearizable read.
type laggingCluster struct {
	*fsmCluster
	pending []*command.Command
}

func (c *laggingCluster) ConsistentRead(ctx context.Context) error {
	for _, cmd := range c.pending {
		if _, err := c.Apply(ctx, cmd); err != nil {
			return err
		}
	}
	c.pending = nil
	return nil
}

// TestProjectGetReadsItsWrites: a project created through another server and not applied on this
// one yet is found by Get (the read waits for a barrier when it finds nothing), so a pipeline
// naming it is not refused; an unknown project is still not found.
func TestProjectGetReadsItsWrites(t *testing.T) {
	m, _ := newService(t)
	lag := &laggingCluster{fsmCluster: m.core.Cluster.(*fsmCluster)}
	m.core.Cluster = lag
	create, err := cmdProjectCreate.New("", t0, ProjectCreatePayload{Settings: repoProject("web"), Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	lag.pending = append(lag.pending, create)
	ctx := context.Background()
	if p, err := m.Projects().Get(ctx, "web"); err != nil || p.Name != "web" {
		t.Fatalf("a project created through another server: %+v, %v; want it found", p, err)
	}
	if _, err := m.Projects().Get(ctx, "nope"); err == nil {
		t.Fatal("an unknown project was found")
	}
}
