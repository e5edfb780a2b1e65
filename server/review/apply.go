package review

import (
	"encoding/json"
	"fmt"

	"strings"
	"unicode/utf8"

	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitproto"
	"github.com/slipwayhq/slipway/server/git/hooks"
)

// Bounds apply enforces, each refused with a message that names it. Title, description and
// comment sizes are CodeCommit's.
const (
	MaxTitle         = 150    // bytes of a title
	MaxDescription   = 10_240 // bytes of a description
	MaxComment       = 10_240 // bytes of a comment
	MaxPath          = 4096   // bytes of a comment's file path
	MaxOpenPerRepo   = 1_000  // open pull requests of one repository
	MaxPRsPerRepo    = 10_000 // pull requests of one repository, whatever their state
	MaxCommentsPerPR = 1_000  // comments of one pull request, deleted ones included
	MaxRevisions     = 1_000  // revisions of one pull request
	MaxApprovers     = 100    // users approving one pull request
	MaxRules         = 25     // approval rules of one pull request
	MaxRuleName      = 100    // bytes of a rule's name
	MaxPool          = 50     // entries of a rule's pool
	MaxPoolEntry     = 200    // bytes of one pool entry
	MaxConflicts     = 100    // conflicting paths recorded of one revision
)

// The sides of a line comment: the line is in the source commit's file (the new side of the
// diff) or the merge base's (the old side).
const (
	SideSource      = "source"
	SideDestination = "destination"
)

// applyCreate opens a pull request after checking its fields and the repository's bounds.
func applyCreate(tx *state.Tx, index uint64, c *command.Command, p CreatePayload) (any, error) {
	if err := validateCreate(p); err != nil {
		return nil, err
	}
	n, err := getCounts(tx, p.RepoID)
	if err != nil {
		return nil, err
	}
	if n.Open >= MaxOpenPerRepo {
		return nil, fault.New(fault.Conflict, "repository %s already has its maximum of %d open pull requests: merge or close some first", p.Repo, MaxOpenPerRepo)
	}
	if n.Total >= MaxPRsPerRepo {
		return nil, fault.New(fault.Conflict, "repository %s already has its maximum of %d pull requests", p.Repo, MaxPRsPerRepo)
	}
	pr := PR{
		ID: lastID(tx) + 1, RepoID: p.RepoID, Repo: p.Repo, Source: p.Source, Destination: p.Destination,
		Title: p.Title, Description: p.Description, Author: p.Author, Status: StatusOpen,
		Revisions:   []Revision{{Number: 1, SourceCommit: p.SourceCommit, DestinationCommit: p.DestinationCommit, MergeBase: p.MergeBase, Time: c.Time}},
		Timeline:    []Event{{Kind: "created", Actor: p.Author, Time: c.Time, Index: index, Revision: 1}},
		CreateIndex: index, ModifyIndex: index, CreateTime: c.Time, ModifyTime: c.Time,
	}
	if err := setLastID(tx, pr.ID); err != nil {
		return nil, err
	}
	n.Total++
	n.Open++
	if err := putCounts(tx, p.RepoID, n); err != nil {
		return nil, err
	}
	if err := emit(tx, pr, hooks.TypePullRequest, pr.Author, c.Time, prEvent{Action: "opened", PullRequest: payloadOf(pr)}); err != nil {
		return nil, err
	}
	return pr, putPR(tx, pr)
}

func validateCreate(p CreatePayload) error {
	for _, b := range []struct{ what, name string }{{"source", p.Source}, {"destination", p.Destination}} {
		if err := validateBranch(b.what, b.name); err != nil {
			return err
		}
	}
	if p.Source == p.Destination {
		return fault.New(fault.Invalid, "the source and destination are both %s: a pull request merges one branch into another", p.Source)
	}
	if p.RepoID == "" || p.Repo == "" || p.Author == "" {
		return fault.New(fault.Invalid, "a pull request names its repository and author")
	}
	if !isCommitID(p.SourceCommit) || !isCommitID(p.DestinationCommit) || (p.MergeBase != "" && !isCommitID(p.MergeBase)) {
		return fault.New(fault.Invalid, "the revision's commits must be full commit IDs")
	}
	if err := validateTitle(p.Title); err != nil {
		return err
	}
	return validateDescription(p.Description)
}

func validateBranch(what, name string) error {
	if name == "" {
		return fault.New(fault.Invalid, "the %s branch is empty: name a branch of the repository", what)
	}
	if strings.HasPrefix(name, "refs/") || gitproto.ValidateRefName("refs/heads/"+name) != nil {
		return fault.New(fault.Invalid, "%s branch %q is not a valid branch name: name it as git branch shows it (feature/x, not refs/heads/feature/x)", what, state.Shorten(name))
	}
	return nil
}

func validateTitle(t string) error {
	switch {
	case strings.TrimSpace(t) == "":
		return fault.New(fault.Invalid, "the title is empty: say in a line what the pull request does")
	case len(t) > MaxTitle:
		return fault.New(fault.Invalid, "the title of %d bytes is over the limit of %d: shorten it, and say more in the description", len(t), MaxTitle)
	case !utf8.ValidString(t) || strings.ContainsAny(t, "\x00\n\r"):
		return fault.New(fault.Invalid, "the title must be one line of UTF-8 text")
	}
	return nil
}

func validateDescription(d string) error {
	if len(d) > MaxDescription {
		return fault.New(fault.Invalid, "the description of %d bytes is over the limit of %d", len(d), MaxDescription)
	}
	if !utf8.ValidString(d) || strings.ContainsRune(d, 0) {
		return fault.New(fault.Invalid, "the description must be UTF-8 text without NUL")
	}
	return nil
}

func validateBody(b string) error {
	switch {
	case strings.TrimSpace(b) == "":
		return fault.New(fault.Invalid, "the comment is empty: give its text with --body")
	case len(b) > MaxComment:
		return fault.New(fault.Invalid, "the comment of %d bytes is over the limit of %d", len(b), MaxComment)
	case !utf8.ValidString(b) || strings.ContainsRune(b, 0):
		return fault.New(fault.Invalid, "the comment must be UTF-8 text without NUL")
	}
	return nil
}

// mustPR reads a PR; an unknown number is not found.
func mustPR(tx *state.Tx, id uint64) (PR, error) {
	p, ok, err := getPR(tx, id)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, fault.New(fault.NotFound, "pull request %d not found", id)
	}
	return p, nil
}

// touch appends e to the PR's timeline and marks it modified at e's index.
func (p *PR) touch(e Event) {
	p.Timeline = append(p.Timeline, e)
	p.ModifyIndex, p.ModifyTime = e.Index, e.Time
}

func applyUpdate(tx *state.Tx, index uint64, c *command.Command, u UpdatePayload) (any, error) {
	p, err := mustPR(tx, u.ID)
	if err != nil {
		return nil, err
	}
	if u.Title == nil && u.Description == nil {
		return nil, fault.New(fault.Invalid, "the update changes nothing: give a title or a description")
	}
	if p.Status == StatusMerged {
		return nil, fault.New(fault.Conflict, "pull request %d is merged: its title and description stay as they were merged", p.ID)
	}
	if u.Title != nil {
		if err := validateTitle(*u.Title); err != nil {
			return nil, err
		}
		p.Title = *u.Title
		p.touch(Event{Kind: "title", Actor: u.Actor, Time: c.Time, Index: index})
	}
	if u.Description != nil {
		if err := validateDescription(*u.Description); err != nil {
			return nil, err
		}
		p.Description = *u.Description
		p.touch(Event{Kind: "description", Actor: u.Actor, Time: c.Time, Index: index})
	}
	if err := emit(tx, p, hooks.TypePullRequest, u.Actor, c.Time, prEvent{Action: "edited", PullRequest: payloadOf(p)}); err != nil {
		return nil, err
	}
	return p, putPR(tx, p)
}

// applyStatus closes an open PR or reopens a closed one; a merged one stays merged.
func applyStatus(tx *state.Tx, index uint64, c *command.Command, s StatusPayload) (any, error) {
	p, err := mustPR(tx, s.ID)
	if err != nil {
		return nil, err
	}
	n, err := getCounts(tx, p.RepoID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Status == StatusMerged:
		return nil, fault.New(fault.Conflict, "pull request %d is merged: it can no longer be closed or reopened", p.ID)
	case s.Status != StatusOpen && s.Status != StatusClosed:
		return nil, fault.New(fault.Invalid, "status %q is not open or closed", state.Shorten(s.Status))
	case s.Status == p.Status:
		return nil, fault.New(fault.Conflict, "pull request %d is already %s", p.ID, p.Status)
	case s.Status == StatusOpen && n.Open >= MaxOpenPerRepo:
		return nil, fault.New(fault.Conflict, "repository %s already has its maximum of %d open pull requests: merge or close some first", p.Repo, MaxOpenPerRepo)
	}
	kind := "closed"
	if s.Status == StatusOpen {
		kind = "reopened"
		n.Open++
	} else if n.Open > 0 {
		n.Open--
	}
	p.Status = s.Status
	p.touch(Event{Kind: kind, Actor: s.Actor, Time: c.Time, Index: index})
	if err := putCounts(tx, p.RepoID, n); err != nil {
		return nil, err
	}
	if err := emit(tx, p, hooks.TypePullRequest, s.Actor, c.Time, prEvent{Action: kind, PullRequest: payloadOf(p)}); err != nil {
		return nil, err
	}
	return p, putPR(tx, p)
}

// applyRevise adds a revision to an open PR if After is still its latest; otherwise it is a
// conflict (another proposal took the place) and nothing changes.
func applyRevise(tx *state.Tx, index uint64, c *command.Command, r RevisePayload) (any, error) {
	p, err := mustPR(tx, r.ID)
	if err != nil {
		return nil, err
	}
	if !isCommitID(r.SourceCommit) || !isCommitID(r.DestinationCommit) || (r.MergeBase != "" && !isCommitID(r.MergeBase)) {
		return nil, fault.New(fault.Invalid, "the revision's commits must be full commit IDs")
	}
	switch {
	case p.Status != StatusOpen:
		return nil, fault.New(fault.Conflict, "pull request %d is %s: only open ones get new revisions", p.ID, p.Status)
	case r.After != len(p.Revisions):
		return nil, fault.New(fault.Conflict, "pull request %d is at revision %d, not %d", p.ID, len(p.Revisions), r.After)
	case len(p.Revisions) >= MaxRevisions:
		return nil, fault.New(fault.Conflict, "pull request %d already has its maximum of %d revisions: open a new one", p.ID, MaxRevisions)
	}
	cur := p.Current()
	if cur.SourceCommit == r.SourceCommit && cur.DestinationCommit == r.DestinationCommit {
		return nil, fault.New(fault.Conflict, "pull request %d's revision %d already has these commits", p.ID, cur.Number)
	}
	rev := Revision{Number: cur.Number + 1, SourceCommit: r.SourceCommit, DestinationCommit: r.DestinationCommit, MergeBase: r.MergeBase, Time: c.Time}
	p.Revisions = append(p.Revisions, rev)
	detail := "source " + short(cur.SourceCommit) + ".." + short(rev.SourceCommit)
	if cur.DestinationCommit != rev.DestinationCommit {
		detail = "destination " + short(cur.DestinationCommit) + ".." + short(rev.DestinationCommit)
		if cur.SourceCommit != rev.SourceCommit {
			detail = "source " + short(cur.SourceCommit) + ".." + short(rev.SourceCommit) + ", " + detail
		}
	}
	p.touch(Event{Kind: "revision", Time: c.Time, Index: index, Revision: rev.Number, Detail: detail})
	if err := emit(tx, p, hooks.TypePullRequest, "", c.Time, prEvent{Action: "revised", PullRequest: payloadOf(p)}); err != nil {
		return nil, err
	}
	return p, putPR(tx, p)
}

// applyComment posts a comment after checking its body, its place and the PR's bound.
func applyComment(tx *state.Tx, index uint64, c *command.Command, cp CommentPayload) (any, error) {
	p, err := mustPR(tx, cp.ID)
	if err != nil {
		return nil, err
	}
	if err := validateBody(cp.Body); err != nil {
		return nil, err
	}
	if p.Comments >= MaxCommentsPerPR {
		return nil, fault.New(fault.Conflict, "pull request %d already has its maximum of %d comments", p.ID, MaxCommentsPerPR)
	}
	cm := Comment{PR: p.ID, ID: p.Comments + 1, Author: cp.Author, Body: cp.Body, Revision: p.Current().Number,
		CreateIndex: index, ModifyIndex: index, CreateTime: c.Time, ModifyTime: c.Time}
	if cp.InReplyTo != 0 {
		parent, ok, err := getComment(tx, p.ID, cp.InReplyTo)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fault.New(fault.NotFound, "comment %d of pull request %d not found: reply to one of its comments", cp.InReplyTo, p.ID)
		}
		if cp.Path != "" || cp.Line != 0 {
			return nil, fault.New(fault.Invalid, "a reply takes the place of the comment it answers: give no path or line")
		}
		cm.InReplyTo, cm.Path, cm.Line, cm.Side, cm.Commit, cm.Revision = parent.ID, parent.Path, parent.Line, parent.Side, parent.Commit, parent.Revision
	} else if cp.Path != "" || cp.Line != 0 {
		rev, err := placeComment(p, cp)
		if err != nil {
			return nil, err
		}
		cm.Path, cm.Line, cm.Side, cm.Commit, cm.Revision = cp.Path, cp.Line, cp.Side, cp.Commit, rev
		if cm.Side == "" {
			cm.Side = SideSource
		}
	}
	p.Comments = cm.ID
	p.touch(Event{Kind: "comment", Actor: cp.Author, Time: c.Time, Index: index, Comment: cm.ID, Revision: cm.Revision})
	if err := putComment(tx, cm); err != nil {
		return nil, err
	}
	if err := emit(tx, p, hooks.TypePullRequestComment, cp.Author, c.Time, commentEvent{Action: "created", PullRequest: payloadOf(p), Comment: cm}); err != nil {
		return nil, err
	}
	return cm, putPR(tx, p)
}

// placeComment checks a line comment's place and returns the revision it is on: the one whose
// source commit is cp.Commit, the latest when it is "".
func placeComment(p PR, cp CommentPayload) (int, error) {
	if cp.Path == "" || cp.Line < 1 {
		return 0, fault.New(fault.Invalid, "a line comment names a file (path) and a line from 1: give both, or neither for a comment on the whole pull request")
	}
	if len(cp.Path) > MaxPath || strings.HasPrefix(cp.Path, "/") || strings.ContainsRune(cp.Path, 0) || !utf8.ValidString(cp.Path) {
		return 0, fault.New(fault.Invalid, "path %q is not a file path of the repository (relative, at most %d bytes)", state.Shorten(cp.Path), MaxPath)
	}
	if cp.Side != "" && cp.Side != SideSource && cp.Side != SideDestination {
		return 0, fault.New(fault.Invalid, "side %q is not %s or %s", state.Shorten(cp.Side), SideSource, SideDestination)
	}
	if cp.Commit == "" {
		return p.Current().Number, nil
	}
	for _, r := range p.Revisions {
		if r.SourceCommit == cp.Commit {
			return r.Number, nil
		}
	}
	return 0, fault.New(fault.Invalid, "commit %s is not the source of any revision of pull request %d: comment on a revision's source commit", state.Shorten(cp.Commit), p.ID)
}

// ownComment reads a comment its actor may change: their own, not deleted.
func ownComment(tx *state.Tx, pr, id uint64, actor, verb string) (PR, Comment, error) {
	p, err := mustPR(tx, pr)
	if err != nil {
		return p, Comment{}, err
	}
	cm, ok, err := getComment(tx, pr, id)
	if err != nil {
		return p, cm, err
	}
	switch {
	case !ok:
		return p, cm, fault.New(fault.NotFound, "comment %d of pull request %d not found", id, pr)
	case cm.Author != actor:
		return p, cm, fault.New(fault.Forbidden, "comment %d of pull request %d is %s's: only its author may %s it", id, pr, cm.Author, verb)
	case cm.Deleted:
		return p, cm, fault.New(fault.Conflict, "comment %d of pull request %d was deleted", id, pr)
	}
	return p, cm, nil
}

func applyCommentUpdate(tx *state.Tx, index uint64, c *command.Command, u CommentUpdatePayload) (any, error) {
	if err := validateBody(u.Body); err != nil {
		return nil, err
	}
	p, cm, err := ownComment(tx, u.ID, u.Comment, u.Actor, "edit")
	if err != nil {
		return nil, err
	}
	cm.Body, cm.ModifyIndex, cm.ModifyTime = u.Body, index, c.Time
	p.touch(Event{Kind: "comment_edited", Actor: u.Actor, Time: c.Time, Index: index, Comment: cm.ID})
	if err := putComment(tx, cm); err != nil {
		return nil, err
	}
	if err := emit(tx, p, hooks.TypePullRequestComment, u.Actor, c.Time, commentEvent{Action: "edited", PullRequest: payloadOf(p), Comment: cm}); err != nil {
		return nil, err
	}
	return cm, putPR(tx, p)
}

func applyCommentDelete(tx *state.Tx, index uint64, c *command.Command, d CommentDeletePayload) (any, error) {
	p, cm, err := ownComment(tx, d.ID, d.Comment, d.Actor, "delete")
	if err != nil {
		return nil, err
	}
	cm.Body, cm.Deleted, cm.ModifyIndex, cm.ModifyTime = "", true, index, c.Time
	p.touch(Event{Kind: "comment_deleted", Actor: d.Actor, Time: c.Time, Index: index, Comment: cm.ID})
	if err := putComment(tx, cm); err != nil {
		return nil, err
	}
	if err := emit(tx, p, hooks.TypePullRequestComment, d.Actor, c.Time, commentEvent{Action: "deleted", PullRequest: payloadOf(p), Comment: cm}); err != nil {
		return nil, err
	}
	return cm, putPR(tx, p)
}

// applyMerge records a merge the engine made: the PR must still be open.
func applyMerge(tx *state.Tx, index uint64, c *command.Command, m MergePayload) (any, error) {
	p, err := mustPR(tx, m.ID)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusOpen {
		return nil, fault.New(fault.Conflict, "pull request %d is %s: only an open one is merged", p.ID, p.Status)
	}
	if !isCommitID(m.Commit) || m.Revision < 1 || m.Revision > len(p.Revisions) {
		return nil, fault.New(fault.Invalid, "a merge names its commit and a revision of the pull request")
	}
	n, err := getCounts(tx, p.RepoID)
	if err != nil {
		return nil, err
	}
	if n.Open > 0 {
		n.Open--
	}
	p.Status = StatusMerged
	p.Merge = &Merge{Commit: m.Commit, Strategy: m.Strategy, By: m.Actor, Revision: m.Revision, Time: c.Time}
	p.touch(Event{Kind: "merged", Actor: m.Actor, Time: c.Time, Index: index, Revision: m.Revision, Detail: m.Strategy + " " + m.Commit})
	if err := putCounts(tx, p.RepoID, n); err != nil {
		return nil, err
	}
	if err := emit(tx, p, hooks.TypePullRequest, m.Actor, c.Time, prEvent{Action: "merged", PullRequest: payloadOf(p)}); err != nil {
		return nil, err
	}
	return p, putPR(tx, p)
}

// applyApproval approves or revokes the PR's latest revision for its actor. The author cannot
// approve their own PR.
func applyApproval(tx *state.Tx, index uint64, c *command.Command, a ApprovalPayload) (any, error) {
	p, err := mustPR(tx, a.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Status != StatusOpen:
		return nil, fault.New(fault.Conflict, "pull request %d is %s: only an open one is approved", p.ID, p.Status)
	case a.Revision != len(p.Revisions):
		return nil, fault.New(fault.Conflict, "pull request %d is at revision %d, not %d: review the new revision first", p.ID, len(p.Revisions), a.Revision)
	case a.State == "APPROVE" && a.Actor == p.Author:
		return nil, fault.New(fault.Forbidden, "%s opened pull request %d and cannot approve it", a.Actor, p.ID)
	case a.State != "APPROVE" && a.State != "REVOKE":
		return nil, fault.New(fault.Invalid, "approval state %q is not APPROVE or REVOKE", state.Shorten(a.State))
	}
	i := 0
	for i < len(p.Approvals) && p.Approvals[i].User != a.Actor {
		i++
	}
	kind := "approved"
	if a.State == "REVOKE" {
		if i == len(p.Approvals) {
			return nil, fault.New(fault.Conflict, "%s has not approved pull request %d", a.Actor, p.ID)
		}
		p.Approvals = append(p.Approvals[:i], p.Approvals[i+1:]...)
		kind = "approval_revoked"
	} else {
		if i == len(p.Approvals) && len(p.Approvals) >= MaxApprovers {
			return nil, fault.New(fault.Conflict, "pull request %d already has its maximum of %d approvers", p.ID, MaxApprovers)
		}
		ap := Approval{User: a.Actor, Revision: a.Revision, Time: c.Time}
		if i == len(p.Approvals) {
			p.Approvals = append(p.Approvals, ap)
		} else {
			p.Approvals[i] = ap
		}
	}
	p.touch(Event{Kind: kind, Actor: a.Actor, Time: c.Time, Index: index, Revision: a.Revision})
	if err := emit(tx, p, hooks.TypePullRequestApproval, a.Actor, c.Time, approvalEvent{Action: kind, PullRequest: payloadOf(p), Revision: a.Revision}); err != nil {
		return nil, err
	}
	return p, putPR(tx, p)
}

func isCommitID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fault.New(fault.Internal, "decode review record: %v", err)
	}
	return nil
}

// applyMergeable records the background merge check of a PR's current revision.
func applyMergeable(tx *state.Tx, index uint64, c *command.Command, m MergeablePayload) (any, error) {
	p, err := mustPR(tx, m.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Status != StatusOpen:
		return nil, fault.New(fault.Conflict, "pull request %d is %s", p.ID, p.Status)
	case m.Revision != len(p.Revisions):
		return nil, fault.New(fault.Conflict, "pull request %d is at revision %d, not %d", p.ID, len(p.Revisions), m.Revision)
	case len(m.Conflicts) > MaxConflicts:
		return nil, fault.New(fault.Invalid, "%d conflicting paths are over the limit of %d", len(m.Conflicts), MaxConflicts)
	}
	for _, path := range m.Conflicts {
		if len(path) > MaxPath {
			return nil, fault.New(fault.Invalid, "a conflicting path is over %d bytes", MaxPath)
		}
	}
	ok := m.Mergeable
	cur := &p.Revisions[len(p.Revisions)-1]
	cur.Mergeable, cur.Conflicts = &ok, m.Conflicts
	p.ModifyIndex, p.ModifyTime = index, c.Time
	return p, putPR(tx, p)
}

// applyOverride overrides an open PR's approval rules for its actor, or revokes the override.
func applyOverride(tx *state.Tx, index uint64, c *command.Command, o OverridePayload) (any, error) {
	p, err := mustPR(tx, o.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Status != StatusOpen:
		return nil, fault.New(fault.Conflict, "pull request %d is %s", p.ID, p.Status)
	case o.Override && p.OverrideBy != "":
		return nil, fault.New(fault.Conflict, "%s already overrode the approval rules of pull request %d", p.OverrideBy, p.ID)
	case !o.Override && p.OverrideBy == "":
		return nil, fault.New(fault.Conflict, "the approval rules of pull request %d are not overridden", p.ID)
	}
	kind := "rules_overridden"
	if o.Override {
		p.OverrideBy = o.Actor
	} else {
		p.OverrideBy, kind = "", "override_revoked"
	}
	p.touch(Event{Kind: kind, Actor: o.Actor, Time: c.Time, Index: index})
	return p, putPR(tx, p)
}

// applyRule adds, replaces or deletes an approval rule of an open PR.
func applyRule(tx *state.Tx, index uint64, c *command.Command, r RulePayload) (any, error) {
	p, err := mustPR(tx, r.ID)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusOpen {
		return nil, fault.New(fault.Conflict, "pull request %d is %s: its rules stay as they were", p.ID, p.Status)
	}
	if r.Name == "" || len(r.Name) > MaxRuleName || !utf8.ValidString(r.Name) || strings.ContainsAny(r.Name, "\x00\n\r") {
		return nil, fault.New(fault.Invalid, "a rule's name is one line of 1-%d bytes", MaxRuleName)
	}
	i := 0
	for i < len(p.Rules) && p.Rules[i].Name != r.Name {
		i++
	}
	if r.Delete {
		if i == len(p.Rules) {
			return nil, fault.New(fault.NotFound, "pull request %d has no approval rule %s", p.ID, r.Name)
		}
		p.Rules = append(p.Rules[:i], p.Rules[i+1:]...)
		p.touch(Event{Kind: "rule_deleted", Actor: r.Actor, Time: c.Time, Index: index, Detail: r.Name})
		return p, putPR(tx, p)
	}
	if err := validateRule(r); err != nil {
		return nil, err
	}
	rule := Rule{Name: r.Name, Approvals: r.Approvals, Pool: r.Pool}
	if i == len(p.Rules) {
		if len(p.Rules) >= MaxRules {
			return nil, fault.New(fault.Conflict, "pull request %d already has its maximum of %d approval rules", p.ID, MaxRules)
		}
		p.Rules = append(p.Rules, rule)
	} else {
		p.Rules[i] = rule
	}
	p.touch(Event{Kind: "rule", Actor: r.Actor, Time: c.Time, Index: index, Detail: fmt.Sprintf("%s: %d from %s", r.Name, r.Approvals, strings.Join(r.Pool, ", "))})
	return p, putPR(tx, p)
}

func validateRule(r RulePayload) error {
	if r.Approvals < 1 || r.Approvals > MaxApprovers {
		return fault.New(fault.Invalid, "rule %s needs 1-%d approvals, not %d", r.Name, MaxApprovers, r.Approvals)
	}
	if len(r.Pool) == 0 || len(r.Pool) > MaxPool {
		return fault.New(fault.Invalid, "rule %s's pool names 1-%d users, groups (group:NAME) or globs", r.Name, MaxPool)
	}
	for _, e := range r.Pool {
		if e == "" || len(e) > MaxPoolEntry || strings.ContainsAny(e, "\x00\n\r ") || e == "group:" {
			return fault.New(fault.Invalid, "pool entry %q of rule %s is not a user, group:NAME or a glob", state.Shorten(e), r.Name)
		}
	}
	return nil
}
