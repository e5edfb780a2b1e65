package review

import (
	"context"
	"strconv"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
)

// maxCommits bounds the commits a pull request's answer lists (CommitsTruncated says more).
const maxCommits = 250

// Service is the Go API of pull requests: the HTTP handlers and other services call it so the
// rules live once. Writes propose a command under ctx (a write context: it carries the caller
// for the audit record) and answer once it is applied; reads look at this server's state (the
// routes make them consistent first when asked). actor is the caller's principal name (a user's
// name, else the token's): callers authorize before they call.
type Service struct{ m *Module }

// ParseID reads a pull request's number as the API spells it (decimal).
func ParseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fault.New(fault.Invalid, "pull request ID %s is not a number from 1: use the id 'slipway pr list' shows", state.Shorten(s))
	}
	return id, nil
}

// fresh reads a pull request's record after a consistent read: what a write decides on (a
// merge, the revision an approval is of) must not be this server's lagging copy.
func (s *Service) fresh(ctx context.Context, id uint64) (PR, error) {
	if err := s.m.core.Cluster.ConsistentRead(ctx); err != nil {
		return PR{}, fault.New(fault.Unavailable, "this server cannot read pull requests now: %v", err)
	}
	return s.Record(id)
}

// Record reads a pull request's record as this server has applied it.
func (s *Service) Record(id uint64) (PR, error) {
	var p PR
	err := s.m.core.State.View(func(tx *state.Tx) error {
		var err error
		p, err = mustPR(tx, id)
		return err
	})
	return p, err
}

// Create opens a pull request from req.Source into req.Destination, both existing branches of
// req.Repository, by actor. Its first revision is the branches' heads as the replicated state
// has them now, and their merge base.
func (s *Service) Create(ctx context.Context, actor string, req pub.PullRequestCreateRequest) (pub.PullRequest, error) {
	p := CreatePayload{Repo: req.Repository, Source: req.Source, Destination: req.Destination, Title: req.Title, Description: req.Description, Author: actor, RepoID: "-"}
	// Check what needs no git first (the commits are checked below).
	probe := p
	probe.SourceCommit, probe.DestinationCommit = zeroCommit, zeroCommit
	if err := validateCreate(probe); err != nil {
		return pub.PullRequest{}, err
	}
	repo, err := s.m.git.Repos().Get(ctx, req.Repository)
	if err != nil {
		return pub.PullRequest{}, err
	}
	p.RepoID = repo.ID
	b, err := s.m.git.Browse(ctx, repo.Name)
	if err != nil {
		return pub.PullRequest{}, err
	}
	refs, err := s.m.git.Repos().Refs(ctx, repo.Name)
	if err != nil {
		return pub.PullRequest{}, err
	}
	for _, br := range []struct {
		what, name string
		commit     *string
	}{{"source", p.Source, &p.SourceCommit}, {"destination", p.Destination, &p.DestinationCommit}} {
		if *br.commit = refs["refs/heads/"+br.name]; *br.commit == "" {
			return pub.PullRequest{}, fault.New(fault.NotFound, "the %s branch %s does not exist in repository %s: push it first", br.what, br.name, repo.Name)
		}
	}
	if p.MergeBase, err = b.MergeBase(ctx, p.SourceCommit, p.DestinationCommit); err != nil {
		return pub.PullRequest{}, err
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdCreate, s.m.core.Now(), p)
	return answer(res, err)
}

const zeroCommit = "0000000000000000000000000000000000000000"

// Get returns a pull request; with detail, also the current revision's commits from the merge
// base and its diff stat (read from this server's copy of the repository).
func (s *Service) Get(ctx context.Context, id uint64, detail bool) (pub.PullRequest, error) {
	p, err := s.Record(id)
	if err != nil {
		return pub.PullRequest{}, err
	}
	v := view(p)
	e, err := s.m.evaluate(ctx, p)
	if err != nil {
		return pub.PullRequest{}, err
	}
	v.Approved, v.Rules = e.Approved, e.Rules
	if !detail {
		return v, nil
	}
	b, err := s.m.git.Browse(ctx, p.Repo)
	if err != nil {
		return v, err
	}
	rev := p.Current()
	if v.Commits, v.CommitsTruncated, err = b.Range(ctx, rev.MergeBase, rev.SourceCommit, maxCommits); err != nil {
		return v, err
	}
	if rev.MergeBase == "" {
		return v, nil // unrelated histories: no stat (the diff is the whole source)
	}
	cmp, err := b.Compare(ctx, rev.MergeBase, rev.SourceCommit, true, b.MaxBytes())
	if err != nil {
		return v, err
	}
	v.Files, v.FilesTruncated = cmp.Files, cmp.Truncated
	return v, nil
}

// Diff returns the current revision's diff from the merge base to the source, its stat and
// patch, at most the git service's browse bound of output.
func (s *Service) Diff(ctx context.Context, id uint64) (pub.PullRequestDiff, error) {
	p, err := s.Record(id)
	if err != nil {
		return pub.PullRequestDiff{}, err
	}
	b, err := s.m.git.Browse(ctx, p.Repo)
	if err != nil {
		return pub.PullRequestDiff{}, err
	}
	rev := p.Current()
	var cmp pub.Comparison
	if rev.MergeBase == "" { // unrelated histories: the whole source
		cmp.Patch, cmp.Truncated, err = b.Patch(ctx, "", rev.SourceCommit, b.MaxBytes())
	} else {
		cmp, err = b.Compare(ctx, rev.MergeBase, rev.SourceCommit, false, b.MaxBytes())
	}
	if err != nil {
		return pub.PullRequestDiff{}, err
	}
	if cmp.Files == nil {
		cmp.Files = []pub.FileStat{}
	}
	return pub.PullRequestDiff{Revision: rev.Number, Base: rev.MergeBase, Head: rev.SourceCommit, Files: cmp.Files, Patch: cmp.Patch, Truncated: cmp.Truncated}, nil
}

// List returns a page of the pull requests f selects, in number order after page.After, and the
// cursor of the next page ("" at the end).
func (s *Service) List(_ context.Context, f pub.PullRequestFilter, page api.Page) ([]pub.PullRequest, string, error) {
	if f.Status != "" && f.Status != StatusOpen && f.Status != StatusClosed && f.Status != StatusMerged {
		return nil, "", fault.New(fault.Invalid, "status %q is not open, closed or merged", state.Shorten(f.Status))
	}
	var after uint64
	if page.After != "" {
		var err error
		if after, err = ParseID(page.After); err != nil {
			return nil, "", fault.New(fault.Invalid, "the next cursor %q is not one a list answered", state.Shorten(page.After))
		}
	}
	var out []pub.PullRequest
	var next string
	err := s.m.core.State.View(func(tx *state.Tx) error {
		return listPRs(tx, after, func(p PR) (bool, error) {
			if (f.Repository != "" && p.Repo != f.Repository) || (f.Status != "" && p.Status != f.Status) ||
				(f.Author != "" && p.Author != f.Author) || (f.Destination != "" && p.Destination != f.Destination) {
				return true, nil
			}
			if len(out) == page.Limit {
				next = out[len(out)-1].ID
				return false, nil
			}
			out = append(out, view(p))
			return true, nil
		})
	})
	return out, next, err
}

// Update changes a pull request's title and/or description.
func (s *Service) Update(ctx context.Context, id uint64, actor string, req pub.PullRequestUpdateRequest) (pub.PullRequest, error) {
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdUpdate, s.m.core.Now(), UpdatePayload{ID: id, Title: req.Title, Description: req.Description, Actor: actor})
	return answer(res, err)
}

// SetStatus closes (closed) or reopens (open) a pull request. A reopened one gets a new revision
// once its branches moved while it was closed (the revision watcher).
func (s *Service) SetStatus(ctx context.Context, id uint64, actor, status string) (pub.PullRequest, error) {
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdStatus, s.m.core.Now(), StatusPayload{ID: id, Status: status, Actor: actor})
	return answer(res, err)
}

// Comment posts a comment by actor on a pull request (inReplyTo 0), or a reply to its comment
// inReplyTo.
func (s *Service) Comment(ctx context.Context, id uint64, actor string, inReplyTo uint64, req pub.PullRequestCommentRequest) (pub.PullRequestComment, error) {
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdComment, s.m.core.Now(), CommentPayload{
		ID: id, InReplyTo: inReplyTo, Body: req.Body, Path: req.Path, Line: req.Line, Side: req.Side, Commit: req.Commit, Author: actor,
	})
	return commentAnswer(res, err)
}

// UpdateComment edits actor's own comment.
func (s *Service) UpdateComment(ctx context.Context, id, comment uint64, actor, body string) (pub.PullRequestComment, error) {
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdCommentUpdate, s.m.core.Now(), CommentUpdatePayload{ID: id, Comment: comment, Body: body, Actor: actor})
	return commentAnswer(res, err)
}

// DeleteComment removes actor's own comment's content; its place and replies stay.
func (s *Service) DeleteComment(ctx context.Context, id, comment uint64, actor string) error {
	_, err := command.Propose(ctx, s.m.core.Cluster, cmdCommentDelete, s.m.core.Now(), CommentDeletePayload{ID: id, Comment: comment, Actor: actor})
	return err
}

// Comments returns a pull request's comments in the order they were posted.
func (s *Service) Comments(_ context.Context, id uint64) ([]pub.PullRequestComment, error) {
	var list []Comment
	err := s.m.core.State.View(func(tx *state.Tx) error {
		if _, err := mustPR(tx, id); err != nil {
			return err
		}
		var err error
		list, err = listComments(tx, id)
		return err
	})
	out := make([]pub.PullRequestComment, 0, len(list))
	for _, c := range list {
		out = append(out, commentView(c))
	}
	return out, err
}

// Approve approves (APPROVE) or revokes (REVOKE) actor's approval of a pull request's current
// revision (req.Revision, when set, must be it).
func (s *Service) Approve(ctx context.Context, id uint64, actor string, req pub.PullRequestApprovalRequest) (pub.PullRequest, error) {
	rev := req.Revision
	if rev == 0 {
		p, err := s.fresh(ctx, id)
		if err != nil {
			return pub.PullRequest{}, err
		}
		rev = p.Current().Number
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdApproval, s.m.core.Now(), ApprovalPayload{ID: id, Revision: rev, State: strings.ToUpper(req.State), Actor: actor})
	return answer(res, err)
}

// Merge merges an open pull request through the Merger with req.Strategy, as actor, and records
// it merged. It is refused when no Merger is set (Unavailable), when the pull request is not
// open, when its source moved since the caller's revision (req.SourceCommit) or since its current
// revision, and when the merge conflicts (the paths named).
func (s *Service) Merge(ctx context.Context, id uint64, actor string, req pub.PullRequestMergeRequest) (pub.PullRequest, error) {
	merger := s.m.mergerOf()
	if merger == nil {
		return pub.PullRequest{}, fault.New(fault.Unavailable, "merging pull requests is not available on this cluster yet: merge the branches with git and push")
	}
	if err := ValidateStrategy(req.Strategy); err != nil {
		return pub.PullRequest{}, err
	}
	p, err := s.fresh(ctx, id)
	if err != nil {
		return pub.PullRequest{}, err
	}
	if p.Status != StatusOpen {
		return pub.PullRequest{}, fault.New(fault.Conflict, "pull request %d is %s: only an open one can be merged", p.ID, p.Status)
	}
	rev := p.Current()
	e, err := s.m.evaluate(ctx, p)
	if err != nil {
		return pub.PullRequest{}, err
	}
	if !e.Approved {
		return pub.PullRequest{}, unmet(p, e.Rules)
	}
	if req.SourceCommit != "" && req.SourceCommit != rev.SourceCommit {
		return pub.PullRequest{}, fault.New(fault.Conflict, "the source of pull request %d moved since you looked: it is at revision %d (commit %s); review it and merge again", p.ID, rev.Number, rev.SourceCommit)
	}
	refs, err := s.m.git.Repos().Refs(ctx, p.Repo)
	if err != nil {
		return pub.PullRequest{}, err
	}
	src, dst := refs["refs/heads/"+p.Source], refs["refs/heads/"+p.Destination]
	switch {
	case src != rev.SourceCommit:
		return pub.PullRequest{}, fault.New(fault.Conflict, "the source branch %s of pull request %d moved to %s after revision %d: wait for its next revision, review it and merge again", p.Source, p.ID, state.Shorten(src), rev.Number)
	case dst == "":
		return pub.PullRequest{}, fault.New(fault.Conflict, "the destination branch %s of pull request %d was deleted", p.Destination, p.ID)
	}
	in := MergeInput{Repo: p.Repo, Source: p.Source, Destination: p.Destination, SourceCommit: src, DestinationCommit: dst,
		Strategy: req.Strategy, Message: req.Message, AuthorName: actor}
	if in.Message == "" {
		in.Message = "Merge pull request " + strconv.FormatUint(p.ID, 10) + ": " + p.Title
	}
	if s.m.git.Authors != nil {
		if a, ok := s.m.git.Authors(actor); ok {
			in.AuthorName, in.AuthorEmail = a.Name, a.Email
		}
	}
	commit, conflicts, err := merger.Merge(ctx, in)
	if err != nil {
		return pub.PullRequest{}, err
	}
	if len(conflicts) > 0 {
		return pub.PullRequest{}, fault.New(fault.Conflict, "pull request %d does not merge with %s: %s conflict; merge %s into %s with git, resolve them and push", p.ID, req.Strategy, strings.Join(conflicts, ", "), p.Destination, p.Source)
	}
	res, err := command.Propose(ctx, s.m.core.Cluster, cmdMerge, s.m.core.Now(), MergePayload{ID: p.ID, Revision: rev.Number, SourceCommit: src, Commit: commit, Strategy: req.Strategy, Actor: actor})
	return answer(res, err)
}

// ValidateStrategy checks a merge strategy's name.
func ValidateStrategy(s string) error {
	switch s {
	case StrategyFastForward, StrategySquash, StrategyThreeWay:
		return nil
	}
	return fault.New(fault.Invalid, "merge strategy %q is not fast-forward, squash or three-way", state.Shorten(s))
}

func answer(res command.Result, err error) (pub.PullRequest, error) {
	if err != nil {
		return pub.PullRequest{}, err
	}
	p, err := command.Data[PR](res)
	if err != nil {
		return pub.PullRequest{}, err
	}
	return view(p), nil
}

func commentAnswer(res command.Result, err error) (pub.PullRequestComment, error) {
	if err != nil {
		return pub.PullRequestComment{}, err
	}
	c, err := command.Data[Comment](res)
	if err != nil {
		return pub.PullRequestComment{}, err
	}
	return commentView(c), nil
}

func id(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// view is a record as the API answers it: approvals of an older revision are stale.
func view(p PR) pub.PullRequest {
	v := pub.PullRequest{
		ID: id(p.ID), Repository: p.Repo, Source: p.Source, Destination: p.Destination, Title: p.Title, Description: p.Description,
		Author: p.Author, Status: p.Status, Comments: int(p.Comments), OverriddenBy: p.OverrideBy, CreateTime: p.CreateTime, ModifyTime: p.ModifyTime,
		Revisions: []pub.PullRequestRevision{}, Timeline: []pub.PullRequestEvent{}, Approvals: []pub.PullRequestApproval{},
	}
	for _, r := range p.Revisions {
		v.Revisions = append(v.Revisions, pub.PullRequestRevision(r))
	}
	if len(v.Revisions) > 0 {
		v.Revision = v.Revisions[len(v.Revisions)-1]
		v.Mergeable = v.Revision.Mergeable
	}
	for _, e := range p.Timeline {
		v.Timeline = append(v.Timeline, pub.PullRequestEvent{Kind: e.Kind, Actor: e.Actor, Time: e.Time, Revision: e.Revision, Comment: id(e.Comment), Detail: e.Detail})
	}
	for _, a := range p.Approvals {
		v.Approvals = append(v.Approvals, pub.PullRequestApproval{User: a.User, Revision: a.Revision, Stale: a.Revision != v.Revision.Number, Time: a.Time})
	}
	if p.Merge != nil {
		v.Merge = &pub.PullRequestMerge{Commit: p.Merge.Commit, Strategy: p.Merge.Strategy, By: p.Merge.By, Revision: p.Merge.Revision, Time: p.Merge.Time}
	}
	return v
}

func commentView(c Comment) pub.PullRequestComment {
	return pub.PullRequestComment{
		ID: id(c.ID), InReplyTo: id(c.InReplyTo), Author: c.Author, Body: c.Body, Path: c.Path, Line: c.Line, Side: c.Side,
		Commit: c.Commit, Revision: c.Revision, Deleted: c.Deleted, CreateTime: c.CreateTime, ModifyTime: c.ModifyTime,
	}
}
