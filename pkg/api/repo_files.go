package api

import (
	"context"
	"net/http"
)

// FilePutRequest is the body of POST /v1/repos/{name}/files: one file written (or deleted) on a
// branch as a new commit, as CodeCommit's PutFile. Content is the file's text, or
// ContentBase64 its bytes (set one of them; both empty is an empty file). Parent is the commit
// the change was made against: required when the branch exists (a branch that moved since is a
// conflict, IsConflict), and when the branch does not exist yet, the commit it starts from (""
// for a first commit in an empty repository).
type FilePutRequest struct {
	Branch        string `json:"branch"`
	Path          string `json:"path"`
	Content       string `json:"content,omitempty"`
	ContentBase64 string `json:"content_base64,omitempty"`
	Parent        string `json:"parent,omitempty"`
	Message       string `json:"message"`
	Delete        bool   `json:"delete,omitempty"`
}

// FilePutResult is the answer of POST /v1/repos/{name}/files: the new commit, now the branch's
// head, its parent ("" for a first commit) and the file's blob ("" when deleted).
type FilePutResult struct {
	Commit string `json:"commit"`
	Parent string `json:"parent,omitempty"`
	Branch string `json:"branch"`
	Path   string `json:"path"`
	Blob   string `json:"blob,omitempty"`
}

// RepoPutFile commits one file's new content (or its deletion) on a branch through the same
// replicated ref update as a push.
func (c *Client) RepoPutFile(ctx context.Context, name string, req FilePutRequest) (*FilePutResult, error) {
	var out FilePutResult
	err := c.do(ctx, request{method: http.MethodPost, path: repoPath(name) + "/files", in: req, out: &out})
	return &out, err
}
