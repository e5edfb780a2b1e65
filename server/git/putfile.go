package git

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/command"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/policy"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/gitproto"
	"github.com/slipwayhq/slipway/server/git/transport"
)

// Bounds of a file written through PutFile.
const (
	// MaxEditFileSize bounds the content of one PutFile, in bytes: what fits, encoded, in one
	// request (the API's JSON bodies and the console's forms are bounded at 1 MiB; base64 or
	// form encoding grows a file by a third or more). Larger files are pushed with git.
	MaxEditFileSize = 512 << 10
	// MaxCommitMessage bounds a PutFile's commit message, in bytes.
	MaxCommitMessage = 16 << 10
)

// Author is who a commit the server makes names as its author and committer.
type Author struct{ Name, Email string }

// AuthorOf is the author of a commit id makes: the user's display name and email when
// Module.Authors knows them, else the user's (or the token's) name and no email.
func (m *Module) AuthorOf(id *auth.Identity) Author {
	if id == nil {
		return Author{Name: "slipway"}
	}
	name := id.Token.User
	if name == "" {
		name = id.Token.Name
	}
	if name == "" {
		name = "slipway"
	}
	a := Author{Name: name}
	if m.Authors != nil && id.Token.User != "" {
		if got, ok := m.Authors(id.Token.User); ok {
			if got.Name != "" {
				a.Name = got.Name
			}
			a.Email = got.Email
		}
	}
	return a
}

// AuthorizeBranch decides whether id may move branch of repository repo, as a push to
// refs/heads/BRANCH is decided (codecommit:GitPush with slipway:ReferenceName, the edge's
// decision; a denial is audited): a policy that restricts pushes to some branches applies to
// PutFile too. The branch name is checked first.
func (m *Module) AuthorizeBranch(w http.ResponseWriter, r *http.Request, id *auth.Identity, repo, branch string) error {
	if err := checkBranch(branch); err != nil {
		return err
	}
	return m.core.HTTP.Authorize(w, r, id, transport.ActionGitPush, "repo/"+repo,
		policy.ContextValue{Key: policy.KeyReferenceName, Value: "refs/heads/" + branch})
}

func checkBranch(branch string) error {
	if branch == "" {
		return fault.New(fault.Invalid, "branch is empty: name the branch to commit to")
	}
	if err := gitproto.ValidateRefName("refs/heads/" + branch); err != nil {
		return fault.New(fault.Invalid, "branch %s: %v", state.Shorten(branch), err)
	}
	return nil
}

// checkEditPath checks the path of a file PutFile writes: checkPath's rules, not the root,
// and no ".git" element in any case (git refuses to track one; update-index checks git's
// remaining rules).
func checkEditPath(p string) (string, error) {
	p, err := checkPath(p)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", fault.New(fault.Invalid, "path is empty: name the file to write, e.g. docs/README.md")
	}
	for _, e := range strings.Split(p, "/") {
		if strings.EqualFold(strings.TrimRight(e, ". "), ".git") {
			return "", fault.New(fault.Invalid, "path %s has a .git element, which git does not track", state.Shorten(p))
		}
	}
	return p, nil
}

// putInput is a PutFile request checked.
type putInput struct {
	branch, path, parent, message string
	content                       []byte
	delete                        bool
}

func checkPut(req pub.FilePutRequest) (putInput, error) {
	in := putInput{branch: req.Branch, parent: req.Parent, delete: req.Delete}
	if err := checkBranch(req.Branch); err != nil {
		return in, err
	}
	var err error
	if in.path, err = checkEditPath(req.Path); err != nil {
		return in, err
	}
	if in.parent != "" && !isHexID(in.parent) {
		return in, fault.New(fault.Invalid, "parent %s is not a full commit ID (40 hex digits): pass the commit you edited", state.Shorten(in.parent))
	}
	msg := strings.TrimSpace(req.Message)
	switch {
	case msg == "":
		return in, fault.New(fault.Invalid, "message is empty: say what the change does")
	case len(req.Message) > MaxCommitMessage:
		return in, fault.New(fault.Invalid, "message is %d bytes, over the limit of %d", len(req.Message), MaxCommitMessage)
	case !utf8.ValidString(msg) || strings.ContainsRune(msg, 0):
		return in, fault.New(fault.Invalid, "message is not UTF-8 text (or holds a NUL)")
	}
	in.message = msg + "\n"
	switch {
	case req.Delete && (req.Content != "" || req.ContentBase64 != ""):
		return in, fault.New(fault.Invalid, "delete takes no content: send either delete or the new content")
	case req.Content != "" && req.ContentBase64 != "":
		return in, fault.New(fault.Invalid, "content and content_base64 are both set: send the text as content or the bytes as content_base64")
	case req.ContentBase64 != "":
		if len(req.ContentBase64) > base64.StdEncoding.EncodedLen(MaxEditFileSize) {
			return in, fault.New(fault.TooLarge, "the file is over the limit of %d bytes for editing through the API: push it with git", MaxEditFileSize)
		}
		if in.content, err = base64.StdEncoding.DecodeString(req.ContentBase64); err != nil {
			return in, fault.New(fault.Invalid, "content_base64 is not standard base64: %v", err)
		}
	default:
		in.content = []byte(req.Content)
	}
	if len(in.content) > MaxEditFileSize {
		return in, fault.New(fault.TooLarge, "the file is %d bytes, over the limit of %d bytes for editing through the API: push it with git", len(in.content), MaxEditFileSize)
	}
	return in, nil
}

// PutFile writes one file (or deletes it) on a branch as a new commit whose parent is
// req.Parent, through the push path: the objects are made by the real git in a temporary object
// directory beside this server's copy (its objects an alternate, a temporary index), packed,
// stored as a quorum-replicated blob (StorePack) and published by ONE repo.push whose
// compare-and-swap expects the branch at the parent, so a branch that moved since the user
// opened the file is a conflict naming where it is now and nothing moves. A change that leaves
// the tree as it was is refused. ctx is a write context and carries the caller for the
// command's audit record; callers authorize first (AuthorizeBranch, and PutFile's action).
func (m *Module) PutFile(ctx context.Context, name string, req pub.FilePutRequest, who Author) (pub.FilePutResult, error) {
	in, err := checkPut(req)
	if err != nil {
		return pub.FilePutResult{}, err
	}
	b, err := m.browse(ctx, name)
	if err != nil {
		return pub.FilePutResult{}, err
	}
	ref := "refs/heads/" + in.branch
	refs, err := m.Repos().Refs(ctx, name)
	if err != nil {
		return pub.FilePutResult{}, err
	}
	old, exists := refs[ref]
	switch {
	case m.replayed(ctx):
		// A client's retry of a request the state already applied: its push replays the first
		// outcome, and published answers the first attempt's commit.
		exists = false
	case exists && in.parent == "":
		return pub.FilePutResult{}, fault.New(fault.Invalid, "branch %s exists: pass parent, the commit you edited (the branch is at %s)", state.Shorten(in.branch), old)
	case exists && in.parent != old:
		return pub.FilePutResult{}, staleBase(in.branch, old)
	case !exists && in.parent != "":
		if _, err := b.resolve(ctx, "parent", in.parent); err != nil {
			return pub.FilePutResult{}, err
		}
	}
	tmp, err := os.MkdirTemp(m.dir(), "putfile-")
	if err != nil {
		return pub.FilePutResult{}, fault.New(fault.Internal, "a temporary directory for the commit: %v", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	c := &commitRun{b: b, env: []string{
		"GIT_OBJECT_DIRECTORY=" + filepath.Join(tmp, "objects"),
		"GIT_ALTERNATE_OBJECT_DIRECTORIES=" + filepath.Join(b.repo.Dir, "objects"),
		"GIT_INDEX_FILE=" + filepath.Join(tmp, "index"),
		"GIT_AUTHOR_NAME=" + who.Name, "GIT_AUTHOR_EMAIL=" + who.Email,
		"GIT_COMMITTER_NAME=" + who.Name, "GIT_COMMITTER_EMAIL=" + who.Email,
	}}
	if err := os.Mkdir(filepath.Join(tmp, "objects"), 0o700); err != nil {
		return pub.FilePutResult{}, fault.New(fault.Internal, "a temporary object directory: %v", err)
	}
	commit, blob, err := c.commit(ctx, in)
	if err != nil {
		return pub.FilePutResult{}, err
	}
	pack := filepath.Join(tmp, "edit.pack")
	if err := c.pack(ctx, commit, in.parent, pack); err != nil {
		return pub.FilePutResult{}, err
	}
	sha, err := m.Backend().StorePack(ctx, b.repo, pack)
	if err != nil {
		return pub.FilePutResult{}, err
	}
	oldID := in.parent
	if !exists {
		oldID = zeroID
	}
	res, err := m.Backend().Push(ctx, Push{Repo: b.repo, Pack: sha, Updates: []RefUpdate{{Ref: ref, Old: oldID, New: commit}}, ObjectDir: filepath.Join(tmp, "objects")})
	if err != nil {
		return pub.FilePutResult{}, err
	}
	m.core.Log.Info("git put-file", "repo", b.repo.Name, "ref", ref, "old", oldID, "new", commit, "path", in.path, "ok", len(res) == 1 && res[0].OK)
	if len(res) != 1 || !res[0].OK {
		reason := "no outcome"
		if len(res) == 1 {
			reason = res[0].Reason
		}
		if reason == "fetch first" {
			now, _ := m.Repos().Refs(ctx, name)
			if at, ok := now[ref]; ok {
				return pub.FilePutResult{}, staleBase(in.branch, at)
			}
			return pub.FilePutResult{}, fault.New(fault.Conflict, "branch %s changed since you opened the file (it was deleted or created meanwhile): reload and edit again", state.Shorten(in.branch))
		}
		if strings.HasPrefix(reason, "protected branch ") {
			return pub.FilePutResult{}, fault.New(fault.Forbidden, "the commit was refused: %s", reason)
		}
		return pub.FilePutResult{}, fault.New(fault.Conflict, "the commit was refused: %s", reason)
	}
	if commit, err = m.published(ctx, c, name, ref, commit, in.parent); err != nil {
		return pub.FilePutResult{}, err
	}
	return pub.FilePutResult{Commit: commit, Parent: in.parent, Branch: in.branch, Path: in.path, Blob: blob}, nil
}

// replayed reports whether ctx's request id (the client's Idempotency-Key) names a request
// the state has already applied.
func (m *Module) replayed(ctx context.Context) bool {
	id := command.RequestIDFrom(ctx)
	if id == "" {
		return false
	}
	seen := false
	_ = m.core.State.View(func(tx *state.Tx) error {
		_, seen, _ = tx.GetRequest(id)
		return nil
	})
	return seen
}

// published is the commit a successful PutFile published. It is the one made here, unless the
// request was a client's retry whose push the state had already applied (a remembered request
// id replays the first outcome): then the branch holds the first attempt's commit, which has
// the same tree and parent, and that is the answer.
func (m *Module) published(ctx context.Context, c *commitRun, name, ref, commit, parent string) (string, error) {
	refs, err := m.Repos().Refs(ctx, name)
	if err != nil {
		return "", err
	}
	head := refs[ref]
	if head == commit || head == "" {
		return commit, nil
	}
	if err := m.replica.WaitSynced(ctx, c.b.repo.ID); err != nil {
		return "", err
	}
	ours, err := c.git(ctx, fault.Internal, nil, "show", "--no-patch", "--format=%T %P", commit)
	if err != nil {
		return "", err
	}
	theirs, err := c.git(ctx, fault.Internal, nil, "show", "--no-patch", "--format=%T %P", head)
	if err != nil {
		return "", err
	}
	if theirs == ours && strings.TrimSpace(strings.TrimPrefix(ours, strings.Fields(ours)[0])) == parent {
		return head, nil // a replayed request: the first attempt's commit
	}
	return commit, nil // published, and already built upon by a later push
}

func staleBase(branch, at string) error {
	return fault.New(fault.Conflict, "the branch %s moved since you opened the file: it is at %s now; reload and edit again", state.Shorten(branch), at)
}

// commitRun runs git in a repository's copy with the temporary object directory and index.
type commitRun struct {
	b   *Browser
	env []string
}

// git runs one command and returns its trimmed output (small: object IDs). A failure of git is
// an error of kind code with git's own message.
func (c *commitRun) git(ctx context.Context, code fault.Code, stdin []byte, args ...string) (string, error) {
	out := &bounded{limit: 64 << 10}
	cmd := gitexec.Command{Args: args, GitDir: c.b.repo.Dir, Stdout: out, Env: c.env}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := c.b.g.Run(ctx, cmd); err != nil {
		var ge *gitexec.Error
		if errors.As(err, &ge) && ge.Stderr != "" && code != fault.Internal {
			return "", fault.New(code, "git refused the change: %s", strings.TrimSpace(ge.Stderr))
		}
		return "", fault.New(fault.Internal, "committing to repository %s: %v", state.Shorten(c.b.repo.Name), err)
	}
	return strings.TrimSpace(out.buf.String()), nil
}

// commit builds the new commit: the parent's tree in the temporary index with the file set
// (or removed), the tree written, the commit made. It returns the commit's and the blob's IDs.
func (c *commitRun) commit(ctx context.Context, in putInput) (commit, blob string, err error) {
	mode := "100644"
	if in.parent != "" {
		if _, err := c.git(ctx, fault.Internal, nil, "read-tree", in.parent); err != nil {
			return "", "", err
		}
		list, err := c.git(ctx, fault.Internal, nil, "--literal-pathspecs", "ls-files", "-z", "--stage", "--", in.path)
		if err != nil {
			return "", "", err
		}
		cur := "" // the path's own entry: "MODE ID STAGE\tPATH"
		for _, e := range strings.Split(list, "\x00") {
			if strings.HasSuffix(e, "\t"+in.path) {
				cur = e
			}
		}
		if f := strings.Fields(cur); len(f) >= 2 {
			switch f[0] {
			case "100755":
				mode = f[0]
			case "120000":
				return "", "", fault.New(fault.Invalid, "path %s is a symbolic link: change it with git", state.Shorten(in.path))
			case "160000":
				return "", "", fault.New(fault.Invalid, "path %s is a submodule: change it with git", state.Shorten(in.path))
			}
		} else if in.delete {
			return "", "", fault.New(fault.NotFound, "path %s is not a file of commit %s: nothing to delete", state.Shorten(in.path), in.parent)
		}
	} else if in.delete {
		return "", "", fault.New(fault.NotFound, "branch %s has no commit yet: nothing to delete", state.Shorten(in.branch))
	}
	if in.delete {
		// mode 0 removes the entry (--force-remove would want a work tree).
		if _, err := c.git(ctx, fault.Invalid, []byte("0 "+zeroID+"\t"+in.path+"\x00"), "update-index", "-z", "--index-info"); err != nil {
			return "", "", err
		}
	} else {
		if blob, err = c.git(ctx, fault.Internal, in.content, "hash-object", "-w", "--stdin"); err != nil {
			return "", "", err
		}
		if _, err := c.git(ctx, fault.Invalid, nil, "update-index", "--add", "--cacheinfo", mode+","+blob+","+in.path); err != nil {
			return "", "", err
		}
	}
	tree, err := c.git(ctx, fault.Internal, nil, "write-tree")
	if err != nil {
		return "", "", err
	}
	args := []string{"commit-tree", tree}
	if in.parent != "" {
		if same, _ := c.git(ctx, fault.Internal, nil, "rev-parse", in.parent+"^{tree}"); same == tree {
			return "", "", fault.New(fault.Invalid, "the change leaves %s as it is at %s: nothing to commit", state.Shorten(in.path), in.parent)
		}
		args = append(args, "-p", in.parent)
	}
	commit, err = c.git(ctx, fault.Internal, []byte(in.message), args...)
	if err != nil {
		return "", "", err
	}
	if !isHexID(commit) {
		return "", "", fault.New(fault.Internal, "git commit-tree answered %q", commit)
	}
	return commit, blob, nil
}

// pack writes the objects of commit that parent does not have (all of them without a parent)
// to path as one self-contained pack (no thin deltas), as a push would bring them.
func (c *commitRun) pack(ctx context.Context, commit, parent, path string) error {
	in := commit + "\n"
	if parent != "" {
		in += "^" + parent + "\n"
	}
	f, err := os.Create(path)
	if err != nil {
		return fault.New(fault.Internal, "the commit's pack: %v", err)
	}
	err = c.b.g.Run(ctx, gitexec.Command{Args: []string{"pack-objects", "--revs", "--stdout", "-q"}, GitDir: c.b.repo.Dir, Env: c.env, Stdin: strings.NewReader(in), Stdout: f})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fault.New(fault.Internal, "packing the commit for repository %s: %v", state.Shorten(c.b.repo.Name), err)
	}
	return nil
}

// putFileRoute is POST /v1/repos/{name}/files: codecommit:PutFile on repo/{name} at the edge,
// then the branch as a push to it is authorized (AuthorizeBranch) before anything is made.
func (m *Module) putFileRoute() api.Route {
	return api.Route{Method: "POST", Pattern: "/v1/repos/{name}/files", Access: api.Management, Action: "codecommit:PutFile", Resource: "repo/{name}", Handle: m.putFile}
}

func (m *Module) putFile(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	var req pub.FilePutRequest
	if err := m.core.HTTP.Decode(w, r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := m.AuthorizeBranch(w, r, id, name, req.Branch); err != nil {
		return err
	}
	ctx, cancel, err := m.core.HTTP.WriteContext(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	out, err := m.PutFile(ctx, name, req, m.AuthorOf(id))
	if err != nil {
		return err
	}
	m.core.HTTP.JSON(w, http.StatusCreated, out)
	return nil
}
