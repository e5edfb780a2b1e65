package git

import (
	"bytes"
	"encoding/binary"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Commit statuses (GitHub's model): a state per context on a commit, set by builds; the latest
// status of a context is the context's state. Branch protection's required statuses read them.

// The states of a commit status.
const (
	StatePending = "pending"
	StateSuccess = "success"
	StateFailure = "failure"
	StateError   = "error"
)

// Bounds of commit statuses, each refused with a message that names it.
const (
	MaxContextLen        = 255    // bytes of a context
	MaxStatusDescription = 1_024  // bytes of a description
	MaxStatusURL         = 2_048  // bytes of a target URL
	MaxContextsPerCommit = 100    // distinct contexts on one commit
	MaxStatusesPerCommit = 1_000  // statuses (history) of one commit
	MaxStatusesPerRepo   = 10_000 // statuses kept per repository: a new one drops the oldest
	statusSeqLen         = 8
)

// statusesPerRepo is MaxStatusesPerRepo; only the package's tests lower it (before any apply).
var statusesPerRepo = MaxStatusesPerRepo

// Status is one commit status as stored: Seq orders a repository's statuses (the oldest is
// dropped first when the repository holds MaxStatusesPerRepo).
type Status struct {
	Commit      string    `json:"commit"`
	State       string    `json:"state"`
	Context     string    `json:"context"`
	Description string    `json:"description,omitempty"`
	TargetURL   string    `json:"target_url,omitempty"`
	Creator     string    `json:"creator,omitempty"`
	Seq         uint64    `json:"seq"`
	CreateIndex uint64    `json:"create_index"`
	CreateTime  time.Time `json:"create_time"`
}

// StatusPayload adds a status to commit Commit of the repository named Name. Creator is the
// caller's name as the proposer saw it (for display).
type StatusPayload struct {
	Name        string `json:"name"`
	Commit      string `json:"commit"`
	State       string `json:"state"`
	Context     string `json:"context"`
	Description string `json:"description,omitempty"`
	TargetURL   string `json:"target_url,omitempty"`
	Creator     string `json:"creator,omitempty"`
}

// statusMeta is a repository's status bookkeeping: the next sequence number and how many it
// holds.
type statusMeta struct {
	Next  uint64 `json:"next"`
	Count int    `json:"count"`
}

func validateContext(c string) error {
	if c == "" || len(c) > MaxContextLen || !utf8.ValidString(c) || strings.ContainsAny(c, "\x00\r\n,") {
		return fault.New(fault.Invalid, "status context %q must be 1-%d characters of one line without commas, e.g. ci/build", state.Shorten(c), MaxContextLen)
	}
	return nil
}

// validateStatus checks a status's fields (also in apply).
func validateStatus(p StatusPayload) error {
	if !isObjectID(p.Commit) {
		return fault.New(fault.Invalid, "commit %q is not a full commit ID (40 lowercase hex digits)", state.Shorten(p.Commit))
	}
	switch p.State {
	case StatePending, StateSuccess, StateFailure, StateError:
	default:
		return fault.New(fault.Invalid, "status state %q is not one of pending, success, failure, error", state.Shorten(p.State))
	}
	if err := validateContext(p.Context); err != nil {
		return err
	}
	if len(p.Description) > MaxStatusDescription || !utf8.ValidString(p.Description) {
		return fault.New(fault.Invalid, "the status description is over %d bytes or not UTF-8", MaxStatusDescription)
	}
	if p.TargetURL != "" {
		u, err := url.Parse(p.TargetURL)
		if len(p.TargetURL) > MaxStatusURL || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fault.New(fault.Invalid, "target URL %q must be an http or https URL of at most %d bytes", state.Shorten(p.TargetURL), MaxStatusURL)
		}
	}
	return nil
}

func statusCommitPrefix(id, commit string) []byte { return subKey(id, []byte(commit)) }

// applyStatus adds a status. A commit with MaxStatusesPerCommit statuses, or a new context on
// a commit with MaxContextsPerCommit, is refused; a repository with MaxStatusesPerRepo drops its
// oldest status (by sequence) first.
func applyStatus(tx *state.Tx, index uint64, c *command.Command, p StatusPayload) (any, error) {
	r, err := mustNamed(tx, p.Name)
	if err != nil {
		return nil, err
	}
	if err := validateStatus(p); err != nil {
		return nil, err
	}
	list, err := commitStatuses(tx, r.ID, p.Commit)
	if err != nil {
		return nil, err
	}
	if len(list) >= MaxStatusesPerCommit {
		return nil, fault.New(fault.Conflict, "commit %s already has its maximum of %d statuses", p.Commit, MaxStatusesPerCommit)
	}
	contexts := map[string]bool{}
	for _, s := range list {
		contexts[s.Context] = true
	}
	if !contexts[p.Context] && len(contexts) >= MaxContextsPerCommit {
		return nil, fault.New(fault.Conflict, "commit %s already has statuses of %d contexts, the maximum: reuse a context", p.Commit, MaxContextsPerCommit)
	}
	meta, _, err := state.Get[statusMeta](tx, bucketStatusMeta, r.ID)
	if err != nil {
		return nil, err
	}
	for meta.Count >= statusesPerRepo {
		if err := dropOldestStatus(tx, r.ID); err != nil {
			return nil, err
		}
		meta.Count--
	}
	s := Status{Commit: p.Commit, State: p.State, Context: p.Context, Description: p.Description, TargetURL: p.TargetURL,
		Creator: p.Creator, Seq: meta.Next, CreateIndex: index, CreateTime: c.Time}
	seq := binary.BigEndian.AppendUint64(nil, s.Seq)
	if err := state.Put(tx, bucketStatuses, string(append(statusCommitPrefix(r.ID, p.Commit), seq...)), s); err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketStatusAge).Put(subKey(r.ID, seq), []byte(p.Commit)); err != nil {
		return nil, err
	}
	meta.Next++
	meta.Count++
	return s, state.Put(tx, bucketStatusMeta, r.ID, meta)
}

// dropOldestStatus removes the repository's status of the lowest sequence number.
func dropOldestStatus(tx *state.Tx, id string) error {
	prefix := subKey(id, nil)
	c := tx.Bucket(bucketStatusAge).Cursor()
	k, v := c.Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return fault.New(fault.Internal, "repository %s counts statuses it does not hold", id)
	}
	seq := bytes.Clone(k[len(prefix):])
	commit := string(v)
	if err := tx.Bucket(bucketStatusAge).Delete(bytes.Clone(k)); err != nil {
		return err
	}
	return tx.Bucket(bucketStatuses).Delete(append(statusCommitPrefix(id, commit), seq...))
}

// commitStatuses returns a commit's statuses, oldest first.
func commitStatuses(tx *state.Tx, id, commit string) ([]Status, error) {
	var out []Status
	prefix := statusCommitPrefix(id, commit)
	c := tx.Bucket(bucketStatuses).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+statusSeqLen {
			continue // a longer commit ID (SHA-256) sharing the prefix
		}
		var s Status
		if err := jsonUnmarshal(v, &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// latestStatuses is each context's latest status on a commit.
func latestStatuses(tx *state.Tx, id, commit string) (map[string]Status, error) {
	list, err := commitStatuses(tx, id, commit)
	if err != nil {
		return nil, err
	}
	out := map[string]Status{}
	for _, s := range list {
		out[s.Context] = s // oldest first: the later one wins
	}
	return out, nil
}

// CombinedState is GitHub's combined state of a commit's latest statuses: failure if any is
// failure or error, pending if any is pending (or there are none), else success.
func CombinedState(latest map[string]Status) string {
	if len(latest) == 0 {
		return StatePending
	}
	out := StateSuccess
	for _, s := range latest {
		switch s.State {
		case StateFailure, StateError:
			return StateFailure
		case StatePending:
			out = StatePending
		}
	}
	return out
}
