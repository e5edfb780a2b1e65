package console

import (
	"bytes"
	"net/http"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git"
)

// maxEditForm bounds an edit form's body: the file at git.MaxEditFileSize once form-encoded,
// which the edge's own bound (1 MiB, for the CSRF check) caps anyway.
const maxEditForm = 1 << 20

// editData is the editor's page: a new file (New, the path typed in a field) or an existing
// one, the commit it was opened at (the parent, a hidden field), and what the user typed when a
// save was refused.
type editData struct {
	repoFrame
	New      bool
	Branch   string
	FilePath string
	Content  string
	Parent   string
	Message  string
	CRLF     bool // the file had CRLF line ends (a browser sends CRLF; they are kept then)
	Action   string
	Cancel   string
	Limit    int
}

// editPage opens the editor on a file of a branch (/edit/BRANCH/PATH), or on a new file in a
// directory (/new/BRANCH/DIR); the branch's head is the parent the save must find.
func (m *Module) editPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, b, f, err := m.repoCtx(r, id, r.PathValue("branch"))
	if err != nil {
		return err
	}
	defer cancel()
	d := editData{Branch: f.Ref, Limit: git.MaxEditFileSize}
	if !f.IsBranch && (!f.Empty || f.Ref != f.Repo.DefaultBranch) {
		return fault.New(fault.NotFound, "repository %s has no branch %s: files are edited on a branch", f.Repo.Name, f.Ref)
	}
	if f.IsBranch {
		br, err := b.Branch(ctx, f.Ref)
		if err != nil {
			return err
		}
		d.Parent = br.Commit
	}
	if strings.Contains(r.URL.Path, "/new/") {
		d.New = true
		if dir := strings.Trim(r.PathValue("dir"), "/"); dir != "" {
			d.FilePath = dir + "/"
		}
	} else {
		d.FilePath = strings.Trim(r.PathValue("path"), "/")
		file, err := b.File(ctx, d.Parent, d.FilePath, git.MaxEditFileSize)
		if fault.CodeOf(err) == fault.TooLarge {
			return fault.New(fault.TooLarge, "%s is over %d bytes, the limit for editing in the browser: change it with git", d.FilePath, git.MaxEditFileSize)
		}
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := b.WriteFile(ctx, file, &buf); err != nil {
			return fault.New(fault.Internal, "reading %s: %v", d.FilePath, err)
		}
		if isBinary(buf.Bytes()) {
			return fault.New(fault.Invalid, "%s is a binary file: it cannot be edited in the browser; change it with git", d.FilePath)
		}
		d.Content, d.CRLF = buf.String(), bytes.Contains(buf.Bytes(), []byte("\r\n"))
	}
	return m.renderEdit(w, r, id, http.StatusOK, f, d)
}

func (m *Module) renderEdit(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, f repoFrame, d editData) error {
	f.SwitchKind = ""
	f.Crumbs = crumbs(f.Repo.Name, d.Branch, strings.TrimSuffix(d.FilePath, "/"))
	d.repoFrame = f
	d.Action = r.URL.Path
	d.Cancel = repoURL(f.Repo.Name, "blob", d.Branch, d.FilePath)
	if d.New {
		d.Cancel = repoURL(f.Repo.Name, "tree", d.Branch, strings.TrimSuffix(d.FilePath, "/"))
		if f.Empty {
			d.Cancel = repoURL(f.Repo.Name, "", "", "")
		}
	}
	title := "Edit " + d.FilePath
	if d.New {
		title = "New file in " + f.Repo.Name
	}
	return m.render(w, status, "repo_edit", frame(r, id.Token.User, title, d))
}

// editSave commits the form's content through the git service's PutFile (the branch's push
// rule decided first) and goes to the file; a refusal, a stale base among them, re-renders the
// editor with the message and everything the user typed.
func (m *Module) editSave(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := parseForm(w, r, maxEditForm); err != nil {
		return err
	}
	name, branch := r.PathValue("name"), r.PathValue("branch")
	d := editData{Branch: branch, New: strings.Contains(r.URL.Path, "/new/"), Parent: r.PostFormValue("parent"),
		Message: r.PostFormValue("message"), Content: r.PostFormValue("content"), CRLF: r.PostFormValue("eol") == "crlf", Limit: git.MaxEditFileSize}
	d.FilePath = strings.Trim(r.PathValue("path"), "/")
	if d.New {
		d.FilePath = strings.Trim(r.PostFormValue("path"), "/")
	}
	content := d.Content
	if !d.CRLF {
		content = strings.ReplaceAll(content, "\r\n", "\n") // what a browser's textarea sends
	}
	err := m.git.AuthorizeBranch(w, r, id, name, branch)
	var out pub.FilePutResult
	if err == nil {
		ctx, cancel, werr := m.core.HTTP.WriteContext(r, id)
		if werr != nil {
			return werr
		}
		out, err = m.git.PutFile(ctx, name, pub.FilePutRequest{Branch: branch, Path: d.FilePath, Content: content, Parent: d.Parent, Message: d.Message}, m.git.AuthorOf(id))
		cancel()
	}
	code := fault.CodeOf(err)
	switch {
	case err == nil:
		http.Redirect(w, r, repoURL(name, "blob", out.Branch, out.Path), http.StatusSeeOther)
		return nil
	case code != fault.Invalid && code != fault.Conflict && code != fault.TooLarge && code != fault.Forbidden && code != fault.NotFound:
		return err
	}
	_, cancel, _, f, ferr := m.repoCtx(r, id, branch)
	if ferr != nil {
		return ferr
	}
	defer cancel()
	f.FormError = errText(err)
	if code == fault.Conflict {
		f.FormError += " Your text is kept below: copy it, reload the file and apply your change again."
	}
	return m.renderEdit(w, r, id, statusOf(code), f, d)
}
