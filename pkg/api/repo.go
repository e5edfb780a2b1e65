package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Repository is a git repository the cluster hosts. ID is stable (a rename keeps it); clone it
// with git from CloneURLHTTP or CloneURLSSH (ssh://git@HOST:PORT/NAME.git; "" when the server
// that answered serves no SSH).
type Repository struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	DefaultBranch string            `json:"default_branch"`
	Tags          map[string]string `json:"tags,omitempty"`
	CloneURLHTTP  string            `json:"clone_url_http"`
	CloneURLSSH   string            `json:"clone_url_ssh"`
	CreateIndex   uint64            `json:"create_index"`
	ModifyIndex   uint64            `json:"modify_index"`
	CreateTime    time.Time         `json:"create_time"`
	ModifyTime    time.Time         `json:"modify_time"`
}

// RepositoryCreateRequest is the body of POST /v1/repos. DefaultBranch "" is "main".
type RepositoryCreateRequest struct {
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	DefaultBranch string            `json:"default_branch,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// RepositoryUpdateRequest is the body of PATCH /v1/repos/{name}: each field set is changed, the
// others are kept. Name renames the repository (its refs and clone history stay); Tags replaces
// every tag.
type RepositoryUpdateRequest struct {
	Name          *string            `json:"name,omitempty"`
	Description   *string            `json:"description,omitempty"`
	DefaultBranch *string            `json:"default_branch,omitempty"`
	Tags          *map[string]string `json:"tags,omitempty"`
}

// RepositoryList is the answer of GET /v1/repos: repositories in name order, a page at a time.
type RepositoryList struct {
	Repositories []Repository `json:"repositories"`
	Next         string       `json:"next,omitempty"`
}

// RepositoryRefs is the answer of GET /v1/repos/{name}/refs: every ref of the repository in the
// replicated state (full name, e.g. refs/heads/main, to its 40-hex object ID). These are the
// refs every server's copy converges to; a server's copy may lag them for a moment.
type RepositoryRefs struct {
	Refs map[string]string `json:"refs"`
}

func repoPath(name string) string { return "/v1/repos/" + url.PathEscape(name) }

// RepoCreate creates a repository; a name in use is a conflict (IsConflict).
func (c *Client) RepoCreate(ctx context.Context, req RepositoryCreateRequest) (*Repository, error) {
	var r Repository
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/repos", in: req, out: &r})
	return &r, err
}

// RepoGet returns a repository; an unknown name is not_found (IsNotFound).
func (c *Client) RepoGet(ctx context.Context, name string, q *QueryOptions) (*Repository, error) {
	var r Repository
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name), query: q.values(), out: &r})
	return &r, err
}

// RepoRefs returns a repository's refs as the replicated state holds them; QueryOptions'
// Consistent reads them after a read barrier.
func (c *Client) RepoRefs(ctx context.Context, name string, q *QueryOptions) (*RepositoryRefs, error) {
	var r RepositoryRefs
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/refs", query: q.values(), out: &r})
	return &r, err
}

// RepoList lists a page of repositories in name order (QueryOptions' Limit and Next).
func (c *Client) RepoList(ctx context.Context, q *QueryOptions) (*RepositoryList, error) {
	var l RepositoryList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/repos", query: q.values(), out: &l})
	return &l, err
}

// RepoUpdate changes a repository's metadata and answers with the repository as changed.
func (c *Client) RepoUpdate(ctx context.Context, name string, req RepositoryUpdateRequest) (*Repository, error) {
	var r Repository
	err := c.do(ctx, request{method: http.MethodPatch, path: repoPath(name), in: req, out: &r})
	return &r, err
}

// RepoDelete deletes a repository with its refs and history. confirm must repeat the name: the
// server refuses the delete otherwise.
func (c *Client) RepoDelete(ctx context.Context, name, confirm string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: repoPath(name), query: url.Values{"confirm": {confirm}}})
}

// GitSSHHostKey is the answer of GET /v1/git/ssh-host-key: the host key every server of the
// cluster presents to git over SSH (one key for the whole cluster, so a client's known_hosts
// entry holds through a failover), and how the answering server serves SSH. Port is 0 and
// KnownHosts "" when that server serves no SSH.
type GitSSHHostKey struct {
	// PublicKey is the key in authorized_keys form ("ssh-ed25519 AAAA...").
	PublicKey string `json:"public_key"`
	// Fingerprint is its SHA256 fingerprint, as ssh prints it on first connection.
	Fingerprint string `json:"fingerprint"`
	// Port is the answering server's SSH port.
	Port int `json:"port"`
	// KnownHosts is a known_hosts line for the answering server ("[HOST]:PORT ssh-ed25519 ...").
	KnownHosts string `json:"known_hosts,omitempty"`
}

// GitSSHHostKey returns the cluster's SSH host key (no token needed: every SSH client is shown
// it before it authenticates).
func (c *Client) GitSSHHostKey(ctx context.Context) (*GitSSHHostKey, error) {
	var k GitSSHHostKey
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/git/ssh-host-key", out: &k})
	return &k, err
}
