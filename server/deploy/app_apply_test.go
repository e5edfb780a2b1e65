package deploy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

func TestAppUpdateCheckAndSet(t *testing.T) {
	f := newAppFSM(t)
	result(t, f.Apply(entry(t, 1, CmdAppCreate.Type(), "", AppCreatePayload{Name: "web"})))

	ok := result(t, f.Apply(entry(t, 2, CmdAppUpdate.Type(), "", AppUpdatePayload{Name: "web", Description: "v2", CAS: 1})))
	var a App
	if ok.Code != "" || json.Unmarshal(ok.Data, &a) != nil || a.Description != "v2" || a.ModifyIndex != 2 || a.CreateIndex != 1 {
		t.Fatalf("update with the current index: %+v (%+v), want description v2 at modify index 2", ok, a)
	}
	// The same precondition again is stale now: refused, and nothing changes.
	stale := result(t, f.Apply(entry(t, 3, CmdAppUpdate.Type(), "", AppUpdatePayload{Name: "web", Description: "lost", CAS: 1})))
	if stale.Code != string(fault.Conflict) || !strings.Contains(stale.Message, "modified at index 2") {
		t.Fatalf("update with a stale index: %+v, want a conflict naming index 2", stale)
	}
	// Without a precondition the update always applies.
	blind := result(t, f.Apply(entry(t, 4, CmdAppUpdate.Type(), "", AppUpdatePayload{Name: "web", Description: "v3"})))
	if blind.Code != "" {
		t.Fatalf("unconditional update: %+v", blind)
	}
	missing := result(t, f.Apply(entry(t, 5, CmdAppUpdate.Type(), "", AppUpdatePayload{Name: "nope", Description: "x", CAS: 1})))
	if missing.Code != string(fault.NotFound) {
		t.Fatalf("update of a missing app: %+v, want not_found", missing)
	}
	if err := f.Store().View(func(tx *state.Tx) error {
		got, err := getApp(tx, "web")
		if err == nil && (got.Description != "v3" || got.ModifyIndex != 4) {
			err = fmt.Errorf("stored %+v, want description v3 at modify index 4", got)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestBatchedWritesGetDistinctIndexes: commands that share one Raft entry (a batch) must still
// leave distinct, increasing modify indexes, or a check-and-set on the index the first write
// answered would also match the second write's version and overwrite it. This was found by the
// test bed's linearizability check: two updates batched at one Raft index both answered @23.
func TestBatchedWritesGetDistinctIndexes(t *testing.T) {
	f := newAppFSM(t)
	result(t, f.Apply(entry(t, 1, CmdAppCreate.Type(), "", AppCreatePayload{Name: "web"})))
	var parts [][]byte
	for _, p := range []AppUpdatePayload{{Name: "web", Description: "first", CAS: 1}, {Name: "web", Description: "second"}} {
		c, _ := command.New(CmdAppUpdate.Type(), "", time.Unix(1, 0), p)
		b, _ := command.Encode(c)
		parts = append(parts, b)
	}
	data, err := command.EncodeBatch(parts)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: data}).([]command.Result)
	if !ok || len(res) != 2 || res[0].Code != "" || res[1].Code != "" {
		t.Fatalf("batch results %+v", res)
	}
	var first, second App
	_ = json.Unmarshal(res[0].Data, &first)
	_ = json.Unmarshal(res[1].Data, &second)
	if first.ModifyIndex < 2 || second.ModifyIndex <= first.ModifyIndex {
		t.Fatalf("modify indexes %d then %d in one batch at Raft index 2: want distinct and increasing", first.ModifyIndex, second.ModifyIndex)
	}
	// A check-and-set on the first update's index is stale: the second update came after it.
	stale := result(t, f.Apply(entry(t, 3, CmdAppUpdate.Type(), "", AppUpdatePayload{Name: "web", Description: "third", CAS: first.ModifyIndex})))
	if stale.Code != string(fault.Conflict) {
		t.Fatalf("check-and-set on the first batched update's index: %+v, want a conflict", stale)
	}
	// The next entry's command gets an index above all of them, and not below its Raft index.
	next := result(t, f.Apply(entry(t, 4, CmdAppUpdate.Type(), "", AppUpdatePayload{Name: "web", Description: "fourth", CAS: second.ModifyIndex})))
	var fourth App
	if next.Code != "" || json.Unmarshal(next.Data, &fourth) != nil || fourth.ModifyIndex <= second.ModifyIndex || fourth.ModifyIndex < 4 {
		t.Fatalf("after the batch: %+v (%+v)", next, fourth)
	}
}
