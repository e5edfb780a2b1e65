package git_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/git"
)

// browseFixture is a repository "site" pushed through server 0 with real git: on main, c1
// (README.md, dir/a.txt) then c2 (dir/a.txt changed, a binary logo.bin added); the branch
// feature/x and the lightweight tag v1 at c1; the annotated tag v2 ("release two") at c2.
type browseFixture struct {
	w          *work
	c          *testutil.Cluster
	c1, c2, v2 string
}

func newBrowseFixture(t *testing.T) browseFixture {
	t.Helper()
	w := newWork(t)
	c := testutil.NewCluster(t, 3)
	if _, err := c.Client(0).RepoCreate(context.Background(), pub.RepositoryCreateRequest{Name: "site"}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.dir, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	w.commit("dir/a.txt", "one\ntwo\n")
	c1 := w.commit("README.md", "hello\n")
	if err := os.WriteFile(filepath.Join(w.dir, "logo.bin"), []byte{0, 1, 2, 0, 3}, 0o600); err != nil {
		t.Fatal(err)
	}
	w.git(nil, "add", "logo.bin")
	c2 := w.commit("dir/a.txt", "one\nthree\nfour\n")
	w.git(nil, "tag", "-a", "v2", "-m", "release two")
	v2 := w.git(nil, "rev-parse", "v2")
	res := push(t, c, 0, "site", w.pack(v2), true,
		git.RefUpdate{Ref: "refs/heads/main", Old: zero, New: c2},
		git.RefUpdate{Ref: "refs/heads/feature/x", Old: zero, New: c1},
		git.RefUpdate{Ref: "refs/tags/v1", Old: zero, New: c1},
		git.RefUpdate{Ref: "refs/tags/v2", Old: zero, New: v2})
	for _, r := range res {
		if !r.OK {
			t.Fatalf("push: %+v", res)
		}
	}
	return browseFixture{w: w, c: c, c1: c1, c2: c2, v2: v2}
}

// TestBrowse reads a repository pushed through server 0 through server 1's browse API: the
// branches, tags, log (paged, by path, by ref), one commit's diff stat, trees, a file's bytes
// and a comparison, each checked against what git made.
func TestBrowse(t *testing.T) {
	f := newBrowseFixture(t)
	ctx := context.Background()
	cl := f.c.Client(1)

	br, err := cl.RepoBranches(ctx, "site")
	if err != nil || len(br.Branches) != 2 || br.Branches[0] != (pub.Branch{Name: "feature/x", Commit: f.c1}) || br.Branches[1] != (pub.Branch{Name: "main", Commit: f.c2}) {
		t.Fatalf("branches: %+v, %v", br, err)
	}
	if b, err := cl.RepoBranch(ctx, "site", "feature/x"); err != nil || b.Commit != f.c1 {
		t.Fatalf("branch feature/x: %+v, %v", b, err)
	}
	if _, err := cl.RepoBranch(ctx, "site", "feature"); !pub.IsNotFound(err) {
		t.Fatalf("branch feature, a prefix of feature/x: %v, want not found", err)
	}

	tags, err := cl.RepoTags(ctx, "site")
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("tags: %+v, %v", tags, err)
	}
	if v1 := tags.Tags[0]; v1.Name != "v1" || v1.Annotated || v1.Commit != f.c1 {
		t.Fatalf("tag v1: %+v", v1)
	}
	if v2 := tags.Tags[1]; v2.Name != "v2" || !v2.Annotated || v2.Object != f.v2 || v2.Target != f.c2 || v2.Commit != f.c2 ||
		v2.Message != "release two\n" || v2.Tagger == nil || v2.Tagger.Email != "t@example.com" || v2.Tagger.Time.IsZero() {
		t.Fatalf("tag v2: %+v %+v", v2, v2.Tagger)
	}

	log, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{}, nil)
	if err != nil || len(log.Commits) != 3 || log.Commits[0].ID != f.c2 || log.Commits[1].ID != f.c1 || log.Next != "" {
		t.Fatalf("log: %+v, %v", log, err)
	}
	head := log.Commits[0]
	if len(head.Parents) != 1 || head.Parents[0] != f.c1 || head.Subject != "dir/a.txt" || head.Message != "dir/a.txt\n" ||
		head.Author.Name != "t" || head.Committer.Email != "t@example.com" || head.Author.Time.IsZero() {
		t.Fatalf("head commit: %+v", head)
	}
	if root := log.Commits[2]; len(root.Parents) != 0 || root.Parents == nil {
		t.Fatalf("root commit's parents: %#v", root.Parents)
	}
	// Paged one at a time: the pages together are the log.
	var ids []string
	next := ""
	for {
		page, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{}, &pub.QueryOptions{Limit: 1, Next: next})
		if err != nil || len(page.Commits) != 1 {
			t.Fatalf("page after %q: %+v, %v", next, page, err)
		}
		ids = append(ids, page.Commits[0].ID)
		if next = page.Next; next == "" {
			break
		}
	}
	if len(ids) != 3 || ids[0] != f.c2 || ids[1] != f.c1 {
		t.Fatalf("paged log %v", ids)
	}
	if l, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Path: "README.md"}, nil); err != nil || len(l.Commits) != 1 || l.Commits[0].ID != f.c1 {
		t.Fatalf("log of README.md: %+v, %v", l, err)
	}
	if l, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Path: "dir"}, nil); err != nil || len(l.Commits) != 2 || l.Commits[0].ID != f.c2 {
		t.Fatalf("log of dir: %+v, %v", l, err)
	}
	if l, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Ref: "v1"}, nil); err != nil || len(l.Commits) != 2 || l.Commits[0].ID != f.c1 {
		t.Fatalf("log of v1: %+v, %v", l, err)
	}

	cm, err := cl.RepoCommit(ctx, "site", f.c2)
	if err != nil || cm.ID != f.c2 || len(cm.Files) != 2 || cm.Truncated {
		t.Fatalf("commit: %+v, %v", cm, err)
	}
	if a := cm.Files[0]; a != (pub.FileStat{Path: "dir/a.txt", Additions: 2, Deletions: 1}) {
		t.Fatalf("stat of dir/a.txt: %+v", a)
	}
	if l := cm.Files[1]; l != (pub.FileStat{Path: "logo.bin", Binary: true}) {
		t.Fatalf("stat of logo.bin: %+v", l)
	}
	if root, err := cl.RepoCommit(ctx, "site", ids[2]); err != nil || len(root.Files) != 1 || root.Files[0].Additions != 2 {
		t.Fatalf("root commit's stat against the empty tree: %+v, %v", root, err)
	}

	tree, err := cl.RepoTree(ctx, "site", pub.BrowseOptions{})
	if err != nil || tree.Commit != f.c2 || len(tree.Entries) != 3 || tree.Truncated {
		t.Fatalf("tree: %+v, %v", tree, err)
	}
	want := []pub.TreeEntry{
		{Name: "README.md", Path: "README.md", Type: "blob", Mode: "100644", Size: 6},
		{Name: "dir", Path: "dir", Type: "tree", Mode: "040000"},
		{Name: "logo.bin", Path: "logo.bin", Type: "blob", Mode: "100644", Size: 5},
	}
	for i, e := range tree.Entries {
		e.ID = ""
		if e != want[i] || len(tree.Entries[i].ID) != 40 {
			t.Fatalf("entry %d: %+v, want %+v", i, tree.Entries[i], want[i])
		}
	}
	sub, err := cl.RepoTree(ctx, "site", pub.BrowseOptions{Ref: "feature/x", Path: "dir/"})
	if err != nil || sub.Path != "dir" || sub.Commit != f.c1 || len(sub.Entries) != 1 || sub.Entries[0].Path != "dir/a.txt" || sub.Entries[0].Size != 8 {
		t.Fatalf("tree of dir at feature/x: %+v, %v", sub, err)
	}

	var buf bytes.Buffer
	if err := cl.RepoContents(ctx, "site", pub.BrowseOptions{Path: "dir/a.txt"}, 0, &buf); err != nil || buf.String() != "one\nthree\nfour\n" {
		t.Fatalf("contents of dir/a.txt: %q, %v", buf.String(), err)
	}
	buf.Reset()
	if err := cl.RepoContents(ctx, "site", pub.BrowseOptions{Ref: f.c1, Path: "dir/a.txt"}, 0, &buf); err != nil || buf.String() != "one\ntwo\n" {
		t.Fatalf("contents of dir/a.txt at c1: %q, %v", buf.String(), err)
	}
	buf.Reset()
	if err := cl.RepoContents(ctx, "site", pub.BrowseOptions{Path: "logo.bin"}, 0, &buf); err != nil || !bytes.Equal(buf.Bytes(), []byte{0, 1, 2, 0, 3}) {
		t.Fatalf("contents of logo.bin: %v, %v", buf.Bytes(), err)
	}

	cmp, err := cl.RepoCompare(ctx, "site", "feature/x", "main", false)
	if err != nil || cmp.Base != f.c1 || cmp.Head != f.c2 || len(cmp.Files) != 2 || cmp.Truncated ||
		!strings.Contains(cmp.Patch, "diff --git a/dir/a.txt b/dir/a.txt") || !strings.Contains(cmp.Patch, "\n-two\n+three\n+four\n") ||
		!strings.Contains(cmp.Patch, "Binary files /dev/null and b/logo.bin differ") {
		t.Fatalf("compare: %+v, %v", cmp, err)
	}
	if stat, err := cl.RepoCompare(ctx, "site", "v1", "v2", true); err != nil || len(stat.Files) != 2 || stat.Patch != "" {
		t.Fatalf("compare --stat: %+v, %v", stat, err)
	}
}

// TestBrowseLimits: each bound answers as documented: a file over the size limit is 413 and
// says what to do, a tree over its entry limit and a patch over its byte limit are truncated
// (the patch on a whole line), a log page or a commit over the output bound is 413.
func TestBrowseLimits(t *testing.T) {
	f := newBrowseFixture(t)
	ctx := context.Background()
	cl := f.c.Client(2)

	var buf bytes.Buffer
	err := cl.RepoContents(ctx, "site", pub.BrowseOptions{Path: "dir/a.txt"}, 10, &buf)
	if !isStatus(err, http.StatusRequestEntityTooLarge) || !strings.Contains(err.Error(), "15 bytes, over the limit of 10") ||
		!strings.Contains(err.Error(), "clone the repository") || buf.Len() != 0 {
		t.Fatalf("a file over the limit: %v (%d bytes written)", err, buf.Len())
	}
	if err := cl.RepoContents(ctx, "site", pub.BrowseOptions{Path: "dir/a.txt"}, 15, &buf); err != nil || buf.Len() != 15 {
		t.Fatalf("a file at the limit: %v", err)
	}

	tree := getJSON[pub.Tree](t, f.c, 2, "/v1/repos/site/tree?limit=2")
	if len(tree.Entries) != 2 || !tree.Truncated {
		t.Fatalf("tree over its limit: %+v", tree)
	}

	full, err := cl.RepoCompare(ctx, "site", "v1", "main", false)
	if err != nil {
		t.Fatal(err)
	}
	cut := getJSON[pub.Comparison](t, f.c, 2, "/v1/repos/site/compare?base=v1&head=main&max_bytes="+itoa(len(full.Patch)-5))
	if !cut.Truncated || cut.Patch == "" || !strings.HasPrefix(full.Patch, cut.Patch) || !strings.HasSuffix(cut.Patch, "\n") || len(cut.Files) != 2 {
		t.Fatalf("a patch over the limit: %+v", cut)
	}
	stat := getJSON[pub.Comparison](t, f.c, 2, "/v1/repos/site/compare?base=v1&head=main&max_bytes=12")
	if !stat.Truncated || len(stat.Files) != 0 || stat.Patch != "" {
		t.Fatalf("a stat over the limit: %+v", stat)
	}

	// A commit whose message is over the 8 MiB bound of git output.
	msg := "huge\n\n" + strings.Repeat("x", git.DefaultMaxBrowseBytes) + "\n"
	f.w.git([]byte(msg), "commit", "--quiet", "--allow-empty", "-F", "-")
	huge := f.w.git(nil, "rev-parse", "HEAD")
	if res := push(t, f.c, 0, "site", f.w.pack(huge, f.c2), false, git.RefUpdate{Ref: "refs/heads/huge", Old: zero, New: huge}); !res[0].OK {
		t.Fatalf("push: %+v", res)
	}
	if _, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Ref: "huge"}, nil); !isStatus(err, http.StatusRequestEntityTooLarge) || !strings.Contains(err.Error(), "ask for fewer with limit") {
		t.Fatalf("a log page over the bound: %v", err)
	}
	if _, err := cl.RepoCommit(ctx, "site", huge); !isStatus(err, http.StatusRequestEntityTooLarge) {
		t.Fatalf("a commit over the bound: %v", err)
	}
	if l, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Ref: "huge", Path: "README.md"}, nil); err != nil || len(l.Commits) != 1 {
		t.Fatalf("the log of a path the huge commit does not change: %+v, %v", l, err)
	}
}

// TestBrowseRefusals: revisions and paths that could reach git as options or leave the tree
// are refused before git runs (400), unknown names are 404 with a message naming them.
func TestBrowseRefusals(t *testing.T) {
	f := newBrowseFixture(t)
	ctx := context.Background()
	cl := f.c.Client(0)
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		do   func() error
		want int
		msg  string
	}{
		{"ref starting with -", func() error {
			_, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Ref: "--output=/tmp/x"}, nil)
			return err
		}, 400, "starts with '-'"},
		{"tree ref starting with -", func() error { _, err := cl.RepoTree(ctx, "site", pub.BrowseOptions{Ref: "-h"}); return err }, 400, "starts with '-'"},
		{"compare head starting with -", func() error { _, err := cl.RepoCompare(ctx, "site", "main", "--stat", false); return err }, 400, "starts with '-'"},
		{"a range", func() error { _, err := cl.RepoCompare(ctx, "site", "main..v1", "main", false); return err }, 400, `".."`},
		{"a message search", func() error { _, err := cl.RepoCommit(ctx, "site", ":/hello"); return err }, 400, "':'"},
		{"path with ..", func() error { _, err := cl.RepoTree(ctx, "site", pub.BrowseOptions{Path: "dir/../.."}); return err }, 400, `".."`},
		{"path starting with -", func() error {
			return cl.RepoContents(ctx, "site", pub.BrowseOptions{Path: "--output=x"}, 0, &bytes.Buffer{})
		}, 400, "starting with '-'"},
		{"log path with ..", func() error {
			_, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Path: "../etc"}, nil)
			return err
		}, 400, `".."`},
		{"a bad cursor", func() error {
			_, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{}, &pub.QueryOptions{Next: "main.1"})
			return err
		}, 400, "not a cursor"},
		{"a directory's contents", func() error { return cl.RepoContents(ctx, "site", pub.BrowseOptions{Path: "dir"}, 0, &bytes.Buffer{}) }, 400, "is a directory"},
		{"a file's tree", func() error { _, err := cl.RepoTree(ctx, "site", pub.BrowseOptions{Path: "README.md"}); return err }, 400, "is a file"},
		{"an unknown ref", func() error { _, err := cl.RepoCommits(ctx, "site", pub.BrowseOptions{Ref: "nope"}, nil); return err }, 404, `ref "nope" is not a branch, tag or commit`},
		{"an unknown commit", func() error { _, err := cl.RepoCommit(ctx, "site", strings.Repeat("ab", 20)); return err }, 404, "is not a branch, tag or commit"},
		{"an unknown path", func() error { _, err := cl.RepoTree(ctx, "site", pub.BrowseOptions{Path: "nope/x"}); return err }, 404, `path "nope/x" is not in commit`},
		{"an unknown file", func() error { return cl.RepoContents(ctx, "site", pub.BrowseOptions{Path: "nope"}, 0, &bytes.Buffer{}) }, 404, "is not in commit"},
		{"an unknown repository", func() error { _, err := cl.RepoBranches(ctx, "nope"); return err }, 404, `repository "nope" not found`},
		{"an empty repository", func() error { _, err := cl.RepoCommits(ctx, "empty", pub.BrowseOptions{}, nil); return err }, 404, "no commits on its default branch"},
	}
	for _, b := range bad {
		err := b.do()
		if !isStatus(err, b.want) || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%s: %v, want %d with %s", b.name, err, b.want, b.msg)
		}
	}
	if l, err := cl.RepoBranches(ctx, "empty"); err != nil || len(l.Branches) != 0 || l.Branches == nil {
		t.Fatalf("branches of an empty repository: %+v, %v", l, err)
	}

	// A client token's built-in ReadOnlyAccess allows every browse action.
	tk, err := cl.TokenCreate(ctx, "reader", pub.TokenTypeClient, 0)
	if err != nil {
		t.Fatal(err)
	}
	reader := f.c.ClientWithToken(1, tk.SecretID)
	reads := map[string]func() error{
		"branches": func() error { _, err := reader.RepoBranches(ctx, "site"); return err },
		"branch":   func() error { _, err := reader.RepoBranch(ctx, "site", "main"); return err },
		"tags":     func() error { _, err := reader.RepoTags(ctx, "site"); return err },
		"commits":  func() error { _, err := reader.RepoCommits(ctx, "site", pub.BrowseOptions{}, nil); return err },
		"commit":   func() error { _, err := reader.RepoCommit(ctx, "site", "main"); return err },
		"tree":     func() error { _, err := reader.RepoTree(ctx, "site", pub.BrowseOptions{}); return err },
		"contents": func() error {
			return reader.RepoContents(ctx, "site", pub.BrowseOptions{Path: "README.md"}, 0, &bytes.Buffer{})
		},
		"compare": func() error { _, err := reader.RepoCompare(ctx, "site", "v1", "main", false); return err },
	}
	for name, read := range reads {
		if err := read(); err != nil {
			t.Errorf("a read-only token's %s: %v", name, err)
		}
	}
}

// getJSON makes a GET through server i with the management token and decodes a 200 answer.
func getJSON[V any](t *testing.T, c *testutil.Cluster, i int, path string) V {
	t.Helper()
	var v V
	req, err := http.NewRequest(http.MethodGet, c.URL(i)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
	hc := c.HTTPClient()
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }
