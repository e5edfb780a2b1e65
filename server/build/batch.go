package build

import (
	"bytes"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Batch builds (CodeBuild's StartBuildBatch; DESIGN.md "Batch builds"): a batch is a record of
// its tasks, each a child build of the same project started with the batch. Children whose
// dependencies have not ended are recorded QUEUED but Waiting (not in build/queue); every path
// that ends a build calls finished, which advances the build's batch in the same apply.
var (
	bucketBatches          = []byte("build/batches")            // batch ID → Batch
	bucketBatchesByProject = []byte("build/batches-by-project") // project name, 0, start index (8 bytes BE) → batch ID
	bucketBatchHistory     = []byte("build/batch-history")      // start index (8 bytes BE) → batch ID, every batch
)

// KeepBatchesPerProject is how many batch records a project keeps: a batch start deletes the
// oldest ended ones past it (their builds follow the builds' retention).
const KeepBatchesPerProject = 100

// Batch is a batch build's record. Status is IN_PROGRESS until every task ended, then SUCCEEDED
// (every task SUCCEEDED or failed with ignore-failure), STOPPED (a stop was requested) or
// FAILED.
type Batch struct {
	ID                    string      `json:"id"`
	Project               string      `json:"project"`
	Status                string      `json:"status"`
	Initiator             string      `json:"initiator"`
	SourceVersion         string      `json:"source_version,omitempty"`
	ResolvedSourceVersion string      `json:"resolved_source_version,omitempty"`
	Kind                  string      `json:"kind"`
	FastFail              bool        `json:"fast_fail,omitempty"`
	StopRequested         bool        `json:"stop_requested,omitempty"` // a stop of the batch
	FastFailed            bool        `json:"fast_failed,omitempty"`    // a task failed under fast-fail
	Tasks                 []BatchTask `json:"tasks"`
	Start                 time.Time   `json:"start_time"`
	End                   *time.Time  `json:"end_time,omitempty"`
	Index                 uint64      `json:"index"`
	ModifyIndex           uint64      `json:"modify_index"`
}

// BatchTask is one build of a batch: its identifier, its build, what it waits for, and the
// status its build ended with ("" while it has not).
type BatchTask struct {
	Identifier    string   `json:"identifier"`
	BuildID       string   `json:"build_id"`
	DependOn      []string `json:"depend_on,omitempty"`
	IgnoreFailure bool     `json:"ignore_failure,omitempty"`
	Status        string   `json:"status,omitempty"`
}

// ok reports whether an ended task lets its dependents run and its batch succeed.
func (t BatchTask) ok() bool {
	return t.Status == pub.BuildSucceeded || (t.Status != "" && t.IgnoreFailure)
}

func (bt *Batch) task(identifier string) *BatchTask {
	for i := range bt.Tasks {
		if bt.Tasks[i].Identifier == identifier {
			return &bt.Tasks[i]
		}
	}
	return nil
}

func batchByProjectKey(project string, index uint64) []byte {
	return append(append([]byte(project), 0), u64(index)...)
}

func getBatch(tx *state.Tx, id string) (Batch, bool, error) {
	return state.Get[Batch](tx, bucketBatches, id)
}

func mustBatch(tx *state.Tx, id string) (Batch, error) {
	bt, ok, err := getBatch(tx, id)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "build batch %s not found", state.Shorten(id))
	}
	return bt, err
}

func insertBatch(tx *state.Tx, bt Batch) error {
	if err := state.Put(tx, bucketBatches, bt.ID, bt); err != nil {
		return err
	}
	if err := tx.Bucket(bucketBatchesByProject).Put(batchByProjectKey(bt.Project, bt.Index), []byte(bt.ID)); err != nil {
		return err
	}
	return tx.Bucket(bucketBatchHistory).Put(u64(bt.Index), []byte(bt.ID))
}

func removeBatch(tx *state.Tx, bt Batch) error {
	if err := state.Delete(tx, bucketBatches, bt.ID); err != nil {
		return err
	}
	if err := tx.Bucket(bucketBatchesByProject).Delete(batchByProjectKey(bt.Project, bt.Index)); err != nil {
		return err
	}
	return tx.Bucket(bucketBatchHistory).Delete(u64(bt.Index))
}

// projectBatches answers the IDs of a project's batches, oldest first.
func projectBatches(tx *state.Tx, project string) []string {
	prefix := append([]byte(project), 0)
	var ids []string
	cur := tx.Bucket(bucketBatchesByProject).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		ids = append(ids, string(v))
	}
	return ids
}

// retainBatches deletes the project's oldest ended batches past KeepBatchesPerProject. A project
// has at most MaxQueuedPerProject batches in progress (each has a queued build or one running),
// so the scan is bounded.
func retainBatches(tx *state.Tx, project string) error {
	ids := projectBatches(tx, project)
	excess := len(ids) - KeepBatchesPerProject
	for _, id := range ids {
		if excess <= 0 {
			break
		}
		bt, ok, err := getBatch(tx, id)
		if err != nil {
			return err
		}
		if ok && bt.Status != pub.BuildInProgress {
			if err := removeBatch(tx, bt); err != nil {
				return err
			}
			excess--
		}
	}
	return nil
}

// deleteProjectBatches deletes every batch of a project (project delete: none is in progress,
// as none of its builds is).
func deleteProjectBatches(tx *state.Tx, project string) error {
	for _, id := range projectBatches(tx, project) {
		bt, ok, err := getBatch(tx, id)
		if err != nil {
			return err
		}
		if ok {
			if err := removeBatch(tx, bt); err != nil {
				return err
			}
		}
	}
	return nil
}

// endQueuedChild ends a child build still QUEUED (waiting or in the queue) without running it:
// dequeued, recorded as finished (its log and status to settle), written. It does not advance
// the batch: its caller does.
func endQueuedChild(tx *state.Tx, b Build, index uint64, at time.Time, status, msg string) error {
	b.Waiting = false
	b.end(at, status, status, msg)
	if err := dequeue(tx, b); err != nil {
		return err
	}
	if err := tx.Bucket(bucketFinish).Put([]byte(b.ID), nil); err != nil {
		return err
	}
	b.ModifyIndex = index
	return state.Put(tx, bucketBuilds, b.ID, b)
}

// advanceBatch records that child build b ended (its caller writes b) and advances its batch in
// the same apply: with fast-fail, a failure stops the other children; dependents of a task that
// did not end ok fail without running; dependents whose dependencies all ended ok are queued;
// the batch ends once every task has.
func advanceBatch(tx *state.Tx, b Build) error {
	bt, ok, err := getBatch(tx, b.BatchID)
	if err != nil || !ok || bt.Status != pub.BuildInProgress {
		return err
	}
	t := bt.task(b.BatchIdentifier)
	if t == nil || t.Status != "" {
		return nil
	}
	index := tx.StateIndex()
	at := b.Start
	if b.End != nil {
		at = *b.End
	}
	t.Status = b.Status
	if !t.ok() && bt.FastFail && !bt.StopRequested && !bt.FastFailed {
		bt.FastFailed = true
		if err := stopChildren(tx, &bt, index, at, "stopped: build "+t.Identifier+" of the batch failed (fast-fail)"); err != nil {
			return err
		}
	}
	if err := releaseChildren(tx, &bt, index, at); err != nil {
		return err
	}
	return putBatch(tx, &bt, index, at)
}

// stopChildren stops every task not ended: queued ones end STOPPED now, running ones get
// StopRequested (their agent ends them, and finished advances the batch then).
func stopChildren(tx *state.Tx, bt *Batch, index uint64, at time.Time, msg string) error {
	for i := range bt.Tasks {
		t := &bt.Tasks[i]
		if t.Status != "" {
			continue
		}
		c, ok, err := getBuild(tx, t.BuildID)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			t.Status = pub.BuildStopped
		case c.Status == pub.BuildQueued:
			if err := endQueuedChild(tx, c, index, at, pub.BuildStopped, msg); err != nil {
				return err
			}
			t.Status = pub.BuildStopped
		case c.Status == pub.BuildInProgress && !c.StopRequested:
			c.StopRequested, c.ModifyIndex = true, index
			if err := state.Put(tx, bucketBuilds, c.ID, c); err != nil {
				return err
			}
		case c.Ended():
			t.Status = c.Status
		}
	}
	return nil
}

// releaseChildren settles the waiting tasks until nothing changes: one with a dependency that
// ended not ok fails ("dependency X failed"), which may fail its own dependents; one whose
// dependencies all ended ok enters the queue. Tasks are visited in the batch's order, so every
// server applies the same.
func releaseChildren(tx *state.Tx, bt *Batch, index uint64, at time.Time) error {
	for changed := true; changed; {
		changed = false
		for i := range bt.Tasks {
			t := &bt.Tasks[i]
			if t.Status != "" || len(t.DependOn) == 0 {
				continue
			}
			c, ok, err := getBuild(tx, t.BuildID)
			if err != nil {
				return err
			}
			if !ok || !c.Waiting {
				continue
			}
			failed, pending := "", []string(nil)
			for _, d := range t.DependOn {
				dt := bt.task(d)
				switch {
				case dt == nil:
				case dt.Status == "":
					pending = append(pending, d)
				case !dt.ok() && failed == "":
					failed = d
				}
			}
			switch {
			case failed != "":
				if err := endQueuedChild(tx, c, index, at, pub.BuildFailed, "dependency "+failed+" failed"); err != nil {
					return err
				}
				t.Status, changed = pub.BuildFailed, true
			case len(pending) == 0:
				c.Waiting, c.Released = false, &at
				c.Phases[len(c.Phases)-1].Message = ""
				c.ModifyIndex = index
				if err := tx.Bucket(bucketQueue).Put(u64(c.Index), []byte(c.ID)); err != nil {
					return err
				}
				if err := state.Put(tx, bucketBuilds, c.ID, c); err != nil {
					return err
				}
			default:
				if msg := waitingMessage(pending); c.Phases[len(c.Phases)-1].Message != msg {
					c.Phases[len(c.Phases)-1].Message, c.ModifyIndex = msg, index
					if err := state.Put(tx, bucketBuilds, c.ID, c); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func waitingMessage(deps []string) string { return "waiting for " + strings.Join(deps, ", ") }

// putBatch ends the batch once every task ended, and writes it.
func putBatch(tx *state.Tx, bt *Batch, index uint64, at time.Time) error {
	all, good := true, true
	for _, t := range bt.Tasks {
		all = all && t.Status != ""
		good = good && t.ok()
	}
	if all {
		switch {
		case good:
			bt.Status = pub.BuildSucceeded
		case bt.StopRequested:
			bt.Status = pub.BuildStopped
		default:
			bt.Status = pub.BuildFailed
		}
		bt.End = &at
	}
	bt.ModifyIndex = index
	return state.Put(tx, bucketBatches, bt.ID, *bt)
}
