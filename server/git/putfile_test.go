package git_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
)

// TestPutFile commits files through POST /v1/repos/{name}/files on a real three-server
// cluster: a first commit in an empty repository, an edit, a new file, a deletion, a stale base
// refused naming where the branch is, bad input refused before git runs, a user whose policy
// allows pushes to feature/* only, and afterwards every server's copy fsck-clean with the state's
// refs and a clone of the repository's bundle holding each commit with the user as its author.
func TestPutFile(t *testing.T) {
	w := newWork(t) // skips without git
	_ = w
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "notes"}); err != nil {
		t.Fatal(err)
	}

	first, err := cl.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "hello\n", Message: "first"})
	if err != nil || first.Parent != "" || len(first.Commit) != 40 {
		t.Fatalf("first commit: %+v, %v", first, err)
	}
	// Through another server: the edge is any server, and the branch exists now.
	cl1 := c.Client(1)
	if _, err := cl1.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "x\n", Message: "no parent"}); pub.ErrorCode(err) != pub.CodeBadRequest || !strings.Contains(err.Error(), first.Commit) {
		t.Fatalf("an existing branch without parent: %v, want invalid naming the head", err)
	}
	edit, err := cl1.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "hello, world\n", Parent: first.Commit, Message: "edit the README"})
	if err != nil || edit.Parent != first.Commit {
		t.Fatalf("edit: %+v, %v", edit, err)
	}
	_, err = cl.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "main", Path: "README.md", Content: "mine\n", Parent: first.Commit, Message: "stale"})
	if !pub.IsConflict(err) || !strings.Contains(err.Error(), "moved since you opened the file: it is at "+edit.Commit) {
		t.Fatalf("stale base: %v, want a conflict naming %s", err, edit.Commit)
	}
	bin := []byte{0, 1, 2, 255}
	added, err := cl.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "main", Path: "docs/logo.bin", ContentBase64: base64.StdEncoding.EncodeToString(bin), Parent: edit.Commit, Message: "a new file\n\nin a new directory"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := cl.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "main", Path: "README.md", Delete: true, Parent: added.Commit, Message: "drop the README"})
	if err != nil {
		t.Fatal(err)
	}
	// A new branch from a commit.
	feat, err := cl.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "feature/a", Path: "a.txt", Content: "a\n", Parent: edit.Commit, Message: "start feature a"})
	if err != nil || feat.Parent != edit.Commit {
		t.Fatalf("new branch: %+v, %v", feat, err)
	}

	for _, tc := range []struct {
		req  pub.FilePutRequest
		code string
		has  string
	}{
		{pub.FilePutRequest{Branch: "main", Path: "../x", Content: "x", Parent: gone.Commit, Message: "m"}, pub.CodeBadRequest, `".."`},
		{pub.FilePutRequest{Branch: "main", Path: ".git/config", Content: "x", Parent: gone.Commit, Message: "m"}, pub.CodeBadRequest, ".git"},
		{pub.FilePutRequest{Branch: "main", Path: "a/.GIT/x", Content: "x", Parent: gone.Commit, Message: "m"}, pub.CodeBadRequest, ".git"},
		{pub.FilePutRequest{Branch: "main", Path: "/abs\x00", Content: "x", Parent: gone.Commit, Message: "m"}, pub.CodeBadRequest, "NUL"},
		{pub.FilePutRequest{Branch: "main", Path: "", Content: "x", Parent: gone.Commit, Message: "m"}, pub.CodeBadRequest, "path is empty"},
		{pub.FilePutRequest{Branch: "ma..in", Path: "x", Content: "x", Message: "m"}, pub.CodeBadRequest, "branch"},
		{pub.FilePutRequest{Branch: "main", Path: "x", Content: "x", Parent: gone.Commit, Message: "  "}, pub.CodeBadRequest, "message is empty"},
		{pub.FilePutRequest{Branch: "main", Path: "x", Content: "x", Parent: gone.Commit, Message: strings.Repeat("m", 17<<10)}, pub.CodeBadRequest, "message is"},
		{pub.FilePutRequest{Branch: "main", Path: "x", Content: strings.Repeat("x", 600<<10), Parent: gone.Commit, Message: "m"}, pub.CodeTooLarge, "over the limit of 524288 bytes"},
		{pub.FilePutRequest{Branch: "main", Path: "docs", Content: "x", Parent: gone.Commit, Message: "m"}, pub.CodeBadRequest, "git refused"},
		{pub.FilePutRequest{Branch: "main", Path: "docs/logo.bin", ContentBase64: base64.StdEncoding.EncodeToString(bin), Parent: gone.Commit, Message: "m"}, pub.CodeBadRequest, "nothing to commit"},
		{pub.FilePutRequest{Branch: "main", Path: "nope", Delete: true, Parent: gone.Commit, Message: "m"}, pub.CodeNotFound, "nothing to delete"},
		{pub.FilePutRequest{Branch: "main", Path: "x", Content: "x", Parent: "zz", Message: "m"}, pub.CodeBadRequest, "full commit ID"},
		{pub.FilePutRequest{Branch: "new", Path: "x", Content: "x", Parent: strings.Repeat("1", 40), Message: "m"}, pub.CodeNotFound, "not a branch, tag or commit"},
	} {
		if _, err := cl.RepoPutFile(ctx, "notes", tc.req); pub.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.has) {
			t.Errorf("%+.80v: %v; want %s with %q", tc.req, err, tc.code, tc.has)
		}
	}

	// A user allowed to push to feature/* only: the same rule as a push.
	pw := "correct horse battery staple"
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: "fay", DisplayName: "Fay Feature", Email: "fay@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":["codecommit:PutFile","codecommit:Get*","codecommit:List*"],"Resource":"srn:slipway:codecommit:repo/notes"},
	  {"Effect":"Allow","Action":"codecommit:GitPush","Resource":"srn:slipway:codecommit:repo/notes",
	   "Condition":{"StringLike":{"slipway:ReferenceName":"refs/heads/feature/*"}}}]}`
	if _, err := cl.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "feature-only", Document: doc}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, "feature-only", pub.PolicyAttachRequest{User: "fay"}); err != nil {
		t.Fatal(err)
	}
	tk, err := cl.Login(ctx, pub.LoginRequest{User: "fay", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	fay := c.ClientWithToken(2, tk.SecretID)
	if _, err := fay.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "main", Path: "x", Content: "x", Parent: gone.Commit, Message: "m"}); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "refs/heads/main") {
		t.Fatalf("fay on main: %v, want forbidden naming the ref", err)
	}
	byFay, err := fay.RepoPutFile(ctx, "notes", pub.FilePutRequest{Branch: "feature/a", Path: "a.txt", Content: "a, by fay\n", Parent: feat.Commit, Message: "fay's edit"})
	if err != nil {
		t.Fatalf("fay on feature/a: %v", err)
	}

	refs, err := c.Client(2).RepoBranches(ctx, "notes")
	if err != nil || len(refs.Branches) != 2 || refs.Branches[0].Commit != byFay.Commit || refs.Branches[1].Commit != gone.Commit {
		t.Fatalf("branches: %+v, %v", refs, err)
	}
	checkCopies(t, c, "notes")
	var bundle bytes.Buffer
	if err := c.Client(1).RepoBundle(ctx, "notes", &bundle); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "notes.bundle")
	writeFile(t, file, bundle.Bytes())
	clone := &work{t: t, dir: t.TempDir()}
	clone.git(nil, "clone", "--quiet", file, "c")
	clone.dir = filepath.Join(clone.dir, "c")
	clone.git(nil, "fsck", "--strict")
	if log := clone.git(nil, "log", "--format=%s|%an|%ae", "origin/main"); log != "drop the README|Initial Management Token|\na new file|Initial Management Token|\nedit the README|Initial Management Token|\nfirst|Initial Management Token|" {
		// A token without a user: its name, no email.
		t.Errorf("main's log:\n%s", log)
	}
	if log := clone.git(nil, "log", "-1", "--format=%s|%an|%ae|%P", "origin/feature/a"); log != "fay's edit|Fay Feature|fay@example.com|"+feat.Commit {
		t.Errorf("feature/a's head: %s", log)
	}
	if got := clone.git(nil, "cat-file", "-p", "origin/main:docs/logo.bin"); got != string(bin) {
		t.Errorf("logo.bin is %q", got)
	}

	// Each edit's audit record names the branch it moved, from what to what.
	audit, err := c.Client(0).AuditList(ctx, pub.AuditFilter{Action: "codecommit:PutFile"}, &pub.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range audit.Records {
		if r.Outcome == "allowed" && strings.Contains(r.Detail, "refs/heads/feature/a "+feat.Commit+".."+byFay.Commit) {
			found = true
		}
	}
	if !found {
		t.Errorf("no PutFile audit record names refs/heads/feature/a moving to %s: %+v", byFay.Commit, audit.Records)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPutFileRetried: a client's retry of a PutFile with the same Idempotency-Key (its answer
// lost) answers the commit the first attempt published, not the retry's own.
func TestPutFileRetried(t *testing.T) {
	newWork(t) // skips without git
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	if _, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "notes"}); err != nil {
		t.Fatal(err)
	}
	post := func() pub.FilePutResult {
		return postWithKey[pub.FilePutResult](t, c, "/v1/repos/notes/files", "put-file-retry-1",
			[]byte(`{"branch":"main","path":"a.txt","content":"a\n","message":"first"}`))
	}
	first := post()
	again := post()
	br, err := c.Client(0).RepoBranch(ctx, "notes", "main")
	if err != nil || again.Commit != first.Commit || br.Commit != first.Commit {
		t.Fatalf("first %s, retry %s, branch %+v (%v): want all the first", first.Commit, again.Commit, br, err)
	}
}

// postWithKey POSTs body to path on server 0 with the management token and Idempotency-Key
// key, as a client repeating a request whose answer it lost, and decodes the 201 answer.
func postWithKey[T any](t *testing.T, c *testutil.Cluster, path, key string, body []byte) T {
	t.Helper()
	req, _ := http.NewRequest("POST", c.URL(0)+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testutil.ManagementToken)
	req.Header.Set("Idempotency-Key", key)
	hc := c.HTTPClient()
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out T
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
	return out
}
