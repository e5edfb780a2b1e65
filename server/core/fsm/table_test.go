package fsm_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/state"
)

type tablePayload struct {
	Key string `json:"key"`
}

var (
	cmdTablePut   = command.Define[tablePayload](60201, "tabletest.put", 1)
	bucketTableKV = []byte("tabletest/kv")
)

// newTableFSM is an FSM whose only service command writes its key, and whose check refuses the
// key "vetoed".
func newTableFSM(t *testing.T) (*fsm.FSM, *[]string) {
	t.Helper()
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), bucketTableKV)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	tbl := fsm.NewTable()
	var calls []string
	fsm.On(tbl, cmdTablePut, func(tx *state.Tx, _ uint64, _ *command.Command, p tablePayload) (any, error) {
		calls = append(calls, "apply "+p.Key)
		return nil, state.Put(tx, bucketTableKV, p.Key, p)
	})
	fsm.Before(tbl, cmdTablePut, func(_ *state.Tx, _ *command.Command, p tablePayload) error {
		calls = append(calls, "check "+p.Key)
		if p.Key == "vetoed" {
			return fault.New(fault.Conflict, "key %s is vetoed", p.Key)
		}
		return nil
	})
	return fsm.New(s, tbl, slog.New(slog.NewTextHandler(io.Discard, nil))), &calls
}

func TestTypedHandlerGetsItsDecodedPayload(t *testing.T) {
	f, calls := newTableFSM(t)
	if res := result(t, f.Apply(entry(t, 1, cmdTablePut.Type(), "", tablePayload{Key: "a"}))); res.Err() != nil {
		t.Fatal(res.Err())
	}
	if strings.Join(*calls, ",") != "check a,apply a" {
		t.Fatalf("calls %v, want the check before the handler", *calls)
	}
	// A payload with a field the type does not have is refused before the handler runs.
	c := &command.Command{Type: cmdTablePut.Type(), Version: 1, Payload: []byte(`{"key":"b","extra":1}`)}
	if res := result(t, f.Apply(logOf(t, 2, c))); res.Err() == nil || !strings.Contains(res.Message, "extra") {
		t.Fatalf("a payload with an unknown field: %+v", res)
	}
	if strings.Contains(strings.Join(*calls, ","), "apply b") {
		t.Fatal("the handler ran on a payload that does not decode")
	}
}

func TestCheckRefusesWithNothingWritten(t *testing.T) {
	f, calls := newTableFSM(t)
	res := result(t, f.Apply(entry(t, 1, cmdTablePut.Type(), "", tablePayload{Key: "vetoed"})))
	if res.Code != string(fault.Conflict) || !strings.Contains(res.Message, "vetoed") {
		t.Fatalf("result %+v, want the check's conflict", res)
	}
	if strings.Join(*calls, ",") != "check vetoed" {
		t.Fatalf("calls %v: the handler ran after its check refused", *calls)
	}
	_ = f.Store().View(func(tx *state.Tx) error {
		if _, ok, _ := state.Get[tablePayload](tx, bucketTableKV, "vetoed"); ok {
			t.Fatal("a refused command wrote its record")
		}
		return nil
	})
}

func TestTableRefusesTwoHandlers(t *testing.T) {
	tbl := fsm.NewTable()
	fsm.On(tbl, cmdTablePut, func(*state.Tx, uint64, *command.Command, tablePayload) (any, error) { return nil, nil })
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "two handlers") {
			t.Fatalf("panic %v, want two handlers refused", p)
		}
	}()
	fsm.On(tbl, cmdTablePut, func(*state.Tx, uint64, *command.Command, tablePayload) (any, error) { return nil, nil })
}
