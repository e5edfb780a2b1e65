package module_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/module"
)

// barrierCluster is a follower whose read barrier runs catchUp (the writes it had not applied)
// or fails with err.
type barrierCluster struct {
	catchUp  func()
	err      error
	barriers int
}

func (c *barrierCluster) Apply(context.Context, *command.Command) (command.Result, error) {
	return command.Result{}, errors.New("nothing is proposed here")
}
func (c *barrierCluster) ID() string                                { return "s1" }
func (c *barrierCluster) IsLeader() bool                            { return false }
func (c *barrierCluster) AppliedIndex() uint64                      { return 0 }
func (c *barrierCluster) WaitApplied(context.Context, uint64) error { return nil }
func (c *barrierCluster) ConsistentRead(context.Context) error {
	c.barriers++
	if c.err != nil {
		return c.err
	}
	if c.catchUp != nil {
		c.catchUp()
	}
	return nil
}

// TestReadYourWrites: a read that finds nothing waits for a read barrier and reads again, so a
// write acknowledged through another server and not applied here yet is found; a read that
// finds, or fails otherwise, costs no barrier; a name still unknown after the barrier is not
// found; a failed barrier leaves the first answer.
func TestReadYourWrites(t *testing.T) {
	ctx := context.Background()
	applied := false
	read := func() error {
		if !applied {
			return fault.New(fault.NotFound, "project web not found")
		}
		return nil
	}
	c := &barrierCluster{catchUp: func() { applied = true }}
	core := &module.Core{Cluster: c}
	if err := core.ReadYourWrites(ctx, read); err != nil || c.barriers != 1 {
		t.Fatalf("a write not applied here yet: %v after %d barriers; want found after one", err, c.barriers)
	}
	if err := core.ReadYourWrites(ctx, read); err != nil || c.barriers != 1 {
		t.Fatalf("a found read: %v, %d barriers in all; want no second barrier", err, c.barriers)
	}
	invalid := func() error { return fault.New(fault.Invalid, "bad name") }
	if err := core.ReadYourWrites(ctx, invalid); fault.CodeOf(err) != fault.Invalid || c.barriers != 1 {
		t.Fatalf("an invalid name: %v, %d barriers; want Invalid, no barrier", err, c.barriers)
	}

	c = &barrierCluster{}
	core.Cluster = c
	missing := func() error { return fault.New(fault.NotFound, "project nope not found") }
	if err := core.ReadYourWrites(ctx, missing); fault.CodeOf(err) != fault.NotFound || c.barriers != 1 {
		t.Fatalf("an unknown name: %v after %d barriers; want NotFound after one", err, c.barriers)
	}
	c.err = fault.New(fault.Unavailable, "no leader")
	if err := core.ReadYourWrites(ctx, missing); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("a failed barrier: %v; want the read's NotFound", err)
	}
}
