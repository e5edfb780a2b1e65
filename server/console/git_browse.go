package console

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// treeData is a directory's page.
type treeData struct {
	repoFrame
	Tree pub.Tree
}

// treePage lists a directory of a branch, tag or commit.
func (m *Module) treePage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, b, f, err := m.repoCtx(r, id, r.PathValue("ref"))
	if err != nil {
		return err
	}
	defer cancel()
	t, err := b.Tree(ctx, f.Ref, r.PathValue("path"), treeEntries)
	if err != nil {
		return err
	}
	sortTree(t.Entries)
	f.Path, f.Crumbs, f.SwitchKind = t.Path, crumbs(f.Repo.Name, f.Ref, t.Path), "tree"
	return m.render(w, http.StatusOK, "repo_tree", frame(r, id.Token.User, f.Repo.Name+"/"+t.Path, treeData{repoFrame: f, Tree: t}))
}

// treeRoot sends /tree/REF to the root's page, /tree/REF/.
func (m *Module) treeRoot(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	http.Redirect(w, r, repoURL(r.PathValue("name"), "tree", r.PathValue("ref"), ""), http.StatusMovedPermanently)
	return nil
}

// codeLine is one numbered line of a file.
type codeLine struct {
	N    int
	Text string
}

// blobData is a file's page: its lines, or why they are not shown.
type blobData struct {
	repoFrame
	Commit   string
	Size     int64
	Lines    []codeLine
	Binary   bool
	TooLarge bool
	Raw      string
	Edit     string
}

// blobPage shows a file with line numbers (escaped, no highlighting); a binary file or one
// over maxFileShown is shown as such with its download link.
func (m *Module) blobPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, b, f, err := m.repoCtx(r, id, r.PathValue("ref"))
	if err != nil {
		return err
	}
	defer cancel()
	commit, err := b.Resolve(ctx, f.Ref)
	if err != nil {
		return err
	}
	file, err := b.File(ctx, commit, r.PathValue("path"), 1<<62)
	if err != nil {
		return err
	}
	p := strings.Trim(r.PathValue("path"), "/")
	f.Path, f.Crumbs, f.SwitchKind = p, crumbs(f.Repo.Name, f.Ref, p), "blob"
	d := blobData{repoFrame: f, Commit: commit, Size: file.Size, Raw: repoURL(f.Repo.Name, "raw", f.Ref, p)}
	if f.IsBranch && f.CanEdit {
		d.Edit = repoURL(f.Repo.Name, "edit", f.Ref, p)
	}
	if file.Size > maxFileShown {
		d.TooLarge = true
	} else {
		var buf bytes.Buffer
		if err := b.WriteFile(ctx, file, &buf); err != nil {
			return fault.New(fault.Internal, "reading %s: %v", p, err)
		}
		if d.Binary = isBinary(buf.Bytes()); !d.Binary {
			text := strings.TrimSuffix(buf.String(), "\n")
			if buf.Len() > 0 {
				for i, l := range strings.Split(text, "\n") {
					d.Lines = append(d.Lines, codeLine{N: i + 1, Text: l})
				}
			}
		}
	}
	return m.render(w, http.StatusOK, "repo_blob", frame(r, id.Token.User, f.Repo.Name+"/"+p, d))
}

// rawCSP lets a downloaded file do nothing even if a browser renders it: no scripts, no
// styles, no requests, in a sandbox of its own origin.
const rawCSP = "default-src 'none'; sandbox"

// rawFile answers a file's bytes as a download (attachment, octet-stream, nosniff, a sandbox
// CSP), so a hostile file cannot run in the console's origin. Bounded as the API's /contents.
func (m *Module) rawFile(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	defer cancel()
	b, err := m.git.Browse(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	limit := m.git.MaxFileSize
	if limit <= 0 {
		limit = 10 << 20
	}
	file, err := b.File(ctx, r.PathValue("ref"), r.PathValue("path"), limit)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(r.PathValue("path"))}))
	h.Set("Content-Security-Policy", rawCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.FormatInt(file.Size, 10))
	w.WriteHeader(http.StatusOK)
	if err := b.WriteFile(ctx, file, w); err != nil {
		m.core.Log.Warn("a file's download was cut short", "repo", b.Name(), "err", err)
	}
	return nil
}

// commitsData is a page of the commit log.
type commitsData struct {
	repoFrame
	Commits []pub.Commit
	Next    string
}

// commitsPage lists a ref's commits (only those changing ?path= when set), commitsPerPage at a
// time, ?next= continuing from the same tip.
func (m *Module) commitsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, b, f, err := m.repoCtx(r, id, r.PathValue("ref"))
	if err != nil {
		return err
	}
	defer cancel()
	q := r.URL.Query()
	list, next, err := b.Commits(ctx, f.Ref, q.Get("path"), commitsPerPage, q.Get("next"))
	if err != nil {
		return err
	}
	f.Path, f.SwitchKind = strings.Trim(q.Get("path"), "/"), "commits"
	d := commitsData{repoFrame: f, Commits: list}
	if next != "" {
		nq := url.Values{"next": {next}}
		if f.Path != "" {
			nq.Set("path", f.Path)
		}
		d.Next = repoURL(f.Repo.Name, "commits", f.Ref, "") + "?" + nq.Encode()
	}
	return m.render(w, http.StatusOK, "repo_commits", frame(r, id.Token.User, "Commits of "+f.Repo.Name, d))
}

// diffData is a commit's or a comparison's page: the stat and the patch, both bounded.
type diffData struct {
	repoFrame
	Commit     *pub.Commit
	Base, Head string // as the user named them (compare)
	BaseID     string
	HeadID     string
	Files      []pub.FileStat
	Patch      []patchLine
	Truncated  bool
	Asked      bool // compare: both refs were given
}

// patchLine is one line of a patch with its kind, for its colour.
type patchLine struct {
	Kind, Text string
}

func patchLines(p string) []patchLine {
	var out []patchLine
	for _, l := range strings.Split(strings.TrimSuffix(p, "\n"), "\n") {
		k := ""
		switch {
		case strings.HasPrefix(l, "diff --git"), strings.HasPrefix(l, "index "), strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			k = "meta"
		case strings.HasPrefix(l, "@@"):
			k = "hunk"
		case strings.HasPrefix(l, "+"):
			k = "add"
		case strings.HasPrefix(l, "-"):
			k = "del"
		}
		out = append(out, patchLine{Kind: k, Text: l})
	}
	return out
}

// commitPage shows one commit: its message, author, parents, diff stat and patch (at most
// maxPatchShown bytes of it, against the first parent).
func (m *Module) commitPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, b, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return err
	}
	defer cancel()
	c, err := b.Commit(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	base := ""
	if len(c.Parents) > 0 {
		base = c.Parents[0]
	}
	patch, cut, err := b.Patch(ctx, base, c.ID, maxPatchShown)
	if err != nil {
		return err
	}
	f.Ref, f.SwitchKind = c.ID, ""
	d := diffData{repoFrame: f, Commit: &c, Files: c.Files, Patch: patchLines(patch), Truncated: cut || c.Truncated}
	return m.render(w, http.StatusOK, "repo_commit", frame(r, id.Token.User, "Commit "+c.ID[:12], d))
}

// comparePage compares ?base= and ?head= (branches, tags or commits): the stat and the patch.
func (m *Module) comparePage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, b, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return err
	}
	defer cancel()
	q := r.URL.Query()
	d := diffData{Base: q.Get("base"), Head: q.Get("head")}
	if d.Base == "" {
		d.Base = f.Repo.DefaultBranch
	}
	if q.Get("base") != "" && d.Head != "" {
		d.Asked = true
		c, err := b.Compare(ctx, d.Base, d.Head, false, maxPatchShown)
		if err != nil {
			return err
		}
		d.BaseID, d.HeadID, d.Files, d.Patch, d.Truncated = c.Base, c.Head, c.Files, patchLines(c.Patch), c.Truncated
		if c.Patch == "" {
			d.Patch = nil
		}
	}
	f.SwitchKind = ""
	d.repoFrame = f
	return m.render(w, http.StatusOK, "repo_compare", frame(r, id.Token.User, "Compare "+f.Repo.Name, d))
}

// refsData is the branches or the tags page.
type refsData struct {
	repoFrame
	Kind string // "branches" or "tags"
}

// refsPage lists the branches or the tags (the frame has read both).
func (m *Module) refsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	_, cancel, _, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return err
	}
	defer cancel()
	kind := path.Base(r.URL.Path)
	f.SwitchKind = ""
	return m.render(w, http.StatusOK, "repo_refs", frame(r, id.Token.User, kind+" of "+f.Repo.Name, refsData{repoFrame: f, Kind: kind}))
}
