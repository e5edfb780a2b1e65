package console

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git"
)

func init() { pageSets = append(pageSets, (*Module).gitRoutes) }

// Bounds of what the repository pages show.
const (
	maxReadmeShown = 64 << 10 // bytes of a README shown on a repository's page
	maxFileShown   = 1 << 20  // bytes of a file shown with line numbers (larger: download it)
	maxPatchShown  = 1 << 20  // bytes of a commit's or a comparison's patch
	commitsPerPage = 50
	treeEntries    = 1000
)

// gitRoutes are the repository pages, each authorized by the action of the API route that
// answers the same question on repo/{name} (GetFolder for a tree, GetFile for a file, ...).
// Refs in paths are one path segment, escaped ("feature%2Fx"); paths inside a repository
// follow them.
func (m *Module) gitRoutes() []api.Route {
	rt := func(method, pattern, action string, h api.HandlerFunc) api.Route {
		res := "repo/{name}"
		if !strings.Contains(pattern, "{name}") {
			res = "repo/*"
		}
		return api.Route{Method: method, Pattern: pattern, Access: api.Console, Action: action, Resource: res, Handle: h}
	}
	return []api.Route{
		rt("GET", "/ui/repos", "codecommit:ListRepositories", m.reposPage),
		rt("POST", "/ui/repos", "codecommit:CreateRepository", m.repoCreate),
		rt("GET", "/ui/repos/{name}", "codecommit:GetRepository", m.repoPage),
		rt("POST", "/ui/repos/{name}/settings", "codecommit:UpdateRepository", m.repoSettings),
		rt("POST", "/ui/repos/{name}/delete", "codecommit:DeleteRepository", m.repoDelete),
		rt("GET", "/ui/repos/{name}/tree/{ref}", "codecommit:GetFolder", m.treeRoot),
		rt("GET", "/ui/repos/{name}/tree/{ref}/{path...}", "codecommit:GetFolder", m.treePage),
		rt("GET", "/ui/repos/{name}/blob/{ref}/{path...}", "codecommit:GetFile", m.blobPage),
		rt("GET", "/ui/repos/{name}/raw/{ref}/{path...}", "codecommit:GetFile", m.rawFile),
		rt("GET", "/ui/repos/{name}/commits/{ref}", "codecommit:GetCommit", m.commitsPage),
		rt("GET", "/ui/repos/{name}/commit/{id}", "codecommit:GetCommit", m.commitPage),
		rt("GET", "/ui/repos/{name}/compare", "codecommit:GetDifferences", m.comparePage),
		rt("GET", "/ui/repos/{name}/branches", "codecommit:ListBranches", m.refsPage),
		rt("GET", "/ui/repos/{name}/tags", "codecommit:ListBranches", m.refsPage),
		rt("GET", "/ui/repos/{name}/edit/{branch}/{path...}", "codecommit:PutFile", m.editPage),
		rt("POST", "/ui/repos/{name}/edit/{branch}/{path...}", "codecommit:PutFile", m.editSave),
		rt("GET", "/ui/repos/{name}/new/{branch}/{dir...}", "codecommit:PutFile", m.editPage),
		rt("POST", "/ui/repos/{name}/new/{branch}/{dir...}", "codecommit:PutFile", m.editSave),
	}
}

// repoURL is the console's address of a repository page: /ui/repos/NAME/KIND/REF/PATH with the
// ref as one escaped segment and the path's elements escaped.
func repoURL(name, kind, ref, path string) string {
	u := "/ui/repos/" + url.PathEscape(name)
	if kind == "" {
		return u
	}
	u += "/" + kind + "/" + url.PathEscape(ref)
	if kind == "commits" {
		if path != "" {
			u += "?" + url.Values{"path": {path}}.Encode()
		}
		return u
	}
	u += "/"
	if path != "" {
		parts := strings.Split(path, "/")
		for i, p := range parts {
			parts[i] = url.PathEscape(p)
		}
		u += strings.Join(parts, "/")
	}
	return u
}

// crumb is one element of a path's breadcrumbs.
type crumb struct{ Name, Href string }

// crumbs are the links to each directory above path (and path itself, last, without a link).
func crumbs(name, ref, path string) []crumb {
	out := []crumb{{Name: name, Href: repoURL(name, "tree", ref, "")}}
	if path == "" {
		out[0].Href = ""
		return out
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		c := crumb{Name: p, Href: repoURL(name, "tree", ref, strings.Join(parts[:i+1], "/"))}
		if i == len(parts)-1 {
			c.Href = ""
		}
		out = append(out, c)
	}
	return out
}

// repoFrame is what every repository page shows above its own part: the name, the ref shown
// and the switcher's branches and tags, the navigation, and what the user may do.
type repoFrame struct {
	Repo             pub.Repository
	Ref              string // the branch, tag or commit shown ("" on pages of no ref)
	Branches         []pub.Branch
	Tags             []pub.Tag
	Path             string
	Crumbs           []crumb
	CanEdit          bool // codecommit:PutFile (a branch's rule is decided on saving)
	IsBranch         bool // Ref is a branch (files can be edited on it)
	SwitchKind       string
	Empty            bool // the repository has no commits
	CloneHTTP        string
	CloneScheme      string // "HTTPS", or "HTTP" on a server without TLS
	CloneSSH         string
	CanUpdate        bool
	CanDelete        bool
	Error, FormError string
}

// repoCtx resolves a repository for a page: the request's read context, the browser and the
// frame (branches and tags for the switcher, read once).
func (m *Module) repoCtx(r *http.Request, id *auth.Identity, ref string) (context.Context, context.CancelFunc, *git.Browser, repoFrame, error) {
	ctx, cancel := m.core.HTTP.ReadContext(r)
	b, err := m.git.Browse(ctx, r.PathValue("name"))
	if err != nil {
		cancel()
		return nil, nil, nil, repoFrame{}, err
	}
	repo, err := m.git.Repos().Get(ctx, b.Name())
	if err != nil {
		cancel()
		return nil, nil, nil, repoFrame{}, err
	}
	f := repoFrame{Repo: m.git.WithCloneURLs(r, repo), Ref: ref, CanEdit: m.core.HTTP.Allowed(r, id, "codecommit:PutFile", "repo/"+repo.Name)}
	if f.Branches, err = b.Branches(ctx); err != nil {
		cancel()
		return nil, nil, nil, repoFrame{}, err
	}
	if f.Tags, err = b.Tags(ctx); err != nil && fault.CodeOf(err) != fault.TooLarge {
		cancel()
		return nil, nil, nil, repoFrame{}, err
	}
	f.Empty = len(f.Branches) == 0
	if f.Ref == "" {
		f.Ref = repo.DefaultBranch
	}
	for _, br := range f.Branches {
		if br.Name == f.Ref {
			f.IsBranch = true
		}
	}
	return ctx, cancel, b, f, nil
}

// reposData is the repositories page's: a page of them, sorted, and the create form.
type reposData struct {
	Repos                            []pub.Repository
	Sort                             tableSort
	CanCreate                        bool
	Name, Description, DefaultBranch string
	NameError, FormError             string
	Next                             string
}

var repoColumns = map[string]func(a, b pub.Repository) int{
	"name":     func(a, b pub.Repository) int { return strings.Compare(a.Name, b.Name) },
	"created":  func(a, b pub.Repository) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) },
	"modified": func(a, b pub.Repository) int { return cmp.Compare(a.ModifyIndex, b.ModifyIndex) },
}

// reposPage lists the repositories a page at a time (?limit=, ?next= as the API pages).
func (m *Module) reposPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	d := reposData{CanCreate: m.core.HTTP.Allowed(r, id, "codecommit:CreateRepository", "repo/*"), DefaultBranch: git.DefaultBranch}
	return m.renderRepos(w, r, id, http.StatusOK, d)
}

func (m *Module) renderRepos(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d reposData) error {
	pg, err := m.core.HTTP.Page(r)
	if err != nil {
		return err
	}
	list, next, err := m.git.Repos().List(r.Context(), pg)
	if err != nil {
		return err
	}
	d.Repos = list
	d.Sort = sortTable(r, "sort", "name", d.Repos, repoColumns)
	if next != "" {
		nq := d.Sort.Keep(url.Values{"next": {next}})
		if l := r.URL.Query().Get("limit"); l != "" {
			nq.Set("limit", l)
		}
		d.Next = "/ui/repos?" + nq.Encode()
	}
	return m.render(w, status, "repos", frame(r, id.Token.User, "Repositories", d))
}

// repoCreate creates a repository from the form and goes to its page; a refusal re-renders
// the list with the error in the form.
func (m *Module) repoCreate(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, 64<<10); err != nil {
		return err
	}
	d := reposData{CanCreate: true, Name: r.PostFormValue("name"), Description: r.PostFormValue("description"), DefaultBranch: r.PostFormValue("default_branch")}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	repo, err := m.git.Repos().Create(ctx, pub.RepositoryCreateRequest{Name: d.Name, Description: d.Description, DefaultBranch: d.DefaultBranch})
	switch code := fault.CodeOf(err); {
	case err == nil:
		http.Redirect(w, r, repoURL(repo.Name, "", "", ""), http.StatusSeeOther)
		return nil
	case code == fault.Invalid || code == fault.Conflict:
		d.FormError = errText(err)
		return m.renderRepos(w, r, id, statusOf(code), d)
	default:
		return err
	}
}

// statusOf is the status of a refusal re-rendered in its form.
func statusOf(code fault.Code) int {
	switch code {
	case fault.Conflict:
		return http.StatusConflict
	case fault.NotFound:
		return http.StatusNotFound
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.Forbidden:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// parseForm reads a form body of at most limit bytes.
func parseForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		return fault.New(fault.Invalid, "the form could not be read: %v", err)
	}
	return nil
}

// repoData is a repository's page: the frame, the default branch's root and its README.
type repoData struct {
	repoFrame
	Tree          pub.Tree
	Readme        string
	ReadmeName    string
	ReadmeCut     bool
	Confirm       string
	NewName       string
	NewDesc       string
	NewDefault    string
	SettingsError string
}

// repoPage shows a repository: clone URLs, the default branch's root with its README, the
// switcher, and (when allowed) its settings and delete forms.
func (m *Module) repoPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return m.renderRepo(w, r, id, http.StatusOK, repoData{})
}

func (m *Module) renderRepo(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d repoData) error {
	ctx, cancel, b, f, err := m.repoCtx(r, id, "")
	if err != nil {
		return err
	}
	defer cancel()
	f.CloneHTTP, f.CloneSSH, f.CloneScheme = f.Repo.CloneURLHTTP, f.Repo.CloneURLSSH, "HTTP"
	if strings.HasPrefix(f.CloneHTTP, "https:") {
		f.CloneScheme = "HTTPS"
	}
	f.CanUpdate = m.core.HTTP.Allowed(r, id, "codecommit:UpdateRepository", "repo/"+f.Repo.Name)
	f.CanDelete = m.core.HTTP.Allowed(r, id, "codecommit:DeleteRepository", "repo/"+f.Repo.Name)
	f.Crumbs = crumbs(f.Repo.Name, f.Ref, "")
	f.SwitchKind = "tree"
	f.Error = d.Error
	d.repoFrame = f
	if d.NewName == "" && d.NewDesc == "" && d.NewDefault == "" {
		d.NewName, d.NewDesc, d.NewDefault = f.Repo.Name, f.Repo.Description, f.Repo.DefaultBranch
	}
	if !f.Empty {
		t, err := b.Tree(ctx, f.Repo.DefaultBranch, "", treeEntries)
		switch {
		case fault.CodeOf(err) == fault.NotFound: // the default branch is not pushed yet
		case err != nil:
			return err
		default:
			d.Tree = t
			sortTree(d.Tree.Entries)
			for _, e := range t.Entries {
				if e.Type == "blob" && strings.HasPrefix(strings.ToLower(e.Name), "readme") {
					d.ReadmeName = e.Name
					d.Readme, d.ReadmeCut, _ = readText(ctx, b, t.Commit, e.Path, maxReadmeShown)
					break
				}
			}
		}
	}
	return m.render(w, status, "repo", frame(r, id.Token.User, "Repository "+f.Repo.Name, d))
}

// readText reads up to limit bytes of a file; binary content ("" and an error) is not text.
func readText(ctx context.Context, b *git.Browser, commit, path string, limit int64) (string, bool, error) {
	f, err := b.File(ctx, commit, path, 1<<62)
	if err != nil {
		return "", false, err
	}
	var buf bytes.Buffer
	cut := f.Size > limit
	if err := b.WriteFile(ctx, f, &limitWriter{w: &buf, n: limit}); err != nil && !cut {
		return "", false, err
	}
	if isBinary(buf.Bytes()) {
		return "", false, fault.New(fault.Invalid, "%s is not text", path)
	}
	return buf.String(), cut, nil
}

// limitWriter keeps the first n bytes and fails after them (git stops with a broken pipe).
type limitWriter struct {
	w *bytes.Buffer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	room := l.n - int64(l.w.Len())
	if int64(len(p)) > room {
		l.w.Write(p[:room])
		return int(room), errLimit
	}
	return l.w.Write(p)
}

var errLimit = fault.New(fault.TooLarge, "shown up to its limit")

// isBinary is git's test: a NUL byte in the first 8000 bytes.
func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}

// sortTree puts directories first, then files, each by name, as most git browsers do.
func sortTree(entries []pub.TreeEntry) {
	rank := func(e pub.TreeEntry) int {
		if e.Type == "tree" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(entries, func(a, b pub.TreeEntry) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a.Name, b.Name))
	})
}

// repoSettings changes the description, the default branch and the name from the form.
func (m *Module) repoSettings(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, 64<<10); err != nil {
		return err
	}
	name := r.PathValue("name")
	d := repoData{NewName: r.PostFormValue("new_name"), NewDesc: r.PostFormValue("description"), NewDefault: r.PostFormValue("default_branch")}
	req := pub.RepositoryUpdateRequest{Description: &d.NewDesc, DefaultBranch: &d.NewDefault}
	if d.NewName != name {
		req.Name = &d.NewName
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	repo, err := m.git.Repos().Update(ctx, name, req)
	switch code := fault.CodeOf(err); {
	case err == nil:
		http.Redirect(w, r, repoURL(repo.Name, "", "", ""), http.StatusSeeOther)
		return nil
	case code == fault.Invalid || code == fault.Conflict:
		d.SettingsError = errText(err)
		return m.renderRepo(w, r, id, statusOf(code), d)
	default:
		return err
	}
}

// repoDelete deletes a repository once the form repeats its name (the service's confirm).
func (m *Module) repoDelete(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, 64<<10); err != nil {
		return err
	}
	name := r.PathValue("name")
	if confirm := r.PostFormValue("confirm"); confirm != name {
		return m.renderRepo(w, r, id, http.StatusBadRequest, repoData{Confirm: confirm,
			repoFrame: repoFrame{Error: "Type the repository's name, " + name + ", to delete it: its history is lost."}})
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.git.Repos().Delete(ctx, name); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/repos", http.StatusSeeOther)
	return nil
}
