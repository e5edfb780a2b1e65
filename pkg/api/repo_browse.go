package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Branch is a branch of a repository and the commit it points at.
type Branch struct {
	Name   string `json:"name"`
	Commit string `json:"commit"`
}

// BranchList is the answer of GET /v1/repos/{name}/branches, in name order.
type BranchList struct {
	Branches []Branch `json:"branches"`
}

// Tag is a git tag. Commit is the commit it names in the end; an annotated tag also has its
// own object (Object), the message and the tagger, and Target is the object it points at.
type Tag struct {
	Name      string     `json:"name"`
	Commit    string     `json:"commit,omitempty"`
	Annotated bool       `json:"annotated"`
	Object    string     `json:"object,omitempty"`
	Target    string     `json:"target,omitempty"`
	Tagger    *Signature `json:"tagger,omitempty"`
	Message   string     `json:"message,omitempty"`
}

// TagList is the answer of GET /v1/repos/{name}/tags, in name order.
type TagList struct {
	Tags []Tag `json:"tags"`
}

// Signature is who authored, committed or tagged, and when.
type Signature struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Time  time.Time `json:"time"`
}

// Commit is one commit. Files and Truncated are set only by RepoCommit (the diff stat against
// the first parent, or the empty tree for a root commit).
type Commit struct {
	ID        string     `json:"id"`
	Parents   []string   `json:"parents"`
	Author    Signature  `json:"author"`
	Committer Signature  `json:"committer"`
	Subject   string     `json:"subject"`
	Message   string     `json:"message"`
	Files     []FileStat `json:"files,omitempty"`
	Truncated bool       `json:"truncated,omitempty"`
}

// FileStat is one file of a diff stat. Binary files count no lines.
type FileStat struct {
	Path      string `json:"path"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
	Binary    bool   `json:"binary,omitempty"`
}

// CommitList is the answer of GET /v1/repos/{name}/commits: newest first, a page at a time.
type CommitList struct {
	Commits []Commit `json:"commits"`
	Next    string   `json:"next,omitempty"`
}

// TreeEntry is one entry of a directory: Type is "blob" (a file), "tree" (a directory) or
// "commit" (a submodule); Size is set for files.
type TreeEntry struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Type string `json:"type"`
	Mode string `json:"mode"`
	Size int64  `json:"size,omitempty"`
	ID   string `json:"id"`
}

// Tree is the answer of GET /v1/repos/{name}/tree: the directory at Path ("" is the root) of
// Commit. Truncated says the directory has more entries than the answer carries.
type Tree struct {
	Commit    string      `json:"commit"`
	Path      string      `json:"path"`
	ID        string      `json:"id"`
	Entries   []TreeEntry `json:"entries"`
	Truncated bool        `json:"truncated,omitempty"`
}

// Comparison is the answer of GET /v1/repos/{name}/compare: the diff from Base to Head (the two
// trees, as `git diff BASE HEAD`), its stat and the patch. Truncated says the stat or the
// patch was cut at the server's bound.
type Comparison struct {
	Base      string     `json:"base"`
	Head      string     `json:"head"`
	Files     []FileStat `json:"files"`
	Patch     string     `json:"patch,omitempty"`
	Truncated bool       `json:"truncated,omitempty"`
}

// BrowseOptions name what a browse call reads: Ref a branch, tag or commit ID ("" is the
// repository's default branch), Path a path inside it ("" is the root).
type BrowseOptions struct {
	Ref  string
	Path string
}

func (o BrowseOptions) values() url.Values {
	v := url.Values{}
	if o.Ref != "" {
		v.Set("ref", o.Ref)
	}
	if o.Path != "" {
		v.Set("path", o.Path)
	}
	return v
}

// RepoBranches lists a repository's branches.
func (c *Client) RepoBranches(ctx context.Context, name string) (*BranchList, error) {
	var l BranchList
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/branches", out: &l})
	return &l, err
}

// RepoBranch returns one branch; an unknown one is not_found.
func (c *Client) RepoBranch(ctx context.Context, name, branch string) (*Branch, error) {
	var b Branch
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/branches/" + escapeRefPath(branch), out: &b})
	return &b, err
}

// RepoTags lists a repository's tags.
func (c *Client) RepoTags(ctx context.Context, name string) (*TagList, error) {
	var l TagList
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/tags", out: &l})
	return &l, err
}

// RepoCommits lists a page of the commit log from o.Ref (newest first), only commits that
// change o.Path when it is set; q's Limit and Next page it.
func (c *Client) RepoCommits(ctx context.Context, name string, o BrowseOptions, q *QueryOptions) (*CommitList, error) {
	v := o.values()
	for k, vs := range q.values() {
		v[k] = vs
	}
	var l CommitList
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/commits", query: v, out: &l})
	return &l, err
}

// RepoCommit returns one commit (a commit ID, or any revision) with its diff stat.
func (c *Client) RepoCommit(ctx context.Context, name, rev string) (*Commit, error) {
	var cm Commit
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/commits/" + url.PathEscape(rev), out: &cm})
	return &cm, err
}

// RepoTree lists the directory o.Path of o.Ref.
func (c *Client) RepoTree(ctx context.Context, name string, o BrowseOptions) (*Tree, error) {
	var t Tree
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/tree", query: o.values(), out: &t})
	return &t, err
}

// RepoContents writes the raw bytes of the file o.Path of o.Ref to w. maxBytes > 0 asks for a
// lower limit than the server's; a file over the limit is too_large and writes nothing.
func (c *Client) RepoContents(ctx context.Context, name string, o BrowseOptions, maxBytes int64, w io.Writer) error {
	v := o.values()
	if maxBytes > 0 {
		v.Set("max_bytes", strconv.FormatInt(maxBytes, 10))
	}
	return c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/contents", query: v, rawOut: w})
}

// RepoCompare returns the diff from base to head; noPatch leaves the patch out (the stat only).
func (c *Client) RepoCompare(ctx context.Context, name, base, head string, noPatch bool) (*Comparison, error) {
	v := url.Values{"base": {base}, "head": {head}}
	if noPatch {
		v.Set("patch", "false")
	}
	var cmp Comparison
	err := c.do(ctx, request{method: http.MethodGet, path: repoPath(name) + "/compare", query: v, out: &cmp})
	return &cmp, err
}

// escapeRefPath escapes each element of a branch name for a URL path (branch names have '/').
func escapeRefPath(ref string) string {
	parts := strings.Split(ref, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
