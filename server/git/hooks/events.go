// Package hooks is the repositories' event stream and their webhooks (issue 19). Every event
// (a push, a branch or tag created or deleted, a pull request's changes, comments, approvals)
// is written by the apply of the command that caused it, through Emit, so it is part of the
// replicated state like the change itself: deterministic, in the log's order, on every server.
// Emit also queues a delivery for each of the repository's hooks that takes the event; the
// leader sends them (deliver.go), records every attempt through the log, and retries with
// backoff, so a new leader resumes exactly where the old one stopped. See DESIGN.md.
package hooks

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// Event types. A hook takes the types it names, or every one with "*".
const (
	TypePush                = "push"                  // PushPayload
	TypeCreate              = "create"                // RefPayload: a branch or tag created
	TypeDelete              = "delete"                // RefPayload: a branch or tag deleted
	TypePullRequest         = "pull_request"          // action: created, updated, merged, closed, reopened
	TypePullRequestComment  = "pull_request_comment"  // action: created, edited, deleted
	TypePullRequestApproval = "pull_request_approval" // action: approved, revoked, overridden
)

// Types are the event types Emit takes and hooks subscribe to.
var Types = []string{TypePush, TypeCreate, TypeDelete, TypePullRequest, TypePullRequestComment, TypePullRequestApproval}

// Event is what a command's apply emits. Time must be the command's time (c.Time), Actor the
// caller's name ("" for the cluster's own work); Payload is any JSON-encodable value, the
// "payload" of the delivered body (documented per type in docs/WEBHOOKS.md).
type Event struct {
	Type    string
	Repo    string // the repository's name at the time of the event
	Actor   string
	Time    time.Time
	Payload any
}

// Body is the JSON every delivery of an event POSTs (and the stream keeps).
type Body struct {
	ID         string          `json:"id"` // the event's sequence number, 20 digits
	Type       string          `json:"type"`
	Time       time.Time       `json:"time"`
	Repository RepoRef         `json:"repository"`
	Actor      string          `json:"actor,omitempty"`
	Payload    json.RawMessage `json:"payload"`
}

// RepoRef names a repository in a body.
type RepoRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PushPayload is a push event's payload: every ref the push updated, with full 40-hex ids
// (the zero id for a created ref's old and a deleted ref's new).
type PushPayload struct {
	Refs []RefUpdate `json:"refs"`
}

// RefUpdate is one ref a push moved.
type RefUpdate struct {
	Ref string `json:"ref"`
	Old string `json:"old"`
	New string `json:"new"`
}

// RefPayload is a create or delete event's payload: RefType is "branch" or "tag", Ref the full
// name, Name the short one, Commit the id it was created at or pointed at when deleted.
type RefPayload struct {
	RefType string `json:"ref_type"`
	Ref     string `json:"ref"`
	Name    string `json:"name"`
	Commit  string `json:"commit"`
}

// Bounds of the stream and the deliveries.
const (
	MaxEvents            = 10000   // events kept in the stream; older ones are dropped
	MaxPayload           = 1 << 20 // bytes of a body; a larger payload is replaced by {"truncated":true}
	MaxHooksPerRepo      = 20
	MaxQueued            = 10000 // pending deliveries across every hook; new ones over it are dropped (counted)
	MaxPendingPerHook    = 1000  // pending deliveries of one hook; new ones over it are dropped (counted)
	MaxDeliveriesPerHook = 100   // finished (delivered or failed) deliveries kept per hook; the oldest goes
	MaxAttemptsKept      = 30    // attempts recorded per delivery
)

// bucketEvents holds the stream, bucketHooks the hooks, bucketDeliveries the deliveries. Their
// names are in snapshots: never change them.
var (
	bucketEvents     = []byte("git/events")          // "seq" -> uint64; "e/" seq(8 BE) -> Body
	bucketHooks      = []byte("git/hooks")           // repo ID | 0 | hook ID -> Hook
	bucketDeliveries = []byte("git/hook_deliveries") // "d/" ID -> Delivery; "q/" ID; "hp/", "hf/" hook ID "/" ID; "hpn/" hook ID; "seq", "queued", "dropped"
)

// Buckets are the package's buckets, for the git module's registration.
func Buckets() [][]byte { return [][]byte{bucketEvents, bucketHooks, bucketDeliveries} }

func getUint(tx *state.Tx, bucket, key []byte) uint64 {
	if v := tx.Bucket(bucket).Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putUint(tx *state.Tx, bucket, key []byte, n uint64) error {
	return tx.Bucket(bucket).Put(key, binary.BigEndian.AppendUint64(nil, n))
}

func eventKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("e/"), seq) }

// Emit appends ev to repoID's stream and queues a delivery to each of the repository's hooks
// that takes ev.Type. Call it from a command's apply, after the change it reports succeeded:
// it reads and writes only the state, so it is deterministic. Only an unknown type or a state
// error fails it; a payload too large is replaced (the change is never refused for its event).
func Emit(tx *state.Tx, repoID string, ev Event) error {
	if !slices.Contains(Types, ev.Type) {
		return fault.New(fault.Internal, "hooks: unknown event type %q", ev.Type)
	}
	seq := getUint(tx, bucketEvents, []byte("seq")) + 1
	p, err := json.Marshal(ev.Payload)
	if err != nil {
		return fault.New(fault.Internal, "hooks: encode the %s payload: %v", ev.Type, err)
	}
	if len(p) > MaxPayload {
		p = []byte(fmt.Sprintf(`{"truncated":true,"size":%d}`, len(p)))
	}
	body, err := json.Marshal(Body{ID: fmt.Sprintf("%020d", seq), Type: ev.Type, Time: ev.Time.UTC(), Repository: RepoRef{ID: repoID, Name: ev.Repo}, Actor: ev.Actor, Payload: p})
	if err != nil {
		return err
	}
	if err := putUint(tx, bucketEvents, []byte("seq"), seq); err != nil {
		return err
	}
	if err := tx.Bucket(bucketEvents).Put(eventKey(seq), body); err != nil {
		return err
	}
	if seq > MaxEvents {
		if err := tx.Bucket(bucketEvents).Delete(eventKey(seq - MaxEvents)); err != nil {
			return err
		}
	}
	for _, h := range repoHooks(tx, repoID) {
		if !h.takes(ev.Type) {
			continue
		}
		if err := queue(tx, h, Delivery{Event: ev.Type, EventID: fmt.Sprintf("%020d", seq), Body: body, CreateTime: ev.Time.UTC()}); err != nil {
			return err
		}
	}
	return nil
}

// Since returns up to limit events of the stream after sequence number after (0: the oldest
// kept), in order: what a subscriber (pipelines) reads. An event older than the MaxEvents kept
// is gone; a subscriber that fell that far behind sees the gap in the ids.
func Since(tx *state.Tx, after uint64, limit int) []Body {
	var out []Body
	c := tx.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(eventKey(after + 1)); len(k) == 10 && string(k[:2]) == "e/" && len(out) < limit; k, v = c.Next() {
		var b Body
		if json.Unmarshal(v, &b) == nil {
			out = append(out, b)
		}
	}
	return out
}

// PushEvents emits what a push that applied updates made: one push event with every update,
// and a create or delete event for each branch (refs/heads/) or tag (refs/tags/) it created or
// deleted. zero is the zero object id.
func PushEvents(tx *state.Tx, repoID, repo, actor string, at time.Time, updates []RefUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	if err := Emit(tx, repoID, Event{Type: TypePush, Repo: repo, Actor: actor, Time: at, Payload: PushPayload{Refs: updates}}); err != nil {
		return err
	}
	const zero = "0000000000000000000000000000000000000000"
	for _, u := range updates {
		kind, name := refKind(u.Ref)
		if kind == "" {
			continue
		}
		switch {
		case u.Old == zero && u.New != zero:
			err := Emit(tx, repoID, Event{Type: TypeCreate, Repo: repo, Actor: actor, Time: at, Payload: RefPayload{RefType: kind, Ref: u.Ref, Name: name, Commit: u.New}})
			if err != nil {
				return err
			}
		case u.Old != zero && u.New == zero:
			err := Emit(tx, repoID, Event{Type: TypeDelete, Repo: repo, Actor: actor, Time: at, Payload: RefPayload{RefType: kind, Ref: u.Ref, Name: name, Commit: u.Old}})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func refKind(ref string) (kind, name string) {
	switch {
	case len(ref) > len("refs/heads/") && ref[:len("refs/heads/")] == "refs/heads/":
		return "branch", ref[len("refs/heads/"):]
	case len(ref) > len("refs/tags/") && ref[:len("refs/tags/")] == "refs/tags/":
		return "tag", ref[len("refs/tags/"):]
	}
	return "", ""
}

// LastSeq answers the stream's last sequence number (0 before the first event): a subscriber
// created now (a pipeline) takes it as its start, so events before it never reach it.
func LastSeq(tx *state.Tx) uint64 { return getUint(tx, bucketEvents, []byte("seq")) }
