package review

import (
	"encoding/binary"
	"time"

	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git"
)

// The service's buckets. Their names and the JSON of their records are in snapshots: never
// change them.
var (
	bucketPRs      = []byte("review/prs")      // PR number (uint64 big endian) → PR
	bucketComments = []byte("review/comments") // PR number | comment number (uint64 big endian each) → Comment
	bucketRepos    = []byte("review/repos")    // repo ID → Counts
	bucketMeta     = []byte("review/meta")     // "last" → the last PR number given, uint64 big endian
)

var metaLast = []byte("last")

// The states of a pull request.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
	StatusMerged = "merged"
)

// PR is a pull request's record. Revisions are in order (number i+1 at index i); the last is
// the current one. Timeline is every event in apply order. Comments is how many comments were
// posted (the last comment's number).
type PR struct {
	ID          uint64     `json:"id"`
	RepoID      string     `json:"repo_id"`
	Repo        string     `json:"repo"`
	Source      string     `json:"source"`
	Destination string     `json:"destination"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Author      string     `json:"author"`
	Status      string     `json:"status"`
	Revisions   []Revision `json:"revisions"`
	Timeline    []Event    `json:"timeline"`
	Approvals   []Approval `json:"approvals,omitempty"`
	Rules       []Rule     `json:"rules,omitempty"`
	OverrideBy  string     `json:"override_by,omitempty"` // who overrode the rules ("": none)
	Comments    uint64     `json:"comments,omitempty"`
	Merge       *Merge     `json:"merge,omitempty"`
	CreateIndex uint64     `json:"create_index"`
	ModifyIndex uint64     `json:"modify_index"`
	CreateTime  time.Time  `json:"create_time"`
	ModifyTime  time.Time  `json:"modify_time"`
}

// Current is the PR's latest revision.
func (p PR) Current() Revision { return p.Revisions[len(p.Revisions)-1] }

// Revision is the pair of commits a PR compared at one time, and their merge base ("" when
// they share no history).
type Revision struct {
	Number            int       `json:"number"`
	SourceCommit      string    `json:"source_commit"`
	DestinationCommit string    `json:"destination_commit"`
	MergeBase         string    `json:"merge_base,omitempty"`
	Time              time.Time `json:"time"`
	// Mergeable is whether the revision merges cleanly (three-way), once the background
	// check ran; Conflicts the paths that do not.
	Mergeable *bool    `json:"mergeable,omitempty"`
	Conflicts []string `json:"conflicts,omitempty"`
}

// Event is one entry of a PR's timeline. Kind is created, revision, comment, comment_edited,
// comment_deleted, approved, approval_revoked, title, description, closed, reopened or merged.
type Event struct {
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor,omitempty"`
	Time     time.Time `json:"time"`
	Index    uint64    `json:"index"`
	Revision int       `json:"revision,omitempty"`
	Comment  uint64    `json:"comment,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Approval is a user's approval of the revision Revision.
type Approval struct {
	User     string    `json:"user"`
	Revision int       `json:"revision"`
	Time     time.Time `json:"time"`
}

// Rule is an approval rule of a PR: Approvals approvals of its current revision from Pool.
type Rule struct {
	Name      string   `json:"name"`
	Approvals int      `json:"approvals"`
	Pool      []string `json:"pool"`
}

// Merge is how a PR was merged.
type Merge struct {
	Commit   string    `json:"commit"`
	Strategy string    `json:"strategy"`
	By       string    `json:"by"`
	Revision int       `json:"revision"`
	Time     time.Time `json:"time"`
}

// Comment is one comment of a PR, numbered from 1 in the PR. A deleted one keeps its place and
// replies with its Body emptied.
type Comment struct {
	PR          uint64    `json:"pr"`
	ID          uint64    `json:"id"`
	InReplyTo   uint64    `json:"in_reply_to,omitempty"`
	Author      string    `json:"author"`
	Body        string    `json:"body"`
	Path        string    `json:"path,omitempty"`
	Line        int       `json:"line,omitempty"`
	Side        string    `json:"side,omitempty"`
	Commit      string    `json:"commit,omitempty"`
	Revision    int       `json:"revision"`
	Deleted     bool      `json:"deleted,omitempty"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	CreateTime  time.Time `json:"create_time"`
	ModifyTime  time.Time `json:"modify_time"`
}

// Counts are a repository's pull requests: all of them and the open ones.
type Counts struct {
	Total int `json:"total"`
	Open  int `json:"open"`
}

func prKey(id uint64) string { return string(binary.BigEndian.AppendUint64(nil, id)) }

func commentKey(pr, id uint64) string {
	return string(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, pr), id))
}

// getPR reads a PR with its repository's current name (see named).
func getPR(tx *state.Tx, id uint64) (PR, bool, error) {
	p, ok, err := state.Get[PR](tx, bucketPRs, prKey(id))
	return named(tx, p), ok, err
}

// named gives p its repository's name as it is now: a PR records the repository's ID and the
// name it was opened under, and a rename keeps the ID. A deleted repository keeps the old name.
func named(tx *state.Tx, p PR) PR {
	if n, ok := git.NameOf(tx, p.RepoID); ok {
		p.Repo = n
	}
	return p
}

func putPR(tx *state.Tx, p PR) error { return state.Put(tx, bucketPRs, prKey(p.ID), p) }

func getComment(tx *state.Tx, pr, id uint64) (Comment, bool, error) {
	return state.Get[Comment](tx, bucketComments, commentKey(pr, id))
}

func putComment(tx *state.Tx, c Comment) error {
	return state.Put(tx, bucketComments, commentKey(c.PR, c.ID), c)
}

func getCounts(tx *state.Tx, repoID string) (Counts, error) {
	c, _, err := state.Get[Counts](tx, bucketRepos, repoID)
	return c, err
}

func putCounts(tx *state.Tx, repoID string, c Counts) error {
	return state.Put(tx, bucketRepos, repoID, c)
}

func lastID(tx *state.Tx) uint64 {
	if v := tx.Bucket(bucketMeta).Get(metaLast); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func setLastID(tx *state.Tx, id uint64) error {
	return tx.Bucket(bucketMeta).Put(metaLast, binary.BigEndian.AppendUint64(nil, id))
}

// listPRs calls f with every PR after the number after, in number order, until f answers
// false.
func listPRs(tx *state.Tx, after uint64, f func(PR) (bool, error)) error {
	c := tx.Bucket(bucketPRs).Cursor()
	for k, v := c.Seek([]byte(prKey(after + 1))); k != nil; k, v = c.Next() {
		var p PR
		if err := jsonUnmarshal(v, &p); err != nil {
			return err
		}
		more, err := f(named(tx, p))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// listComments returns a PR's comments in number order.
func listComments(tx *state.Tx, pr uint64) ([]Comment, error) {
	prefix := binary.BigEndian.AppendUint64(nil, pr)
	var out []Comment
	c := tx.Bucket(bucketComments).Cursor()
	for k, v := c.Seek(prefix); len(k) == 16 && string(k[:8]) == string(prefix); k, v = c.Next() {
		var cm Comment
		if err := jsonUnmarshal(v, &cm); err != nil {
			return nil, err
		}
		out = append(out, cm)
	}
	return out, nil
}
