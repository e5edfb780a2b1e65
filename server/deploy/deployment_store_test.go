package deploy

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/pkg/agentproto"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/deploy/rollout"
)

// rawRecord is a deployment's record as stored in the deployments bucket.
func (tf *testFSM) rawRecord(id string) []byte {
	tf.t.Helper()
	var out []byte
	_ = tf.f.Store().View(func(tx *state.Tx) error {
		out = bytes.Clone(tx.Bucket(bucketDeployments).Get([]byte(id)))
		return nil
	})
	if out == nil {
		tf.t.Fatalf("no record of %s", id)
	}
	return out
}

// checkTally fails unless a layout 2 deployment's tally counts its targets as they are.
func (tf *testFSM) checkTally(id string) {
	tf.t.Helper()
	var h Deployment
	if err := json.Unmarshal(tf.rawRecord(id), &h); err != nil {
		tf.t.Fatal(err)
	}
	d := tf.deployment(id)
	states := map[string]rollout.HostState{}
	hosts := []rollout.Host{}
	for id, tg := range d.Targets {
		states[id] = hostState(tg.Status)
		hosts = append(hosts, rollout.Host{ID: id, Health: tg.Health})
	}
	if want := rollout.CountsOf(hosts, states); h.Layout != layoutSplit || h.Tally == nil || *h.Tally != want {
		tf.t.Fatalf("%s: layout %d, tally %+v, want %+v", id, h.Layout, h.Tally, want)
	}
}

// TestReportCostIsFlat: the record a host's report rewrites (the deployment's header) is the
// same size whatever the fleet's: the hosts' parts are under keys of their own.
func TestReportCostIsFlat(t *testing.T) {
	size := map[int]int{}
	for _, n := range []int{2, 40} {
		f := groupFSM(t, n, RollbackOff)
		f.create("d1", "r2", rollout.AllAtOnce)
		f.report("d1", "h1", 1, "ApplicationStop", agentproto.StatusStarted)
		f.checkTally("d1")
		size[n] = len(f.rawRecord("d1"))
	}
	if d := size[40] - size[2]; d < -4 || d > 4 {
		t.Fatalf("a deployment's record is %d bytes for 2 hosts and %d for 40: it grows with the fleet", size[2], size[40])
	}
}

// TestOldLayoutKeepsWorking: a deployment stored by the previous release (the whole record,
// targets and rollout hosts inside), restored from a snapshot, reads the same through the API
// and runs to the same end as one stored by this release; the first entry that touches it
// stores it in this release's layout.
func TestOldLayoutKeepsWorking(t *testing.T) {
	fresh := groupFSM(t, 5, RollbackOnFailure)
	old := groupFSM(t, 5, RollbackOnFailure)
	fresh.create("d1", "r2", rollout.HalfAtATime)
	old.create("d1", "r2", rollout.HalfAtATime)

	// Store d1 as the previous release did, then carry the state over in a snapshot.
	whole := old.deployment("d1")
	whole.Layout, whole.Tally, whole.Cursor = 0, nil, 0
	for _, tg := range whole.Targets {
		tg.Health = ""
	}
	err := old.f.Store().Update(func(tx *state.Tx) error {
		for _, b := range [][]byte{bucketTargets, bucketOrder} {
			var keys [][]byte
			_ = tx.Bucket(b).ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
			for _, k := range keys {
				if err := tx.Bucket(b).Delete(k); err != nil {
					return err
				}
			}
		}
		return state.Put(tx, bucketDeployments, "d1", whole)
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(old.rawRecord("d1"), []byte(`"layout"`)) || !bytes.Contains(old.rawRecord("d1"), []byte(`"targets":{`)) {
		t.Fatalf("not the old layout: %s", old.rawRecord("d1"))
	}
	restored := newFSM(t)
	snap, err := old.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf snapshotBuffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	if err := restored.f.Restore(io.NopCloser(&buf.Buffer)); err != nil {
		t.Fatal(err)
	}
	restored.idx = old.idx

	same := func(step string) {
		t.Helper()
		a, b := deploymentView(fresh.deployment("d1")), deploymentView(restored.deployment("d1"))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: the old layout reads\n%+v\nthis release's\n%+v", step, b, a)
		}
	}
	same("restored")
	for round := 0; fresh.deployment("d1").EndTime == nil; round++ {
		if round > 10 {
			t.Fatal("the deployment does not end")
		}
		for id, tg := range fresh.deployment("d1").Targets {
			if tg.Status != TargetPending {
				continue
			}
			status := agentproto.StatusSucceeded
			if id == "h3" {
				status = agentproto.StatusFailed
			}
			for _, f := range []*testFSM{fresh, restored} {
				f.report("d1", id, 1, "ApplicationStop", agentproto.StatusStarted)
				f.report("d1", id, 2, agentproto.DeploymentEnd, status)
				f.checkTally("d1")
			}
			same("after host " + id)
		}
	}
	if fresh.webG().CurrentRevision != restored.webG().CurrentRevision || !reflect.DeepEqual(fresh.webG().Members, restored.webG().Members) {
		t.Fatalf("groups differ: %+v and %+v", fresh.webG(), restored.webG())
	}
	if d, m := restored.deployment("d1"), restored.webG().Members["h3"]; d.Status != DeploymentSucceeded || m.Health != "unhealthy" {
		t.Fatalf("d1 %s, h3 %+v: want succeeded with h3 unhealthy", d.Status, m)
	}
}

// snapshotBuffer is a raft.SnapshotSink in memory.
type snapshotBuffer struct{ bytes.Buffer }

var _ raft.SnapshotSink = (*snapshotBuffer)(nil)

func (*snapshotBuffer) ID() string    { return "test" }
func (*snapshotBuffer) Cancel() error { return nil }
func (*snapshotBuffer) Close() error  { return nil }
