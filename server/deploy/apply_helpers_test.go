package deploy

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
)

// newAppFSM is the FSM of newFSM (the core's commands and this service's), for tests that
// place their entries at chosen indexes.
func newAppFSM(t *testing.T) *fsm.FSM { return newFSM(t).f }

// entry is the Raft log entry at index of a command of type typ.
func entry(t *testing.T, index uint64, typ command.Type, rid string, p any) *raft.Log {
	t.Helper()
	c, err := command.New(typ, rid, time.Unix(1700000000, 0), p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := command.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: b}
}

// result is the answer of applying one entry.
func result(t *testing.T, v any) command.Result {
	t.Helper()
	r, ok := v.(command.Result)
	if !ok {
		t.Fatalf("response %T, want command.Result", v)
	}
	return r
}
