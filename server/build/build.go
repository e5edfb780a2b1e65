package build

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Bounds of the queue and the retention of build records (see DESIGN.md).
const (
	MaxQueuedPerProject = 100   // builds QUEUED at once in one project
	MaxQueued           = 1000  // builds QUEUED at once in the cluster
	KeepPerProject      = 1000  // records kept per project: the oldest ended ones go first
	KeepTotal           = 50000 // records kept in the cluster, likewise
)

// The phases of a build, as CodeBuild names them, in their order.
const (
	PhaseSubmitted    = "SUBMITTED"
	PhaseQueued       = "QUEUED"
	PhaseProvisioning = "PROVISIONING"
	PhaseCompleted    = "COMPLETED"
)

// Phase is one phase of a build's record; Status is "" while it runs.
type Phase struct {
	Name    string     `json:"name"`
	Status  string     `json:"status,omitempty"`
	Start   time.Time  `json:"start_time"`
	End     *time.Time `json:"end_time,omitempty"`
	Message string     `json:"message,omitempty"`
}

// Artifact is an artifact a build kept (the workers' step fills them).
type Artifact struct {
	Identifier string `json:"identifier,omitempty"`
	Name       string `json:"name,omitempty"`
	Blob       string `json:"blob"`
	Size       int64  `json:"size"`
}

// Build is a build's record. Index is the Raft index of its start: its key in the history and
// the queue, so both are in start order.
type Build struct {
	ID                    string      `json:"id"`
	Project               string      `json:"project"`
	Number                uint64      `json:"number"`
	Status                string      `json:"status"`
	Initiator             string      `json:"initiator"`
	SourceVersion         string      `json:"source_version,omitempty"`
	ResolvedSourceVersion string      `json:"resolved_source_version,omitempty"`
	Source                Source      `json:"source"`
	Environment           Environment `json:"environment"`
	TimeoutMinutes        int         `json:"timeout_minutes"`
	QueuedTimeoutMinutes  int         `json:"queued_timeout_minutes"`
	ServiceRole           string      `json:"service_role,omitempty"`
	// SourceArtifact is the build's source when it is a blob (a pipeline's artifact), nil
	// for its project's repository (start_options.go).
	SourceArtifact    *SourceArtifact   `json:"source_artifact,omitempty"`
	Start             time.Time         `json:"start_time"`
	End               *time.Time        `json:"end_time,omitempty"`
	Phases            []Phase           `json:"phases"`
	StopRequested     bool              `json:"stop_requested,omitempty"`
	Agent             string            `json:"agent,omitempty"` // the worker's host, once assigned
	Artifacts         []Artifact        `json:"artifacts,omitempty"`
	ExportedVariables map[string]string `json:"exported_variables,omitempty"`
	// Reports summarises the build's report groups (their cases are in build/reports).
	Reports []ReportSummary `json:"reports,omitempty"`
	// The log: LogLines lines committed so far (numbered from 1) in build/logs, LogBytes their
	// text; LogTruncated once MaxLogBytes was reached (later lines dropped). LogBlob is the SHA-256
	// of the whole log kept in the blob store once the build ended and its batches were
	// assembled (then build/logs holds none of its lines).
	LogLines     uint64 `json:"log_lines,omitempty"`
	LogBytes     int64  `json:"log_bytes,omitempty"`
	LogTruncated bool   `json:"log_truncated,omitempty"`
	LogBlob      string `json:"log_blob,omitempty"`
	LogBlobSize  int64  `json:"log_blob_size,omitempty"`
	// LogIndex[k] is the byte offset in LogBlob of the first line numbered k*LogIndexStride+1 or
	// more (finish.go).
	LogIndex []int64 `json:"log_index,omitempty"`
	// ReportSeq is the highest agent report sequence applied: reports at or below it are
	// acknowledged and ignored, so a resent report never applies twice.
	ReportSeq uint64 `json:"report_seq,omitempty"`
	// A child of a batch build (batch.go): its batch, its task's identifier, Waiting while its
	// dependencies have not all ended (QUEUED but not in build/queue), Released when they had.
	BatchID         string     `json:"batch_id,omitempty"`
	BatchIdentifier string     `json:"batch_identifier,omitempty"`
	Waiting         bool       `json:"waiting,omitempty"`
	Released        *time.Time `json:"released,omitempty"`
	// GitTokens are the accessors of the role sessions issued to the build for git
	// (gitcred.go); the finish task revokes them once the build ended.
	GitTokens   []string `json:"git_tokens,omitempty"`
	Index       uint64   `json:"index"`
	ModifyIndex uint64   `json:"modify_index"`
}

// ReportSummary is one report group of a build, without its cases.
type ReportSummary struct {
	Name      string         `json:"name"`
	Format    string         `json:"format"`
	Status    string         `json:"status"`
	Total     int            `json:"total"`
	Counts    map[string]int `json:"counts"`
	Truncated bool           `json:"truncated,omitempty"`
}

// MaxLogBytes bounds the log text a build keeps; later lines are dropped and the record says
// log_truncated.
const MaxLogBytes = 64 << 20

// logBatch is one entry of build/logs: lines First, First+1, ... of a build's log.
type logBatch struct {
	First uint64    `json:"first"`
	Lines []logLine `json:"lines"`
}

// logLine is one line of a build's log: when it was printed, the phase that printed it, its
// text (masked by the agent).
type logLine struct {
	Time  time.Time `json:"time"`
	Phase string    `json:"phase,omitempty"`
	Text  string    `json:"text"`
}

func logKey(id string, first uint64) []byte { return append(append([]byte(id), 0), u64(first)...) }

// finished records that build b has ended: its log is still to be assembled into a blob and its
// commit status to be set (the leader's finish task, DESIGN.md). Every path that ends a build
// calls it in the same apply.
func finished(tx *state.Tx, b Build) error {
	if err := tx.Bucket(bucketFinish).Put([]byte(b.ID), nil); err != nil {
		return err
	}
	if b.BatchID != "" {
		return advanceBatch(tx, b) // the batch advances in the same apply (batch.go)
	}
	return nil
}

// Ended reports whether the build has its final status.
func (b Build) Ended() bool { return b.Status != pub.BuildQueued && b.Status != pub.BuildInProgress }

// QueuedDeadline is when a build still queued times out: counted from its start, or for a
// batch's child from when its dependencies released it.
func (b Build) QueuedDeadline() time.Time {
	if b.Released != nil {
		return b.Released.Add(time.Duration(b.QueuedTimeoutMinutes) * time.Minute)
	}
	return b.Start.Add(time.Duration(b.QueuedTimeoutMinutes) * time.Minute)
}

// end ends the build's current phase with status (and message), appends COMPLETED, and
// gives the build its final status and end time.
func (b *Build) end(at time.Time, status, phaseStatus, message string) {
	if n := len(b.Phases); n > 0 && b.Phases[n-1].End == nil {
		b.Phases[n-1].Status, b.Phases[n-1].End, b.Phases[n-1].Message = phaseStatus, &at, message
	}
	b.Phases = append(b.Phases, Phase{Name: PhaseCompleted, Start: at})
	b.Status, b.End = status, &at
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// SplitID splits a build ID into its project and UUID, refusing one not of CodeBuild's form
// PROJECT:UUID.
func SplitID(id string) (project, uuid string, err error) {
	project, uuid, ok := strings.Cut(id, ":")
	if !ok || ValidateProjectName(project) != nil || !uuidRe.MatchString(uuid) {
		return "", "", fault.New(fault.Invalid, "build ID %q is not PROJECT:UUID: use the id 'slipway build list' shows", state.Shorten(id))
	}
	return project, uuid, nil
}

// Storage.

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func byProjectKey(project string, number uint64) []byte {
	return append(append([]byte(project), 0), u64(number)...)
}

func getBuild(tx *state.Tx, id string) (Build, bool, error) {
	return state.Get[Build](tx, bucketBuilds, id)
}

func mustBuild(tx *state.Tx, id string) (Build, error) {
	b, ok, err := getBuild(tx, id)
	if err == nil && !ok {
		err = fault.New(fault.NotFound, "build %s not found", state.Shorten(id))
	}
	return b, err
}

// insertBuild writes a new build's record and its index entries.
func insertBuild(tx *state.Tx, b Build) error {
	if err := state.Put(tx, bucketBuilds, b.ID, b); err != nil {
		return err
	}
	if err := tx.Bucket(bucketByProject).Put(byProjectKey(b.Project, b.Number), []byte(b.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketHistory).Put(u64(b.Index), []byte(b.ID)); err != nil {
		return err
	}
	if b.Status == pub.BuildQueued && !b.Waiting {
		if err := tx.Bucket(bucketQueue).Put(u64(b.Index), []byte(b.ID)); err != nil {
			return err
		}
	}
	return addMeta(tx, metaBuilds, 1)
}

// removeBuild deletes an ended build's record and its index entries, and uncounts it.
func removeBuild(tx *state.Tx, b Build) error {
	for _, a := range b.Artifacts { // the artifacts' blobs are the build's no more
		if err := tx.Blobs().RemoveRef(a.Blob, blobOwner(b.ID)); err != nil {
			return err
		}
	}
	if b.SourceArtifact != nil {
		if err := tx.Blobs().RemoveRef(b.SourceArtifact.SHA256, blobOwner(b.ID)); err != nil {
			return err
		}
	}
	if err := state.Delete(tx, bucketBuilds, b.ID); err != nil {
		return err
	}
	if err := tx.Bucket(bucketByProject).Delete(byProjectKey(b.Project, b.Number)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketHistory).Delete(u64(b.Index)); err != nil {
		return err
	}
	if err := addMeta(tx, metaBuilds, -1); err != nil {
		return err
	}
	if err := removeBuildData(tx, b); err != nil {
		return err
	}
	c, err := getCounters(tx, b.Project)
	if err != nil {
		return err
	}
	c.Builds--
	return putCounters(tx, b.Project, c)
}

// buildView is a build's record as the API answers it.
func buildView(b Build) pub.Build {
	v := pub.Build{
		ID: b.ID, Project: b.Project, BuildNumber: b.Number, Status: b.Status, Initiator: b.Initiator,
		SourceVersion: b.SourceVersion, ResolvedSourceVersion: b.ResolvedSourceVersion, Source: pub.ProjectSource(b.Source),
		Environment: environmentView(b.Environment), TimeoutMinutes: b.TimeoutMinutes, QueuedTimeoutMinutes: b.QueuedTimeoutMinutes,
		ServiceRole: b.ServiceRole, StartTime: b.Start, EndTime: b.End, StopRequested: b.StopRequested,
		Phases: make([]pub.BuildPhase, 0, len(b.Phases)), Artifacts: make([]pub.BuildArtifact, 0, len(b.Artifacts)),
		ExportedVariables: map[string]string{}, Reports: make([]pub.BuildReportSummary, 0, len(b.Reports)),
		LogLines: b.LogLines, LogBytes: b.LogBytes, LogTruncated: b.LogTruncated, LogBlob: b.LogBlob, LogBlobSize: b.LogBlobSize,
		CreateIndex: b.Index, ModifyIndex: b.ModifyIndex, BuildBatchID: b.BatchID, BatchIdentifier: b.BatchIdentifier,
	}
	for _, r := range b.Reports {
		v.Reports = append(v.Reports, pub.BuildReportSummary(r))
	}
	for _, p := range b.Phases {
		ph := pub.BuildPhase{Name: p.Name, Status: p.Status, StartTime: p.Start, EndTime: p.End, Message: p.Message}
		if p.End != nil {
			ph.DurationMS = p.End.Sub(p.Start).Milliseconds()
		}
		v.Phases = append(v.Phases, ph)
	}
	if n := len(b.Phases); n > 0 {
		v.CurrentPhase = b.Phases[n-1].Name
	}
	for _, a := range b.Artifacts {
		v.Artifacts = append(v.Artifacts, pub.BuildArtifact(a))
	}
	for k, val := range b.ExportedVariables {
		v.ExportedVariables[k] = val
	}
	return v
}

// commitRe is a full commit ID (SHA-1 or SHA-256).
var commitRe = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

func plural(n int, unit string) string {
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

// maxPageBytes is about how many bytes of records one list answer is made from (at least one).
const maxPageBytes = 4 << 20

// listNewest returns, newest first, up to limit records of an index bucket whose keys start
// with prefix and end with an 8-byte number, from the number before "before" (0: the newest),
// read from records with get, and the cursor of the next page (0 at the end). A page stops early
// once its records pass maxPageBytes.
func listNewest[T any](tx *state.Tx, index, records, prefix []byte, before uint64, limit int, get func(*state.Tx, string) (T, bool, error)) ([]T, uint64, error) {
	cur := tx.Bucket(index).Cursor()
	seek := append(append([]byte(nil), prefix...), u64(before)...)
	if before == 0 { // past every key of the prefix
		seek = append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	}
	var k, v []byte
	if k, _ = cur.Seek(seek); k == nil {
		k, v = cur.Last()
	} else {
		k, v = cur.Prev()
	}
	var out []T
	size := 0
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = cur.Prev() {
		if len(out) == limit || (len(out) > 0 && size > maxPageBytes) {
			return out, binary.BigEndian.Uint64(k[len(prefix):]) + 1, nil
		}
		r, ok, err := get(tx, string(v))
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue
		}
		size += len(tx.Bucket(records).Get(v))
		out = append(out, r)
	}
	return out, 0, nil
}

// newestPage is a page of listNewest as the API answers it: the cursor page.After parsed (a
// number a list answered), the records shown with view, the next page's cursor ("" at the end).
func newestPage[T, V any](st *state.Store, index, records, prefix []byte, page api.Page, get func(*state.Tx, string) (T, bool, error), view func(T) V) ([]V, string, error) {
	var before uint64
	if page.After != "" {
		var err error
		if before, err = strconv.ParseUint(page.After, 10, 64); err != nil || before == 0 {
			return nil, "", fault.New(fault.Invalid, "the next cursor %q is not one a list answered: start again without it", state.Shorten(page.After))
		}
	}
	var list []T
	var next uint64
	err := st.View(func(tx *state.Tx) error {
		var err error
		list, next, err = listNewest(tx, index, records, prefix, before, page.Limit, get)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]V, 0, len(list))
	for _, r := range list {
		out = append(out, view(r))
	}
	cursor := ""
	if next != 0 {
		cursor = strconv.FormatUint(next, 10)
	}
	return out, cursor, nil
}
