package pipeline

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strconv"

	"github.com/slipwayhq/slipway/pipelinespec"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	bolt "go.etcd.io/bbolt"
)

// This file is how the service reads and writes its records: the engine (apply) and the Go
// API, the driver and the trigger (reads) all go through these helpers, so every key layout
// lives here once. Every helper takes a transaction; writes need the FSM's.

// Meta keys of bucketMeta.
const (
	metaCursor    = "cursor"    // the last repository event handled (8 bytes BE)
	metaPipelines = "pipelines" // how many pipelines exist (8 bytes BE)
)

// loadRecord reads pipeline name; ok is false when there is none.
func loadRecord(tx *state.Tx, name string) (Record, bool, error) {
	return state.Get[Record](tx, bucketPipelines, name)
}

// mustRecord reads pipeline name: fault.NotFound when there is none.
func mustRecord(tx *state.Tx, name string) (Record, error) {
	r, ok, err := loadRecord(tx, name)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "pipeline %s does not exist", state.Shorten(name))
	}
	return r, err
}

// putRecord writes r under its name.
func putRecord(tx *state.Tx, r Record) error { return state.Put(tx, bucketPipelines, r.Name, r) }

// listRecords answers up to limit pipelines in name order after the name after, and the name
// to continue after ("" at the end).
func listRecords(tx *state.Tx, after string, limit int) ([]Record, string, error) {
	return state.List[Record](tx, bucketPipelines, after, limit, nil)
}

// loadExecution reads execution id; ok is false when there is none.
func loadExecution(tx *state.Tx, id string) (Execution, bool, error) {
	return state.Get[Execution](tx, bucketExecutions, id)
}

// mustExecution reads execution id: fault.NotFound when there is none.
func mustExecution(tx *state.Tx, id string) (Execution, error) {
	e, ok, err := loadExecution(tx, id)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "pipeline execution %s does not exist", state.Shorten(id))
	}
	return e, err
}

// pipelineExecution reads execution id of pipeline name: fault.NotFound when there is none or
// it is another pipeline's (the Go API's lookup by the route's name and ID).
func pipelineExecution(tx *state.Tx, name, id string) (Execution, error) {
	e, ok, err := loadExecution(tx, id)
	if err == nil && (!ok || e.Pipeline != name) {
		err = fault.New(fault.NotFound, "pipeline %s has no execution %s", state.Shorten(name), state.Shorten(id))
	}
	return e, err
}

// putExecution writes e under its ID and keeps pipeline/active in step with its status: an
// execution InProgress or Stopping is listed there, any other is not.
func putExecution(tx *state.Tx, e Execution) error {
	if err := state.Put(tx, bucketExecutions, e.ID, e); err != nil {
		return err
	}
	if running(e.Status) {
		return tx.Bucket(bucketActive).Put([]byte(e.ID), []byte{})
	}
	return tx.Bucket(bucketActive).Delete([]byte(e.ID))
}

// running reports whether an execution of status s is not over (InProgress or Stopping).
func running(s string) bool { return s == pub.PipelineInProgress || s == pub.PipelineStopping }

// activeExecutions answers every execution in progress or stopping (pipeline/active), in ID
// order: the driver's scan. An entry whose record is gone is skipped.
func activeExecutions(tx *state.Tx) ([]Execution, error) {
	var out []Execution
	c := tx.Bucket(bucketActive).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		e, ok, err := loadExecution(tx, string(k))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// historyPrefix is the pipeline/history (and pipeline/versions) key prefix of pipeline name.
func historyPrefix(name string) []byte { return append([]byte(name), 0) }

// historyKey is the pipeline/history key of an execution of pipeline name started at index.
func historyKey(name string, startIndex uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(name), startIndex)
}

// putHistory lists e in its pipeline's history (by its start index).
func putHistory(tx *state.Tx, e Execution) error {
	return tx.Bucket(bucketHistory).Put(historyKey(e.Pipeline, e.StartIndex), []byte(e.ID))
}

// historyPage answers up to limit executions of pipeline name, newest first (by start), from
// the cursor after ("" for the newest; otherwise a cursor a previous page answered), and the
// cursor of the next page ("" at the end). A cursor that is not one a page answered is
// fault.Invalid.
func historyPage(tx *state.Tx, name, after string, limit int) ([]Execution, string, error) {
	var before uint64
	if after != "" {
		var err error
		if before, err = strconv.ParseUint(after, 10, 64); err != nil || before == 0 {
			return nil, "", fault.New(fault.Invalid, "the next cursor %q is not one a list answered: start again without it", state.Shorten(after))
		}
	}
	if limit <= 0 {
		limit = 100
	}
	prefix := historyPrefix(name)
	c := tx.Bucket(bucketHistory).Cursor()
	var k, v []byte
	if before == 0 {
		k, v = seekLast(c, prefix)
	} else {
		if k, _ = c.Seek(historyKey(name, before)); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	var out []Execution
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Prev() {
		if len(out) == limit {
			return out, strconv.FormatUint(binary.BigEndian.Uint64(k[len(prefix):])+1, 10), nil
		}
		e, ok, err := loadExecution(tx, string(v))
		if err != nil {
			return nil, "", err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, "", nil
}

// seekLast positions c on the last key with prefix (or on a key before it, which the caller's
// prefix check stops at).
func seekLast(c *bolt.Cursor, prefix []byte) ([]byte, []byte) {
	end := append(append([]byte(nil), prefix[:len(prefix)-1]...), 1) // name | 1: past every name | 0 | ...
	if k, _ := c.Seek(end); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// historyIDs answers the IDs of pipeline name's executions, oldest first (retention, delete).
func historyIDs(tx *state.Tx, name string) []historyEntry {
	prefix := historyPrefix(name)
	var out []historyEntry
	c := tx.Bucket(bucketHistory).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) == len(prefix)+8 {
			out = append(out, historyEntry{Key: append([]byte(nil), k...), ID: string(v)})
		}
	}
	return out
}

// historyEntry is one pipeline/history entry.
type historyEntry struct {
	Key []byte
	ID  string
}

// latestExecution answers pipeline name's newest execution (ok false when it never ran).
func latestExecution(tx *state.Tx, name string) (Execution, bool, error) {
	l, _, err := historyPage(tx, name, "", 1)
	if err != nil || len(l) == 0 {
		return Execution{}, false, err
	}
	return l[0], true, nil
}

// versionKey is the pipeline/versions key of pipeline name's version v.
func versionKey(name string, v int) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(name), uint64(v))
}

// versionSpec reads the definition of pipeline name's version v; ok is false when it is not
// kept (never existed, or pruned: see keepVersions).
func versionSpec(tx *state.Tx, name string, v int) (pipelinespec.Pipeline, bool, error) {
	return state.Get[pipelinespec.Pipeline](tx, bucketVersions, string(versionKey(name, v)))
}

// putVersion stores spec as pipeline name's version v.
func putVersion(tx *state.Tx, name string, v int, spec pipelinespec.Pipeline) error {
	return state.Put(tx, bucketVersions, string(versionKey(name, v)), spec)
}

// versionNumbers answers the kept versions of pipeline name, oldest first.
func versionNumbers(tx *state.Tx, name string) []int {
	prefix := historyPrefix(name)
	var out []int
	c := tx.Bucket(bucketVersions).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			out = append(out, int(binary.BigEndian.Uint64(k[len(prefix):])))
		}
	}
	return out
}

// Abandoned is an action a stop abandoned whose work the driver must still stop
// (pipeline/abandoned): it calls the provider's Stop, then proposes pipeline.action_result
// with status Abandoned for Attempt, whose apply deletes the entry.
type Abandoned struct {
	ExecutionID string
	Stage       string
	Action      string
	Attempt     int
}

// abandonedKey is the pipeline/abandoned key of an action: "execution/stage/action".
func abandonedKey(execution, stage, action string) []byte {
	return []byte(execution + "/" + stage + "/" + action)
}

// abandonedEntries answers every pipeline/abandoned entry, in key order. Stage and action
// names cannot hold "/" (pipelinespec's names), so the key splits back unambiguously from
// the right; the execution ID is a UUID.
func abandonedEntries(tx *state.Tx) ([]Abandoned, error) {
	var out []Abandoned
	c := tx.Bucket(bucketAbandoned).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		parts := bytes.Split(k, []byte("/"))
		if len(parts) < 3 {
			continue
		}
		n := len(parts)
		var attempt int
		if err := json.Unmarshal(v, &attempt); err != nil {
			return nil, err
		}
		out = append(out, Abandoned{
			ExecutionID: string(bytes.Join(parts[:n-2], []byte("/"))),
			Stage:       string(parts[n-2]),
			Action:      string(parts[n-1]),
			Attempt:     attempt,
		})
	}
	return out, nil
}

// putAbandoned lists an abandoned action's run for the driver.
func putAbandoned(tx *state.Tx, a Abandoned) error {
	return state.Put(tx, bucketAbandoned, string(abandonedKey(a.ExecutionID, a.Stage, a.Action)), a.Attempt)
}

// deleteAbandoned forgets an abandoned action's entry (nothing when there is none).
func deleteAbandoned(tx *state.Tx, execution, stage, action string) error {
	return tx.Bucket(bucketAbandoned).Delete(abandonedKey(execution, stage, action))
}

// cursor answers the last repository event the trigger handled (0: none yet).
func cursor(tx *state.Tx) uint64 { return metaUint(tx, metaCursor) }

// putCursor moves the event cursor to seq.
func putCursor(tx *state.Tx, seq uint64) error { return putMetaUint(tx, metaCursor, seq) }

func metaUint(tx *state.Tx, key string) uint64 {
	if v := tx.Bucket(bucketMeta).Get([]byte(key)); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putMetaUint(tx *state.Tx, key string, n uint64) error {
	return tx.Bucket(bucketMeta).Put([]byte(key), binary.BigEndian.AppendUint64(nil, n))
}

// pipelineCount answers how many pipelines exist.
func pipelineCount(tx *state.Tx) int { return int(metaUint(tx, metaPipelines)) }

// view is an execution as the API shows it.
func view(e Execution) pub.PipelineExecution {
	v := e.PipelineExecution
	if v.Stages == nil {
		v.Stages = []pub.StageExecution{}
	}
	for i := range v.Stages {
		if v.Stages[i].Actions == nil {
			v.Stages[i].Actions = []pub.ActionExecution{}
		}
	}
	return v
}

// recordView is a pipeline as the API shows it: its definition as AWS's JSON.
func recordView(r Record) pub.Pipeline {
	def, err := json.Marshal(r.Spec)
	if err != nil { // a decoded Spec always encodes
		def = []byte("{}")
	}
	mode := r.Spec.ExecutionMode
	if mode == "" {
		mode = pub.ModeSuperseded
	}
	return pub.Pipeline{
		Name: r.Name, Version: r.Version, ExecutionMode: mode, Definition: def, Warnings: r.Warnings,
		Transitions: r.Transitions, Webhook: r.Webhook != nil, CreatedBy: r.CreatedBy,
		CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex, CreateTime: r.CreateTime, ModifyTime: r.ModifyTime,
	}
}

// summaryView is a pipeline in a list, with its newest execution (latest, ok false: none).
func summaryView(r Record, latest Execution, ok bool) pub.PipelineSummary {
	s := pub.PipelineSummary{Name: r.Name, Version: r.Version, ExecutionMode: recordView(r).ExecutionMode, CreateTime: r.CreateTime, ModifyTime: r.ModifyTime}
	if ok {
		s.LatestStatus, s.LatestExecution = latest.Status, latest.ID
	}
	return s
}
