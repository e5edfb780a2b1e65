package review

import "github.com/slipwayhq/slipway/server/core/command"

// The service's commands, numbered in its range (1400-1499). Their numbers, names, schema
// versions and payload JSON are part of the Raft log format: never change them. The names start
// with "pr." so that their events are of kind "pr". The proposer resolves everything that needs
// git or the identity service (commits, merge bases, the caller's name); apply checks the state
// and bounds only, so every server applies the same.
var (
	cmdCreate        = command.Define[CreatePayload](1400, "pr.create", 1)
	cmdUpdate        = command.Define[UpdatePayload](1401, "pr.update", 1)
	cmdStatus        = command.Define[StatusPayload](1402, "pr.status", 1)
	cmdRevise        = command.Define[RevisePayload](1403, "pr.revise", 1)
	cmdComment       = command.Define[CommentPayload](1404, "pr.comment", 1)
	cmdCommentUpdate = command.Define[CommentUpdatePayload](1405, "pr.comment_update", 1)
	cmdCommentDelete = command.Define[CommentDeletePayload](1406, "pr.comment_delete", 1)
	cmdMerge         = command.Define[MergePayload](1407, "pr.merge", 1)
	cmdApproval      = command.Define[ApprovalPayload](1408, "pr.approval", 1)
	cmdRule          = command.Define[RulePayload](1409, "pr.rule", 1)
	cmdMergeable     = command.Define[MergeablePayload](1410, "pr.mergeable", 1)
	cmdOverride      = command.Define[OverridePayload](1411, "pr.override", 1)
)

// OverridePayload overrides a pull request's approval rules (Override true: it counts as
// approved whatever its rules say) or revokes the override.
type OverridePayload struct {
	ID       uint64 `json:"id"`
	Override bool   `json:"override"`
	Actor    string `json:"actor"`
}

// MergeablePayload records whether revision Revision (which must be the current one) merges
// cleanly with a three-way merge, and the conflicting paths when it does not (at most
// MaxConflicts).
type MergeablePayload struct {
	ID        uint64   `json:"id"`
	Revision  int      `json:"revision"`
	Mergeable bool     `json:"mergeable"`
	Conflicts []string `json:"conflicts,omitempty"`
}

// RulePayload adds (or replaces, by Name) an approval rule of a pull request: Approvals
// approvals of its current revision from Pool (user names, "group:NAME", or globs over user
// names with *). Delete removes the rule Name instead.
type RulePayload struct {
	ID        uint64   `json:"id"`
	Name      string   `json:"name"`
	Approvals int      `json:"approvals,omitempty"`
	Pool      []string `json:"pool,omitempty"`
	Delete    bool     `json:"delete,omitempty"`
	Actor     string   `json:"actor"`
}

// CreatePayload opens a pull request from Source into Destination (branch names, without
// refs/heads/) of the repository RepoID (named Repo when proposed) at its first revision. Apply
// gives it the next pull-request number.
type CreatePayload struct {
	RepoID            string `json:"repo_id"`
	Repo              string `json:"repo"`
	Source            string `json:"source"`
	Destination       string `json:"destination"`
	Title             string `json:"title"`
	Description       string `json:"description,omitempty"`
	Author            string `json:"author"`
	SourceCommit      string `json:"source_commit"`
	DestinationCommit string `json:"destination_commit"`
	MergeBase         string `json:"merge_base,omitempty"`
}

// UpdatePayload changes a pull request's title and/or description (nil: left as it is).
type UpdatePayload struct {
	ID          uint64  `json:"id"`
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
	Actor       string  `json:"actor"`
}

// StatusPayload closes (Status "closed") or reopens ("open") a pull request.
type StatusPayload struct {
	ID     uint64 `json:"id"`
	Status string `json:"status"`
	Actor  string `json:"actor"`
}

// RevisePayload adds a revision to an open pull request: After is the number of the revision
// it follows, a compare-and-swap (a revision proposed twice applies once).
type RevisePayload struct {
	ID                uint64 `json:"id"`
	After             int    `json:"after"`
	SourceCommit      string `json:"source_commit"`
	DestinationCommit string `json:"destination_commit"`
	MergeBase         string `json:"merge_base,omitempty"`
}

// CommentPayload posts a comment on a pull request: on the whole PR, on a line of a file
// (Path, Line, Side) at the revision whose source commit is Commit, or in reply to a comment
// (InReplyTo, which the reply's place follows).
type CommentPayload struct {
	ID        uint64 `json:"id"`
	InReplyTo uint64 `json:"in_reply_to,omitempty"`
	Body      string `json:"body"`
	Path      string `json:"path,omitempty"`
	Line      int    `json:"line,omitempty"`
	Side      string `json:"side,omitempty"`
	Commit    string `json:"commit,omitempty"`
	Author    string `json:"author"`
}

// CommentUpdatePayload edits a comment's body; only its author may.
type CommentUpdatePayload struct {
	ID      uint64 `json:"id"`
	Comment uint64 `json:"comment"`
	Body    string `json:"body"`
	Actor   string `json:"actor"`
}

// CommentDeletePayload removes a comment's content; its place (and its replies) stay. Only its
// author may.
type CommentDeletePayload struct {
	ID      uint64 `json:"id"`
	Comment uint64 `json:"comment"`
	Actor   string `json:"actor"`
}

// MergePayload records that the merge engine merged revision Revision (source SourceCommit)
// into the destination as Commit with Strategy.
type MergePayload struct {
	ID           uint64 `json:"id"`
	Revision     int    `json:"revision"`
	SourceCommit string `json:"source_commit"`
	Commit       string `json:"commit"`
	Strategy     string `json:"strategy"`
	Actor        string `json:"actor"`
}

// ApprovalPayload approves (State "APPROVE") or revokes ("REVOKE") the pull request at revision
// Revision, which must be its latest.
type ApprovalPayload struct {
	ID       uint64 `json:"id"`
	Revision int    `json:"revision"`
	State    string `json:"state"`
	Actor    string `json:"actor"`
}
