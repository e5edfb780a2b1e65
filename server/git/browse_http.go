package git

import (
	"context"
	"net/http"
	"strconv"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// browseRoutes are the read-only endpoints over a repository's content, answered from this
// server's bare copy once it has caught up (see browse), authorized by CodeCommit's action
// names on repo/{name}.
func (m *Module) browseRoutes() []api.Route {
	return []api.Route{
		{Method: "GET", Pattern: "/v1/repos/{name}/branches", Access: api.AnyToken, Action: "codecommit:ListBranches", Resource: "repo/{name}", Handle: m.browseJSON(m.branches)},
		{Method: "GET", Pattern: "/v1/repos/{name}/branches/{branch...}", Access: api.AnyToken, Action: "codecommit:GetBranch", Resource: "repo/{name}", Handle: m.browseJSON(m.branch)},
		{Method: "GET", Pattern: "/v1/repos/{name}/tags", Access: api.AnyToken, Action: "codecommit:ListBranches", Resource: "repo/{name}", Handle: m.browseJSON(m.tags)},
		{Method: "GET", Pattern: "/v1/repos/{name}/commits", Access: api.AnyToken, Action: "codecommit:GetCommit", Resource: "repo/{name}", Handle: m.browseJSON(m.commits)},
		{Method: "GET", Pattern: "/v1/repos/{name}/commits/{rev}", Access: api.AnyToken, Action: "codecommit:GetCommit", Resource: "repo/{name}", Handle: m.browseJSON(m.commit)},
		{Method: "GET", Pattern: "/v1/repos/{name}/tree", Access: api.AnyToken, Action: "codecommit:GetFolder", Resource: "repo/{name}", Handle: m.browseJSON(m.tree)},
		{Method: "GET", Pattern: "/v1/repos/{name}/contents", Access: api.AnyToken, Action: "codecommit:GetFile", Resource: "repo/{name}", Handle: m.contents},
		{Method: "GET", Pattern: "/v1/repos/{name}/compare", Access: api.AnyToken, Action: "codecommit:GetDifferences", Resource: "repo/{name}", Handle: m.browseJSON(m.compare)},
	}
}

// browseJSON is the handler of a JSON browse route: the repository resolved within the
// server's read bound, then read answered 200.
func (m *Module) browseJSON(read func(ctx context.Context, b *Browser, r *http.Request) (any, error)) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
		ctx, cancel := m.core.HTTP.ReadContext(r)
		defer cancel()
		b, err := m.browse(ctx, r.PathValue("name"))
		if err != nil {
			return err
		}
		v, err := read(ctx, b, r)
		if err != nil {
			return err
		}
		m.core.HTTP.JSON(w, http.StatusOK, v)
		return nil
	}
}

func (m *Module) branches(ctx context.Context, b *Browser, _ *http.Request) (any, error) {
	list, err := b.Branches(ctx)
	return pub.BranchList{Branches: list}, err
}

func (m *Module) branch(ctx context.Context, b *Browser, r *http.Request) (any, error) {
	return b.Branch(ctx, r.PathValue("branch"))
}

func (m *Module) tags(ctx context.Context, b *Browser, _ *http.Request) (any, error) {
	list, err := b.Tags(ctx)
	return pub.TagList{Tags: list}, err
}

func (m *Module) commits(ctx context.Context, b *Browser, r *http.Request) (any, error) {
	p, err := m.core.HTTP.Page(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	list, next, err := b.Commits(ctx, q.Get("ref"), q.Get("path"), p.Limit, p.After)
	return pub.CommitList{Commits: list, Next: next}, err
}

func (m *Module) commit(ctx context.Context, b *Browser, r *http.Request) (any, error) {
	return b.Commit(ctx, r.PathValue("rev"))
}

func (m *Module) tree(ctx context.Context, b *Browser, r *http.Request) (any, error) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", defaultTreeEntries, maxTreeEntries)
	if err != nil {
		return nil, err
	}
	return b.Tree(ctx, q.Get("ref"), q.Get("path"), int(limit))
}

func (m *Module) compare(ctx context.Context, b *Browser, r *http.Request) (any, error) {
	q := r.URL.Query()
	limit, err := intParam(r, "max_bytes", int64(b.maxBytes()), int64(b.maxBytes()))
	if err != nil {
		return nil, err
	}
	noPatch := false
	switch q.Get("patch") {
	case "", "true":
	case "false":
		noPatch = true
	default:
		return nil, fault.New(fault.Invalid, "patch is %q: write true or false", q.Get("patch"))
	}
	return b.Compare(ctx, q.Get("base"), q.Get("head"), noPatch, int(limit))
}

// contents answers with a file's raw bytes (application/octet-stream), bounded by the
// module's MaxFileSize or a lower ?max_bytes=; a file over it is 413 before any byte is sent.
func (m *Module) contents(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	maxFile := m.MaxFileSize
	if maxFile <= 0 {
		maxFile = DefaultMaxFileSize
	}
	limit, err := intParam(r, "max_bytes", maxFile, maxFile)
	if err != nil {
		return err
	}
	b, err := m.browse(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f, err := b.File(ctx, q.Get("ref"), q.Get("path"), limit)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.WriteHeader(http.StatusOK)
	if err := b.WriteFile(ctx, f, w); err != nil {
		// The status is sent: the client sees a body shorter than Content-Length.
		m.core.Log.Warn("a file's bytes were cut short", "repo", b.repo.Name, "err", err)
	}
	return nil
}

// intParam reads an optional positive integer query parameter, def when absent, at most max.
func intParam(r *http.Request, name string, def, max int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > max {
		return 0, fault.New(fault.Invalid, "%s is %q: write a whole number from 1 to %d", name, s, max)
	}
	return n, nil
}
