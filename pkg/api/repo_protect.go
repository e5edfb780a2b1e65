package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// BranchProtection is a branch protection rule of a repository (PUT/GET/DELETE
// /v1/repos/{name}/protections/{pattern...}). Pattern is a glob on the branch name (main,
// release/*; `*` does not cross a `/`). A push, merge or PutFile that moves a matching branch
// is refused with "protected branch B: WHY" when it deletes the branch (NoDelete), is not a
// fast-forward (NoForcePush), is not a pull-request merge (RequirePR), is made by a principal
// not in PushPrincipals (when set: user or group names or globs, user:NAME, group:NAME, or
// KIND:NAME for a token or role), or when a context of RequiredStatuses is not success on the
// new commit.
type BranchProtection struct {
	Pattern          string    `json:"pattern"`
	NoForcePush      bool      `json:"no_force_push,omitempty"`
	NoDelete         bool      `json:"no_delete,omitempty"`
	RequirePR        bool      `json:"require_pull_request,omitempty"`
	PushPrincipals   []string  `json:"push_principals,omitempty"`
	RequiredStatuses []string  `json:"required_statuses,omitempty"`
	CreateIndex      uint64    `json:"create_index,omitempty"`
	ModifyIndex      uint64    `json:"modify_index,omitempty"`
	ModifyTime       time.Time `json:"modify_time,omitempty"`
}

// BranchProtectionList is the answer of GET /v1/repos/{name}/protections, in pattern order.
type BranchProtectionList struct {
	Protections []BranchProtection `json:"protections"`
}

// CommitStatusRequest is the body of POST /v1/repos/{name}/commits/{commit}/statuses. State is
// pending, success, failure or error; Context names what reports it (ci/build).
type CommitStatusRequest struct {
	State       string `json:"state"`
	Context     string `json:"context"`
	Description string `json:"description,omitempty"`
	TargetURL   string `json:"target_url,omitempty"`
}

// CommitStatus is one status of a commit.
type CommitStatus struct {
	Commit      string    `json:"commit"`
	State       string    `json:"state"`
	Context     string    `json:"context"`
	Description string    `json:"description,omitempty"`
	TargetURL   string    `json:"target_url,omitempty"`
	Creator     string    `json:"creator,omitempty"`
	CreateIndex uint64    `json:"create_index"`
	CreateTime  time.Time `json:"create_time"`
}

// CommitStatuses is the answer of GET /v1/repos/{name}/commits/{commit}/statuses: every status,
// oldest first; Latest the latest per context (context order); State the combined state
// (failure if any latest is failure or error, else pending if any is pending or there are
// none, else success).
type CommitStatuses struct {
	Commit   string         `json:"commit"`
	State    string         `json:"state"`
	Latest   []CommitStatus `json:"latest"`
	Statuses []CommitStatus `json:"statuses"`
}

func protectionPath(repo, pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return repoPath(repo) + "/protections/" + strings.Join(parts, "/")
}

// RepoProtect creates or replaces the rule of p.Pattern.
func (c *Client) RepoProtect(ctx context.Context, repo string, p BranchProtection) (*BranchProtection, error) {
	var out BranchProtection
	err := c.do(ctx, request{method: http.MethodPut, path: protectionPath(repo, p.Pattern), in: p, out: &out})
	return &out, err
}

// RepoProtections lists a repository's rules.
func (c *Client) RepoProtections(ctx context.Context, repo string) (*BranchProtectionList, error) {
	var out BranchProtectionList
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(repo) + "/protections", out: &out})
	return &out, err
}

// RepoUnprotect removes the rule of pattern; an unknown one is not found (IsNotFound).
func (c *Client) RepoUnprotect(ctx context.Context, repo, pattern string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: protectionPath(repo, pattern)})
}

// RepoSetStatus adds a status to a commit (a full commit ID).
func (c *Client) RepoSetStatus(ctx context.Context, repo, commit string, req CommitStatusRequest) (*CommitStatus, error) {
	var out CommitStatus
	err := c.do(ctx, request{method: http.MethodPost, path: repoPath(repo) + "/commits/" + url.PathEscape(commit) + "/statuses", in: req, out: &out})
	return &out, err
}

// RepoStatuses returns a commit's statuses and combined state.
func (c *Client) RepoStatuses(ctx context.Context, repo, commit string) (*CommitStatuses, error) {
	var out CommitStatuses
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(repo) + "/commits/" + url.PathEscape(commit) + "/statuses", out: &out})
	return &out, err
}
