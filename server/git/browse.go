package git

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git/gitexec"
	"github.com/slipwayhq/slipway/server/git/gitproto"
)

// Defaults of the browse bounds.
const (
	DefaultMaxFileSize    = 10 << 20 // bytes of a file /contents answers with
	DefaultMaxBrowseBytes = 8 << 20  // bytes of git output one browse answer is made from
	defaultTreeEntries    = 1000
	maxTreeEntries        = 10_000
)

// Browser reads one repository's bare copy on this server for the browse API. Every git it
// runs gets revisions resolved to object IDs first (checkRev, then rev-parse --verify) and
// paths after "--" with --literal-pathspecs, and its output is bounded.
type Browser struct {
	m    *Module
	g    *gitexec.Git
	repo Repo
}

// Browse returns the reader of repository name's content on this server, for the console and
// other Go callers: resolved like Backend.Repo (a read barrier, then this server's copy synced
// with the state as of the call, bounded by ctx). Unknown name: fault.NotFound; a server
// without usable git: fault.Unavailable. Callers authorize first (the browse routes' actions).
func (m *Module) Browse(ctx context.Context, name string) (*Browser, error) {
	return m.browse(ctx, name)
}

// Name is the repository's name as resolved.
func (b *Browser) Name() string { return b.repo.Name }

// MaxBytes is the bound of git output one answer is made from (Module.MaxBrowseBytes).
func (b *Browser) MaxBytes() int { return b.maxBytes() }

// Resolve returns the ID of the commit a branch, tag or commit ID names ("" is the default
// branch); an unknown one is fault.NotFound, a malformed one fault.Invalid.
func (b *Browser) Resolve(ctx context.Context, rev string) (string, error) {
	return b.resolve(ctx, "ref", rev)
}

// browse resolves a repository like Backend.Repo (a read barrier, then the copy synced).
func (m *Module) browse(ctx context.Context, name string) (*Browser, error) {
	if m.git == nil {
		return nil, fault.New(fault.Unavailable, "this server cannot browse repositories: %v", m.gitErr)
	}
	repo, err := m.Backend().Repo(ctx, name)
	if err != nil {
		return nil, err
	}
	return &Browser{m: m, g: m.git, repo: repo}, nil
}

// errCut is what a bounded writer answers once its bound is reached.
var errCut = errors.New("output bound reached")

// bounded keeps up to limit bytes of git's output, then fails the write (git then ends with a
// broken pipe) and records that the output was cut.
type bounded struct {
	buf   bytes.Buffer
	limit int
	cut   bool
}

func (b *bounded) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); len(p) > room {
		b.buf.Write(p[:room])
		b.cut = true
		return room, errCut
	}
	return b.buf.Write(p)
}

// output runs git in the copy and returns at most limit bytes of its output and whether it was
// cut there (then git's failure from the cut is not an error).
func (b *Browser) output(ctx context.Context, limit int, stdin string, args ...string) ([]byte, bool, error) {
	out := &bounded{limit: limit}
	c := gitexec.Command{Args: args, GitDir: b.repo.Dir, Stdout: out}
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	err := b.g.Run(ctx, c)
	if err != nil && !out.cut {
		if ctx.Err() != nil {
			return nil, false, fault.New(fault.Timeout, "reading repository %s took too long: %v", state.Shorten(b.repo.Name), ctx.Err())
		}
		return nil, false, fault.New(fault.Internal, "reading repository %s: %v", state.Shorten(b.repo.Name), err)
	}
	return out.buf.Bytes(), out.cut, nil
}

func (b *Browser) maxBytes() int {
	if n := b.m.MaxBrowseBytes; n > 0 {
		return n
	}
	return DefaultMaxBrowseBytes
}

// resolve turns a revision the caller named into the ID of the commit it names; "" is the
// repository's default branch. An unknown revision is fault.NotFound.
func (b *Browser) resolve(ctx context.Context, what, rev string) (string, error) {
	name := rev
	if rev == "" {
		rev = "HEAD"
	} else if err := checkRev(what, rev); err != nil {
		return "", err
	}
	args := []string{"rev-parse", "--verify", "--quiet"}
	if !b.g.Version().Less(gitexec.Version{Major: 2, Minor: 30}) {
		args = append(args, "--end-of-options")
	}
	out := &bounded{limit: 1024}
	err := b.g.Run(ctx, gitexec.Command{Args: append(args, rev+"^{commit}"), GitDir: b.repo.Dir, Stdout: out})
	var ge *gitexec.Error
	switch {
	case errors.As(err, &ge) && ge.ExitCode() == 1 && name == "":
		return "", fault.New(fault.NotFound, "repository %s has no commits on its default branch yet: push one first", state.Shorten(b.repo.Name))
	case errors.As(err, &ge) && ge.ExitCode() == 1:
		return "", fault.New(fault.NotFound, "%s %s is not a branch, tag or commit of repository %s", what, state.Shorten(name), state.Shorten(b.repo.Name))
	case err != nil:
		return "", fault.New(fault.Internal, "resolving %s in repository %s: %v", state.Shorten(rev), state.Shorten(b.repo.Name), err)
	}
	id := strings.TrimSpace(out.buf.String())
	if !isHexID(id) {
		return "", fault.New(fault.Internal, "git rev-parse answered %q", id)
	}
	return id, nil
}

// object looks up what path is in commit: its ID, type and size. A missing path is
// fault.NotFound. path "" is the commit's root tree.
func (b *Browser) object(ctx context.Context, commit, path string) (id, typ string, size int64, err error) {
	out, _, err := b.output(ctx, 4096, commit+":"+path+"\n", "cat-file", "--batch-check")
	if err != nil {
		return "", "", 0, err
	}
	f := strings.Fields(string(out))
	if len(f) != 3 || f[len(f)-1] == "missing" {
		return "", "", 0, fault.New(fault.NotFound, "path %s is not in commit %s of repository %s", state.Shorten(path), commit, state.Shorten(b.repo.Name))
	}
	size, err = strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return "", "", 0, fault.New(fault.Internal, "git cat-file answered %q", strings.TrimSpace(string(out)))
	}
	return f[0], f[1], size, nil
}

// Branches lists the repository's branches.
func (b *Browser) Branches(ctx context.Context) ([]pub.Branch, error) {
	out, _, err := b.output(ctx, b.maxBytes(), "", "for-each-ref", "--format=%(refname:lstrip=2)%00%(objectname)", "refs/heads/")
	if err != nil {
		return nil, err
	}
	list := []pub.Branch{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if name, id, ok := strings.Cut(line, "\x00"); ok {
			list = append(list, pub.Branch{Name: name, Commit: id})
		}
	}
	return list, nil
}

// Branch returns one branch; an unknown one is fault.NotFound.
func (b *Browser) Branch(ctx context.Context, name string) (pub.Branch, error) {
	if err := gitproto.ValidateRefName("refs/heads/" + name); err != nil {
		return pub.Branch{}, fault.New(fault.Invalid, "branch %s: %v", state.Shorten(name), err)
	}
	ref := "refs/heads/" + name
	out, _, err := b.output(ctx, b.maxBytes(), "", "for-each-ref", "--format=%(refname)%00%(objectname)", ref)
	if err != nil {
		return pub.Branch{}, err
	}
	// for-each-ref matches by prefix of path components: keep the exact match.
	id := ""
	for _, line := range strings.Split(string(out), "\n") {
		if r, oid, ok := strings.Cut(line, "\x00"); ok && r == ref {
			id = oid
		}
	}
	if id == "" {
		return pub.Branch{}, fault.New(fault.NotFound, "repository %s has no branch %s", state.Shorten(b.repo.Name), state.Shorten(name))
	}
	return pub.Branch{Name: name, Commit: id}, nil
}

// tagFields is the number of fields of one tag record; each ends with NUL.
const tagFields = 9

// Tags lists the repository's tags; an annotated tag with its tagger, message and target.
func (b *Browser) Tags(ctx context.Context) ([]pub.Tag, error) {
	out, cut, err := b.output(ctx, b.maxBytes(), "", "for-each-ref",
		"--format=%(refname:lstrip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00%(taggername)%00%(taggeremail)%00%(taggerdate:iso-strict)%00%(contents)%00",
		"refs/tags/")
	if err != nil {
		return nil, err
	}
	if cut {
		return nil, fault.New(fault.TooLarge, "the tags of repository %s are over %d bytes with their messages: list them with git (git ls-remote --tags)", state.Shorten(b.repo.Name), b.maxBytes())
	}
	list := []pub.Tag{}
	f := strings.Split(string(out), "\x00")
	for i := 0; i+tagFields <= len(f); i += tagFields {
		t := pub.Tag{Name: strings.TrimPrefix(f[i], "\n")}
		switch f[i+1] {
		case "tag":
			t.Annotated, t.Object, t.Target, t.Message = true, f[i+2], f[i+4], f[i+8]
			if f[i+3] == "commit" {
				t.Commit = f[i+4]
			}
			if f[i+5] != "" {
				when, _ := time.Parse(time.RFC3339, f[i+7])
				t.Tagger = &pub.Signature{Name: f[i+5], Email: strings.Trim(f[i+6], "<>"), Time: when}
			}
		case "commit":
			t.Commit = f[i+2]
		default:
			t.Target = f[i+2]
		}
		list = append(list, t)
	}
	return list, nil
}

// logFormat is one commit's record: nine fields, each ending with NUL (a message has none).
const (
	logFormat = "--format=tformat:%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x00"
	logFields = 9
)

func parseLog(out []byte) []pub.Commit {
	var list []pub.Commit
	f := strings.Split(string(out), "\x00")
	for i := 0; i+logFields <= len(f); i += logFields {
		author, _ := time.Parse(time.RFC3339, f[i+4])
		committer, _ := time.Parse(time.RFC3339, f[i+7])
		msg := f[i+8]
		subject, _, _ := strings.Cut(msg, "\n")
		parents := strings.Fields(f[i+1])
		if parents == nil {
			parents = []string{}
		}
		list = append(list, pub.Commit{
			ID: strings.TrimPrefix(f[i], "\n"), Parents: parents,
			Author:    pub.Signature{Name: f[i+2], Email: f[i+3], Time: author},
			Committer: pub.Signature{Name: f[i+5], Email: f[i+6], Time: committer},
			Subject:   subject, Message: msg,
		})
	}
	return list
}

// Commits returns a page of at most limit commits from ref (or the cursor next, from a
// previous page), newest first, only those changing path when it is set, and the next
// page's cursor ("" at the end).
func (b *Browser) Commits(ctx context.Context, ref, path string, limit int, next string) ([]pub.Commit, string, error) {
	path, err := checkPath(path)
	if err != nil {
		return nil, "", err
	}
	var cur logCursor
	if next != "" {
		if cur, err = parseLogCursor(next); err != nil {
			return nil, "", err
		}
		if _, err := b.resolve(ctx, "next", cur.Tip); err != nil {
			return nil, "", err
		}
	} else if cur.Tip, err = b.resolve(ctx, "ref", ref); err != nil {
		return nil, "", err
	}
	args := []string{"--literal-pathspecs", "log", logFormat, "--max-count=" + strconv.Itoa(limit+1), "--skip=" + strconv.Itoa(cur.Skip), cur.Tip, "--"}
	if path != "" {
		args = append(args, path)
	}
	out, cut, err := b.output(ctx, b.maxBytes(), "", args...)
	if err != nil {
		return nil, "", err
	}
	if cut {
		return nil, "", fault.New(fault.TooLarge, "%d commits of repository %s are over %d bytes with their messages: ask for fewer with limit", limit, state.Shorten(b.repo.Name), b.maxBytes())
	}
	list := parseLog(out)
	if list == nil {
		list = []pub.Commit{}
	}
	if len(list) > limit {
		return list[:limit], logCursor{Tip: cur.Tip, Skip: cur.Skip + limit}.String(), nil
	}
	return list, "", nil
}

// Commit returns one commit with its diff stat against its first parent (the empty tree for a
// root commit).
func (b *Browser) Commit(ctx context.Context, rev string) (pub.Commit, error) {
	id, err := b.resolve(ctx, "commit", rev)
	if err != nil {
		return pub.Commit{}, err
	}
	out, cut, err := b.output(ctx, b.maxBytes(), "", "show", "--no-patch", logFormat, id)
	if err != nil {
		return pub.Commit{}, err
	}
	list := parseLog(out)
	if cut || len(list) != 1 {
		return pub.Commit{}, fault.New(fault.TooLarge, "commit %s of repository %s has a message over %d bytes: read it with git", id, state.Shorten(b.repo.Name), b.maxBytes())
	}
	c := list[0]
	base := emptyTree
	if len(c.Parents) > 0 {
		base = c.Parents[0]
	}
	c.Files, c.Truncated, err = b.stat(ctx, base, id, b.maxBytes())
	return c, err
}

// emptyTree is git's empty tree (SHA-1), the base of a root commit's diff.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// diffArgs make git diff deterministic whatever the repository's config: no renames, no
// external diff or text conversion, no color.
var diffArgs = []string{"diff", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color"}

// stat is the numstat of the diff from base to head, at most limit bytes of it.
func (b *Browser) stat(ctx context.Context, base, head string, limit int) ([]pub.FileStat, bool, error) {
	args := append(append([]string(nil), diffArgs...), "--numstat", "-z", base, head, "--")
	out, cut, err := b.output(ctx, limit, "", args...)
	if err != nil {
		return nil, false, err
	}
	recs := strings.Split(string(out), "\x00")
	if cut || !strings.HasSuffix(string(out), "\x00") {
		recs = recs[:len(recs)-1] // the last record is incomplete
	}
	files := []pub.FileStat{}
	for _, r := range recs {
		f := strings.SplitN(r, "\t", 3)
		if len(f) != 3 {
			continue
		}
		s := pub.FileStat{Path: f[2], Binary: f[0] == "-"}
		s.Additions, _ = strconv.Atoi(f[0])
		s.Deletions, _ = strconv.Atoi(f[1])
		files = append(files, s)
	}
	return files, cut, nil
}

// Tree lists the directory path of ref, at most limit entries.
func (b *Browser) Tree(ctx context.Context, ref, path string, limit int) (pub.Tree, error) {
	path, err := checkPath(path)
	if err != nil {
		return pub.Tree{}, err
	}
	commit, err := b.resolve(ctx, "ref", ref)
	if err != nil {
		return pub.Tree{}, err
	}
	id, typ, _, err := b.object(ctx, commit, path)
	if err != nil {
		return pub.Tree{}, err
	}
	if typ != "tree" {
		return pub.Tree{}, fault.New(fault.Invalid, "path %s of repository %s is a %s, not a directory: read a file's bytes with /contents (slipway repo show)", state.Shorten(path), state.Shorten(b.repo.Name), kindOf(typ))
	}
	out, cut, err := b.output(ctx, b.maxBytes(), "", "ls-tree", "-z", "--long", id)
	if err != nil {
		return pub.Tree{}, err
	}
	t := pub.Tree{Commit: commit, Path: path, ID: id, Entries: []pub.TreeEntry{}, Truncated: cut}
	recs := strings.Split(string(out), "\x00")
	recs = recs[:len(recs)-1] // after the last NUL: "" or, when cut, an incomplete record
	for _, r := range recs {
		meta, name, ok := strings.Cut(r, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 {
			continue
		}
		if len(t.Entries) == limit {
			t.Truncated = true
			break
		}
		e := pub.TreeEntry{Name: name, Path: joinPath(path, name), Mode: f[0], Type: f[1], ID: f[2]}
		e.Size, _ = strconv.ParseInt(f[3], 10, 64)
		t.Entries = append(t.Entries, e)
	}
	return t, nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func kindOf(typ string) string {
	switch typ {
	case "blob":
		return "file"
	case "tree":
		return "directory"
	case "commit":
		return "submodule"
	}
	return typ
}

// BlobRef is a file found by File: its blob and size.
type BlobRef struct {
	ID   string
	Size int64
}

// File looks up the file path of ref and refuses one over limit bytes (fault.TooLarge).
func (b *Browser) File(ctx context.Context, ref, path string, limit int64) (BlobRef, error) {
	path, err := checkPath(path)
	if err != nil {
		return BlobRef{}, err
	}
	if path == "" {
		return BlobRef{}, fault.New(fault.Invalid, "name a file with path: the root is a directory (list it with /tree, slipway repo tree)")
	}
	commit, err := b.resolve(ctx, "ref", ref)
	if err != nil {
		return BlobRef{}, err
	}
	id, typ, size, err := b.object(ctx, commit, path)
	if err != nil {
		return BlobRef{}, err
	}
	if typ != "blob" {
		return BlobRef{}, fault.New(fault.Invalid, "path %s of repository %s is a %s, not a file: list a directory with /tree (slipway repo tree)", state.Shorten(path), state.Shorten(b.repo.Name), kindOf(typ))
	}
	if size > limit {
		return BlobRef{}, fault.New(fault.TooLarge, "file %s is %d bytes, over the limit of %d bytes for reading through the API: clone the repository with git to get it", state.Shorten(path), size, limit)
	}
	return BlobRef{ID: id, Size: size}, nil
}

// WriteFile streams a blob found by File to w.
func (b *Browser) WriteFile(ctx context.Context, f BlobRef, w io.Writer) error {
	return b.g.Run(ctx, gitexec.Command{Args: []string{"cat-file", "blob", f.ID}, GitDir: b.repo.Dir, Stdout: w})
}

// Compare is the diff from base to head: its stat, and its patch unless noPatch, together at
// most limit bytes of git output (Truncated when cut).
func (b *Browser) Compare(ctx context.Context, base, head string, noPatch bool, limit int) (pub.Comparison, error) {
	if base == "" || head == "" {
		return pub.Comparison{}, fault.New(fault.Invalid, "compare needs both base and head (a branch, tag or commit ID each)")
	}
	from, err := b.resolve(ctx, "base", base)
	if err != nil {
		return pub.Comparison{}, err
	}
	to, err := b.resolve(ctx, "head", head)
	if err != nil {
		return pub.Comparison{}, err
	}
	c := pub.Comparison{Base: from, Head: to}
	if c.Files, c.Truncated, err = b.stat(ctx, from, to, limit); err != nil || noPatch || c.Truncated {
		return c, err
	}
	c.Patch, c.Truncated, err = b.Patch(ctx, from, to, limit)
	return c, err
}

// Patch is the patch from commit base to commit head (both IDs, as Resolve returns them; base
// "" is the empty tree, for a root commit), at most limit bytes of it, cut at a whole line
// (then cut is true).
func (b *Browser) Patch(ctx context.Context, base, head string, limit int) (patch string, cut bool, err error) {
	if base == "" {
		base = emptyTree
	}
	if !isHexID(base) || !isHexID(head) {
		return "", false, fault.New(fault.Invalid, "a patch is made between two commit IDs: resolve %s and %s first", state.Shorten(base), state.Shorten(head))
	}
	args := append(append([]string(nil), diffArgs...), "--patch", base, head, "--")
	out, cut, err := b.output(ctx, limit, "", args...)
	if err != nil {
		return "", false, err
	}
	if cut {
		// End on a whole line, so the patch shows where it stops.
		if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
			out = out[:i+1]
		}
	}
	return string(out), cut, nil
}
