//go:build testbed

package testbed

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

// TestAppModel checks the linearizability model on small histories whose answer is known, so
// that the check in TestLinearizableUnderFaults can fail: each illegal history is a broken
// guarantee (a stale read, a lost acknowledged update, two winners of one precondition, a double
// create) and must be refused.
func TestAppModel(t *testing.T) {
	type o struct {
		in        linOp
		out       linResult
		call, ret int64
	}
	create := func(v string) linOp { return linOp{Kind: "create", Key: "k", Value: v} }
	upd := func(v string, cas uint64) linOp { return linOp{Kind: "update", Key: "k", Value: v, CAS: cas} }
	read := linOp{Kind: "read", Key: "k"}
	ok := func(v string, idx uint64) linResult { return linResult{OK: true, Value: v, Index: idx} }
	tests := []struct {
		name  string
		ops   []o
		legal bool
	}{
		{"sequential create, update, read", []o{
			{create("a"), ok("a", 5), 0, 1},
			{upd("b", 5), ok("b", 7), 2, 3},
			{read, ok("b", 7), 4, 5},
		}, true},
		{"stale read after an acknowledged update", []o{
			{create("a"), ok("a", 5), 0, 1},
			{upd("b", 5), ok("b", 7), 2, 3},
			{read, ok("a", 5), 4, 5},
		}, false},
		{"acknowledged update lost", []o{
			{create("a"), ok("a", 5), 0, 1},
			{upd("b", 0), ok("b", 7), 2, 3},
			{read, linResult{NotFound: true}, 4, 5},
		}, false},
		{"two updates win with the same precondition", []o{
			{create("a"), ok("a", 5), 0, 1},
			{upd("b", 5), ok("b", 7), 2, 3},
			{upd("c", 5), ok("c", 8), 4, 5},
		}, false},
		{"concurrent updates with one precondition: one wins, one conflicts", []o{
			{create("a"), ok("a", 5), 0, 1},
			{upd("b", 5), ok("b", 7), 2, 6},
			{upd("c", 5), linResult{Conflict: true}, 3, 5},
			{read, ok("b", 7), 7, 8},
		}, true},
		{"created twice", []o{
			{create("a"), ok("a", 5), 0, 1},
			{create("b"), ok("b", 6), 2, 3},
		}, false},
		{"conflict on a create of a missing name", []o{
			{create("a"), linResult{Conflict: true}, 0, 1},
		}, false},
		{"a create of unknown outcome shows up later", []o{
			{create("a"), linResult{Unknown: true}, 0, 100},
			{read, ok("a", 5), 2, 3},
			{upd("b", 5), ok("b", 9), 4, 5},
		}, true},
		{"a create of unknown outcome never applied", []o{
			{create("a"), linResult{Unknown: true}, 0, 100},
			{read, linResult{NotFound: true}, 2, 3},
		}, true},
		{"an update of unknown outcome may or may not match an unknown index", []o{
			{create("a"), linResult{Unknown: true}, 0, 100},
			{upd("b", 4), linResult{Unknown: true}, 1, 100},
			{read, ok("a", 5), 2, 3},
		}, true},
		{"a read of a value nobody wrote", []o{
			{create("a"), ok("a", 5), 0, 1},
			{read, ok("z", 5), 2, 3},
		}, false},
	}
	model := appModel.ToModel()
	for _, tc := range tests {
		var h []porcupine.Operation
		for i, op := range tc.ops {
			h = append(h, porcupine.Operation{ClientId: i, Input: op.in, Output: op.out, Call: op.call, Return: op.ret})
		}
		if got := porcupine.CheckOperations(model, h); got != tc.legal {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.legal)
		}
	}
}
