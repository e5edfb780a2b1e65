package deploy

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
)

// newAppFSM is a state machine with the core's commands and this service's, as a server registers
// them.
func newAppFSM(t *testing.T) *fsm.FSM {
	t.Helper()
	table := fsm.NewTable()
	reg := module.NewRegistry(table)
	reg.Add(&module.Core{}, New())
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return fsm.New(s, table, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

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
