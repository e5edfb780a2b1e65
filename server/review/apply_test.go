package review

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/fsm"
	"github.com/slipwayhq/slipway/server/core/module"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git"
)

// newFSM is a state machine with the service registered as the server registers it (after
// the git service, whose action namespace it shares).
func newFSM(t *testing.T) *fsm.FSM {
	t.Helper()
	reg := module.NewRegistry(fsm.NewTable())
	repos := git.New()
	reg.Add(&module.Core{DataDir: t.TempDir()}, repos, New(repos))
	s, err := state.Open(filepath.Join(t.TempDir(), "state.db"), reg.AllBuckets()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return fsm.New(s, reg.Table(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func apply[T any](t *testing.T, f *fsm.FSM, index uint64, d command.Def[T], p T) command.Result {
	t.Helper()
	c, err := d.New("", time.Unix(1700000000, 0), p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := command.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: b}).(command.Result)
	if !ok {
		t.Fatal("apply answered no command.Result")
	}
	return r
}

func wantCode(t *testing.T, what string, r command.Result, code fault.Code, msg string) {
	t.Helper()
	if fault.Code(r.Code) != code || !strings.Contains(r.Message, msg) {
		t.Fatalf("%s: %+v; want %s saying %q", what, r, code, msg)
	}
}

var (
	c1 = strings.Repeat("1", 40)
	c2 = strings.Repeat("2", 40)
	c3 = strings.Repeat("3", 40)
)

// TestLogFormat pins the service's commands and buckets: numbers, names, versions and JSON are in
// the Raft log and in snapshots.
func TestLogFormat(t *testing.T) {
	for i, d := range []interface {
		Type() command.Type
		Name() string
		Version() uint8
	}{cmdCreate, cmdUpdate, cmdStatus, cmdRevise, cmdComment, cmdCommentUpdate, cmdCommentDelete, cmdMerge, cmdApproval, cmdRule, cmdMergeable, cmdOverride} {
		names := []string{"pr.create", "pr.update", "pr.status", "pr.revise", "pr.comment", "pr.comment_update", "pr.comment_delete", "pr.merge", "pr.approval", "pr.rule", "pr.mergeable", "pr.override"}
		if int(d.Type()) != 1400+i || d.Name() != names[i] || d.Version() != 1 {
			t.Errorf("command %d is %d %s v%d", i, d.Type(), d.Name(), d.Version())
		}
	}
	c, _ := cmdRevise.New("", time.Unix(0, 0), RevisePayload{ID: 3, After: 1, SourceCommit: c1, DestinationCommit: c2})
	if string(c.Payload) != `{"id":3,"after":1,"source_commit":"`+c1+`","destination_commit":"`+c2+`"}` {
		t.Errorf("pr.revise payload %s", c.Payload)
	}
	if string(bucketPRs) != "review/prs" || string(bucketComments) != "review/comments" || string(bucketRepos) != "review/repos" || string(bucketMeta) != "review/meta" {
		t.Errorf("buckets %s %s %s %s", bucketPRs, bucketComments, bucketRepos, bucketMeta)
	}
}

// TestReviseIsACompareAndSwap: a revision proposed twice (a sweep repeated by a new leader)
// applies once; a closed PR gets none; numbers are given in order.
func TestReviseIsACompareAndSwap(t *testing.T) {
	f := newFSM(t)
	create := CreatePayload{RepoID: "r1", Repo: "app", Source: "f", Destination: "main", Title: "t", Author: "alice", SourceCommit: c1, DestinationCommit: c2, MergeBase: c2}
	r := apply(t, f, 1, cmdCreate, create)
	p, err := command.Data[PR](r)
	if err != nil || p.ID != 1 || p.Current().Number != 1 {
		t.Fatalf("create: %+v, %v", p, err)
	}
	if p2, _ := command.Data[PR](apply(t, f, 2, cmdCreate, create)); p2.ID != 2 {
		t.Fatalf("second PR is %d", p2.ID)
	}
	rev := RevisePayload{ID: 1, After: 1, SourceCommit: c3, DestinationCommit: c2, MergeBase: c2}
	if r := apply(t, f, 3, cmdRevise, rev); r.Err() != nil {
		t.Fatal(r.Err())
	}
	wantCode(t, "the same revision again", apply(t, f, 4, cmdRevise, rev), fault.Conflict, "is at revision 2, not 1")
	rev.After = 2
	wantCode(t, "a revision of the same commits", apply(t, f, 5, cmdRevise, rev), fault.Conflict, "already has these commits")
	if r := apply(t, f, 6, cmdStatus, StatusPayload{ID: 1, Status: StatusClosed, Actor: "alice"}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	rev.SourceCommit = c1
	wantCode(t, "a revision of a closed PR", apply(t, f, 7, cmdRevise, rev), fault.Conflict, "is closed")
	var counts Counts
	_ = f.Store().View(func(tx *state.Tx) error { counts, err = getCounts(tx, "r1"); return err })
	if counts != (Counts{Total: 2, Open: 1}) {
		t.Fatalf("counts %+v", counts)
	}
}

// TestBoundsAtApply: open PRs per repository (closing one makes room, reopening past the bound
// is refused) and comments per PR.
func TestBoundsAtApply(t *testing.T) {
	f := newFSM(t)
	create := CreatePayload{RepoID: "r2", Repo: "busy", Source: "f", Destination: "main", Title: "t", Author: "alice", SourceCommit: c1, DestinationCommit: c2}
	index := uint64(0)
	for range MaxOpenPerRepo {
		index++
		if r := apply(t, f, index, cmdCreate, create); r.Err() != nil {
			t.Fatal(r.Err())
		}
	}
	wantCode(t, "one open PR too many", apply(t, f, index+1, cmdCreate, create), fault.Conflict, "maximum of 1000 open pull requests")
	if r := apply(t, f, index+2, cmdStatus, StatusPayload{ID: 1, Status: StatusClosed}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if r := apply(t, f, index+3, cmdCreate, create); r.Err() != nil {
		t.Fatalf("a create after a close: %v", r.Err())
	}
	wantCode(t, "reopen past the bound", apply(t, f, index+4, cmdStatus, StatusPayload{ID: 1, Status: StatusOpen}), fault.Conflict, "maximum of 1000 open pull requests")
	create.RepoID = "other" // another repository's bound is its own
	if r := apply(t, f, index+5, cmdCreate, create); r.Err() != nil {
		t.Fatal(r.Err())
	}

	index += 10
	for range MaxCommentsPerPR {
		index++
		if r := apply(t, f, index, cmdComment, CommentPayload{ID: 2, Body: "x", Author: "bob"}); r.Err() != nil {
			t.Fatal(r.Err())
		}
	}
	wantCode(t, "one comment too many", apply(t, f, index+1, cmdComment, CommentPayload{ID: 2, Body: "x", Author: "bob"}), fault.Conflict, "maximum of 1000 comments")
}
