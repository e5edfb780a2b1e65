package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// PullRequest is a pull request (GET /v1/pull-requests/{id}): merging Source into Destination,
// branches of Repository. Status is open, closed or merged. Revisions are in order, the last the
// current one; each push that moves either branch of an open pull request adds one. Commits
// (from the merge base to the source, newest first) and Files (the diff stat from the merge
// base) are in a single pull request's answer, not in lists.
type PullRequest struct {
	ID          string              `json:"id"`
	Repository  string              `json:"repository"`
	Source      string              `json:"source"`
	Destination string              `json:"destination"`
	Title       string              `json:"title"`
	Description string              `json:"description,omitempty"`
	Author      string              `json:"author"`
	Status      string              `json:"status"`
	Revision    PullRequestRevision `json:"revision"`
	// Mergeable is the current revision's (unset: not known yet).
	Mergeable *bool                 `json:"mergeable"`
	Revisions []PullRequestRevision `json:"revisions"`
	Timeline  []PullRequestEvent    `json:"timeline"`
	Approvals []PullRequestApproval `json:"approvals"`
	// Rules are the approval rules with whether each holds (in a single pull request's
	// answer), Approved when all do.
	Rules    []PullRequestRuleState `json:"rules,omitempty"`
	Approved bool                   `json:"approved"`
	// OverriddenBy overrode the approval rules ("": nobody).
	OverriddenBy string            `json:"overridden_by,omitempty"`
	Comments     int               `json:"comments"`
	Merge        *PullRequestMerge `json:"merge,omitempty"`
	Commits      []Commit          `json:"commits,omitempty"`
	// CommitsTruncated: there are more commits than Commits lists.
	CommitsTruncated bool       `json:"commits_truncated,omitempty"`
	Files            []FileStat `json:"files,omitempty"`
	FilesTruncated   bool       `json:"files_truncated,omitempty"`
	CreateTime       time.Time  `json:"create_time"`
	ModifyTime       time.Time  `json:"modify_time"`
}

// PullRequestRevision is the pair of commits a pull request compared at one time and their
// merge base ("" when they share no history).
type PullRequestRevision struct {
	Number            int       `json:"number"`
	SourceCommit      string    `json:"source_commit"`
	DestinationCommit string    `json:"destination_commit"`
	MergeBase         string    `json:"merge_base,omitempty"`
	Time              time.Time `json:"time"`
	// Mergeable is whether the revision merges cleanly (three-way), unset until the background
	// check ran (or while the server has no merge engine); Conflicts the paths that do not.
	Mergeable *bool    `json:"mergeable,omitempty"`
	Conflicts []string `json:"conflicts,omitempty"`
}

// PullRequestEvent is one entry of a pull request's timeline: Kind is created, revision,
// comment, comment_edited, comment_deleted, approved, approval_revoked, title, description,
// closed, reopened or merged.
type PullRequestEvent struct {
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor,omitempty"`
	Time     time.Time `json:"time"`
	Revision int       `json:"revision,omitempty"`
	Comment  string    `json:"comment,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// PullRequestApproval is a user's approval of a revision; Stale when a later revision exists.
type PullRequestApproval struct {
	User     string    `json:"user"`
	Revision int       `json:"revision"`
	Stale    bool      `json:"stale,omitempty"`
	Time     time.Time `json:"time"`
}

// PullRequestMerge says how a pull request was merged.
type PullRequestMerge struct {
	Commit   string    `json:"commit"`
	Strategy string    `json:"strategy"`
	By       string    `json:"by"`
	Revision int       `json:"revision"`
	Time     time.Time `json:"time"`
}

// PullRequestCreateRequest is the body of POST /v1/pull-requests.
type PullRequestCreateRequest struct {
	Repository  string `json:"repository"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// PullRequestUpdateRequest changes a pull request's title and/or description (each field set):
// PullRequestUpdate puts each to its own route, as CodeCommit authorizes each by its own action.
type PullRequestUpdateRequest struct {
	Title       *string `json:"title,omitempty"`
	Description *string `json:"description,omitempty"`
}

// PullRequestTitleRequest is the body of PUT /v1/pull-requests/{id}/title.
type PullRequestTitleRequest struct {
	Title string `json:"title"`
}

// PullRequestDescriptionRequest is the body of PUT /v1/pull-requests/{id}/description.
type PullRequestDescriptionRequest struct {
	Description string `json:"description"`
}

// PullRequestStatusRequest is the body of POST /v1/pull-requests/{id}/status: open or closed.
type PullRequestStatusRequest struct {
	Status string `json:"status"`
}

// PullRequestFilter selects pull requests in a list; an empty field selects all.
type PullRequestFilter struct {
	Repository  string
	Status      string
	Author      string
	Destination string
}

// PullRequestList is the answer of GET /v1/pull-requests, in number order.
type PullRequestList struct {
	PullRequests []PullRequest `json:"pull_requests"`
	Next         string        `json:"next,omitempty"`
}

// PullRequestComment is a comment on a pull request: on the whole of it, or on line Line of
// the file Path (Side source: in the revision's source commit Commit; destination: in its merge
// base), or a reply (InReplyTo) in its parent's place. A deleted one keeps its place with no
// body.
type PullRequestComment struct {
	ID         string    `json:"id"`
	InReplyTo  string    `json:"in_reply_to,omitempty"`
	Author     string    `json:"author"`
	Body       string    `json:"body"`
	Path       string    `json:"path,omitempty"`
	Line       int       `json:"line,omitempty"`
	Side       string    `json:"side,omitempty"`
	Commit     string    `json:"commit,omitempty"`
	Revision   int       `json:"revision"`
	Deleted    bool      `json:"deleted,omitempty"`
	CreateTime time.Time `json:"create_time"`
	ModifyTime time.Time `json:"modify_time"`
}

// PullRequestCommentRequest is the body of POST /v1/pull-requests/{id}/comments (and of a
// reply, without Path, Line, Side and Commit). Commit "" is the current revision's source.
type PullRequestCommentRequest struct {
	Body   string `json:"body"`
	Path   string `json:"path,omitempty"`
	Line   int    `json:"line,omitempty"`
	Side   string `json:"side,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// PullRequestCommentList is the answer of GET /v1/pull-requests/{id}/comments.
type PullRequestCommentList struct {
	Comments []PullRequestComment `json:"comments"`
}

// PullRequestApprovalRequest is the body of POST /v1/pull-requests/{id}/approval: State
// APPROVE or REVOKE, for Revision (0: the current one; another is refused when it is not the
// current one, as the reviewer looked at an older one).
type PullRequestApprovalRequest struct {
	State    string `json:"state"`
	Revision int    `json:"revision,omitempty"`
}

// PullRequestMergeRequest is the body of POST /v1/pull-requests/{id}/merge/STRATEGY (Strategy
// fast-forward, squash or three-way: PullRequestMerge puts it in the path). SourceCommit is the
// source commit the caller reviewed ("": the current revision's); a source that moved since is
// refused.
type PullRequestMergeRequest struct {
	Strategy     string `json:"strategy"`
	SourceCommit string `json:"source_commit,omitempty"`
	Message      string `json:"message,omitempty"`
}

// PullRequestDiff is the answer of GET /v1/pull-requests/{id}/diff: the current revision's
// diff from the merge base to the source.
type PullRequestDiff struct {
	Revision int        `json:"revision"`
	Base     string     `json:"base"`
	Head     string     `json:"head"`
	Files    []FileStat `json:"files"`
	Patch    string     `json:"patch"`
	// Truncated: the stat or patch was cut at the server's bound.
	Truncated bool `json:"truncated,omitempty"`
}

func prPath(id string) string { return "/v1/pull-requests/" + url.PathEscape(id) }

// PullRequestCreate opens a pull request.
func (c *Client) PullRequestCreate(ctx context.Context, req PullRequestCreateRequest) (*PullRequest, error) {
	var p PullRequest
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/pull-requests", in: req, out: &p})
	return &p, err
}

// PullRequestGet reads a pull request with its commits and diff stat.
func (c *Client) PullRequestGet(ctx context.Context, id string, q *QueryOptions) (*PullRequest, error) {
	var p PullRequest
	err := c.do(ctx, request{method: http.MethodGet, path: prPath(id), query: q.values(), out: &p})
	return &p, err
}

// PullRequestList lists pull requests matching f, a page at a time.
func (c *Client) PullRequestList(ctx context.Context, f PullRequestFilter, q *QueryOptions) (*PullRequestList, error) {
	v := q.values()
	if v == nil {
		v = url.Values{}
	}
	for k, s := range map[string]string{"repository": f.Repository, "status": f.Status, "author": f.Author, "destination": f.Destination} {
		if s != "" {
			v.Set(k, s)
		}
	}
	var l PullRequestList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/pull-requests", query: v, out: &l})
	return &l, err
}

// PullRequestUpdate changes a pull request's title and/or description (one request each).
func (c *Client) PullRequestUpdate(ctx context.Context, id string, req PullRequestUpdateRequest) (*PullRequest, error) {
	var p PullRequest
	if req.Title == nil && req.Description == nil {
		return &p, &Error{Code: CodeBadRequest, Message: "the update changes nothing: give a title or a description"}
	}
	if req.Title != nil {
		if err := c.do(ctx, request{method: http.MethodPut, path: prPath(id) + "/title", in: PullRequestTitleRequest{Title: *req.Title}, out: &p}); err != nil {
			return &p, err
		}
	}
	if req.Description != nil {
		if err := c.do(ctx, request{method: http.MethodPut, path: prPath(id) + "/description", in: PullRequestDescriptionRequest{Description: *req.Description}, out: &p}); err != nil {
			return &p, err
		}
	}
	return &p, nil
}

// PullRequestSetStatus closes (closed) or reopens (open) a pull request.
func (c *Client) PullRequestSetStatus(ctx context.Context, id, status string) (*PullRequest, error) {
	var p PullRequest
	err := c.do(ctx, request{method: http.MethodPost, path: prPath(id) + "/status", in: PullRequestStatusRequest{Status: status}, out: &p})
	return &p, err
}

// PullRequestDiff reads the current revision's patch.
func (c *Client) PullRequestDiff(ctx context.Context, id string) (*PullRequestDiff, error) {
	var d PullRequestDiff
	err := c.do(ctx, request{method: http.MethodGet, path: prPath(id) + "/diff", out: &d})
	return &d, err
}

// PullRequestComment posts a comment on a pull request.
func (c *Client) PullRequestComment(ctx context.Context, id string, req PullRequestCommentRequest) (*PullRequestComment, error) {
	var cm PullRequestComment
	err := c.do(ctx, request{method: http.MethodPost, path: prPath(id) + "/comments", in: req, out: &cm})
	return &cm, err
}

// PullRequestReply replies to a comment of a pull request.
func (c *Client) PullRequestReply(ctx context.Context, id, comment, body string) (*PullRequestComment, error) {
	var cm PullRequestComment
	err := c.do(ctx, request{method: http.MethodPost, path: prPath(id) + "/comments/" + url.PathEscape(comment) + "/replies", in: PullRequestCommentRequest{Body: body}, out: &cm})
	return &cm, err
}

// PullRequestComments lists a pull request's comments in the order they were posted.
func (c *Client) PullRequestComments(ctx context.Context, id string, q *QueryOptions) (*PullRequestCommentList, error) {
	var l PullRequestCommentList
	err := c.do(ctx, request{method: http.MethodGet, path: prPath(id) + "/comments", query: q.values(), out: &l})
	return &l, err
}

// PullRequestCommentUpdate edits one's own comment.
func (c *Client) PullRequestCommentUpdate(ctx context.Context, id, comment, body string) (*PullRequestComment, error) {
	var cm PullRequestComment
	err := c.do(ctx, request{method: http.MethodPatch, path: prPath(id) + "/comments/" + url.PathEscape(comment), in: PullRequestCommentRequest{Body: body}, out: &cm})
	return &cm, err
}

// PullRequestCommentDelete removes one's own comment's content (its place stays).
func (c *Client) PullRequestCommentDelete(ctx context.Context, id, comment string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: prPath(id) + "/comments/" + url.PathEscape(comment)})
}

// PullRequestApproval approves or revokes one's approval of a pull request.
func (c *Client) PullRequestApproval(ctx context.Context, id string, req PullRequestApprovalRequest) (*PullRequest, error) {
	var p PullRequest
	err := c.do(ctx, request{method: http.MethodPost, path: prPath(id) + "/approval", in: req, out: &p})
	return &p, err
}

// PullRequestMerge merges a pull request with a strategy (fast-forward, squash, three-way).
func (c *Client) PullRequestMerge(ctx context.Context, id string, req PullRequestMergeRequest) (*PullRequest, error) {
	var p PullRequest
	switch req.Strategy {
	case "fast-forward", "squash", "three-way":
	default:
		return &p, &Error{Code: CodeBadRequest, Message: fmt.Sprintf("merge strategy %q is not fast-forward, squash or three-way", req.Strategy)}
	}
	err := c.do(ctx, request{method: http.MethodPost, path: prPath(id) + "/merge/" + req.Strategy, in: req, out: &p})
	return &p, err
}

// PullRequestRule is an approval rule of a pull request (the body of POST
// /v1/pull-requests/{id}/rules): Approvals approvals of the current revision from Pool, whose
// entries are user names, "group:NAME" or globs over user names (dev-*). A rule of the same name
// is replaced.
type PullRequestRule struct {
	Name      string   `json:"name"`
	Approvals int      `json:"approvals"`
	Pool      []string `json:"pool"`
}

// PullRequestRuleState is a rule with whether it holds now: ApprovedBy are the current
// revision's approvers in its pool. Origin says where the rule comes from: "" for a rule on the
// pull request, RuleOriginTemplate for an approval rule template's (its Name is the template's),
// RuleOriginCodeOwners for a CODEOWNERS entry of the destination branch (Paths are the changed
// paths it covers).
type PullRequestRuleState struct {
	PullRequestRule
	Origin string   `json:"origin,omitempty"`
	Paths  []string `json:"paths,omitempty"`
	// MorePaths is how many more changed paths the rule covers than Paths lists.
	MorePaths  int      `json:"more_paths,omitempty"`
	Satisfied  bool     `json:"satisfied"`
	ApprovedBy []string `json:"approved_by"`
}

// Where a pull request's rule comes from (PullRequestRuleState.Origin).
const (
	RuleOriginTemplate   = "template"
	RuleOriginCodeOwners = "codeowners"
)

// PullRequestEvaluation is the answer of GET /v1/pull-requests/{id}/evaluation: Approved when
// every rule holds (a pull request without rules is approved).
type PullRequestEvaluation struct {
	Approved bool `json:"approved"`
	// OverriddenBy overrode the rules (then Approved whatever they say).
	OverriddenBy string                 `json:"overridden_by,omitempty"`
	Rules        []PullRequestRuleState `json:"rules"`
	// CodeOwners is the CODEOWNERS file the rules of origin RuleOriginCodeOwners come from
	// (unset: the destination has none, or the pull request is not open).
	CodeOwners *CodeOwnersFile `json:"code_owners,omitempty"`
}

// CodeOwnersFile is a CODEOWNERS file as a pull request's evaluation read it: its Path on the
// destination branch at Commit (the current revision's destination commit), and the problems of
// its lines (a line with a problem other than an email owner was skipped; a file too large was
// ignored).
type CodeOwnersFile struct {
	Path        string                 `json:"path"`
	Commit      string                 `json:"commit"`
	Diagnostics []CodeOwnersDiagnostic `json:"diagnostics,omitempty"`
}

// CodeOwnersDiagnostic is one problem of a CODEOWNERS file: its Line (1-based; 0: the whole
// file), Kind (pattern, negation, owner, email, too_large or more) and what to write instead.
type CodeOwnersDiagnostic struct {
	Line    int    `json:"line,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// PullRequestOverride overrides a pull request's approval rules (override true) or revokes
// the override (codecommit:OverridePullRequestApprovalRules).
func (c *Client) PullRequestOverride(ctx context.Context, id string, override bool) (*PullRequest, error) {
	var p PullRequest
	err := c.do(ctx, request{method: http.MethodPost, path: prPath(id) + "/override", in: PullRequestOverrideRequest{Override: override}, out: &p})
	return &p, err
}

// PullRequestOverrideRequest is the body of POST /v1/pull-requests/{id}/override.
type PullRequestOverrideRequest struct {
	Override bool `json:"override"`
}

// PullRequestRuleCreate adds (or replaces) an approval rule of a pull request.
func (c *Client) PullRequestRuleCreate(ctx context.Context, id string, rule PullRequestRule) (*PullRequest, error) {
	var p PullRequest
	err := c.do(ctx, request{method: http.MethodPost, path: prPath(id) + "/rules", in: rule, out: &p})
	return &p, err
}

// PullRequestRuleDelete removes an approval rule of a pull request.
func (c *Client) PullRequestRuleDelete(ctx context.Context, id, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: prPath(id) + "/rules/" + url.PathEscape(name)})
}

// PullRequestEvaluate says which approval rules of a pull request hold.
func (c *Client) PullRequestEvaluate(ctx context.Context, id string, q *QueryOptions) (*PullRequestEvaluation, error) {
	var e PullRequestEvaluation
	err := c.do(ctx, request{method: http.MethodGet, path: prPath(id) + "/evaluation", query: q.values(), out: &e})
	return &e, err
}
