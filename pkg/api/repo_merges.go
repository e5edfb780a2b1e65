package api

import (
	"context"
	"net/http"
	"net/url"
)

// The merge strategies of RepoMergeRequest.Strategy (CodeCommit's three).
const (
	MergeFastForward = "fast-forward"
	MergeSquash      = "squash"
	MergeThreeWay    = "three-way"
)

// RepoMergeRequest is the body of POST /v1/repos/{name}/merges/{strategy} and of POST
// /v1/repos/{name}/mergeability: merge branch Source into branch Destination. SourceCommit and
// DestinationCommit are the heads the caller reviewed (40 hex digits): a merge needs both, and
// is a conflict (IsConflict) when either branch has moved since; a mergeability check takes an
// empty one as the branch's head now. Message is the commit message (default: one naming the
// branches; a squash's lists the squashed commits). Strategy is one of MergeFastForward,
// MergeSquash, MergeThreeWay (in the body for /mergeability; the path names it for /merges).
type RepoMergeRequest struct {
	Source            string `json:"source"`
	Destination       string `json:"destination"`
	SourceCommit      string `json:"source_commit,omitempty"`
	DestinationCommit string `json:"destination_commit,omitempty"`
	Strategy          string `json:"strategy,omitempty"`
	Message           string `json:"message,omitempty"`
}

// RepoMergeResult is the answer of a merge (Commit: the destination's new head; for a
// fast-forward, the source commit) or of a mergeability check (Mergeable, and the Conflicts
// that keep it from merging, at most 1,000 paths).
type RepoMergeResult struct {
	Commit    string   `json:"commit,omitempty"`
	Mergeable bool     `json:"mergeable"`
	Conflicts []string `json:"conflicts,omitempty"`
}

// RepoMerge merges req.Source into req.Destination with req.Strategy through the same
// replicated ref update as a push. A merge that conflicts, a branch that moved and a
// fast-forward that is not possible are conflicts (IsConflict) and change nothing.
func (c *Client) RepoMerge(ctx context.Context, name string, req RepoMergeRequest) (*RepoMergeResult, error) {
	var out RepoMergeResult
	err := c.do(ctx, request{method: http.MethodPost, path: repoPath(name) + "/merges/" + url.PathEscape(req.Strategy), in: req, out: &out})
	return &out, err
}

// RepoMergeable checks, moving nothing, whether req would merge and which paths conflict.
func (c *Client) RepoMergeable(ctx context.Context, name string, req RepoMergeRequest) (*RepoMergeResult, error) {
	var out RepoMergeResult
	err := c.do(ctx, request{method: http.MethodPost, path: repoPath(name) + "/mergeability", in: req, out: &out})
	return &out, err
}
