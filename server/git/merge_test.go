package git_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/git"
)

// mergeRepo pushes the work repository's branches to repository name through server 0, each
// from nothing, in one push.
func mergeRepo(t *testing.T, c *testutil.Cluster, w *work, name string, branches ...string) map[string]string {
	t.Helper()
	if _, err := c.Client(0).RepoCreate(context.Background(), pub.RepositoryCreateRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	heads := map[string]string{}
	var updates []git.RefUpdate
	for _, b := range branches {
		heads[b] = w.git(nil, "rev-parse", b)
		updates = append(updates, git.RefUpdate{Ref: "refs/heads/" + b, Old: zero, New: heads[b]})
	}
	res := push(t, c, 0, name, w.pack(strings.Join(branches, "\n")), true, updates...)
	for _, r := range res {
		if !r.OK {
			t.Fatalf("push: %+v", res)
		}
	}
	return heads
}

// headOf is a branch's head in the replicated state, read on server 0 after a read barrier.
func headOf(t *testing.T, c *testutil.Cluster, name, branch string) string {
	t.Helper()
	m := module(t, c, 0)
	if _, err := m.Backend().Repo(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	refs, err := m.Repos().Refs(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return refs["refs/heads/"+branch]
}

// onEveryCopy runs git in every server's synced copy and checks it answers want.
func onEveryCopy(t *testing.T, c *testutil.Cluster, name, want string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, i := range c.Running() {
		repo, err := module(t, c, i).Backend().Repo(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := bareGit(t, repo.Dir, args...)
		if err != nil || got != want {
			t.Errorf("server %d: git %v: %q, %v; want %q", i, args, got, err, want)
		}
	}
}

// TestMerge merges branches with each strategy through three servers' merge engines (each
// strategy's history on every copy, the merging user as committer), and refuses a conflict
// (listing the path, nothing moved), a stale destination, a source that moved, a fast-forward
// that is not one, nothing to merge and bad input; Mergeable agrees with Merge throughout.
func TestMerge(t *testing.T) {
	w := newWork(t)
	w.commit("a.txt", "a\n")
	w.commit("b.txt", "b\n")
	base := w.git(nil, "rev-parse", "HEAD")
	w.git(nil, "checkout", "--quiet", "-b", "feature")
	w.commit("a.txt", "a by feature\n")
	w.commit("c.txt", "c\n")
	w.git(nil, "checkout", "--quiet", "-b", "clash", base)
	w.commit("a.txt", "a by clash\n")
	w.git(nil, "checkout", "--quiet", "main")
	w.commit("b.txt", "b by main\n")
	w.git(nil, "branch", "ff", base)
	w.git(nil, "branch", "tw", "main")
	w.git(nil, "branch", "race", "main")

	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	heads := mergeRepo(t, c, w, "app", "main", "feature", "clash", "ff", "tw", "race")
	alice := git.Author{Name: "Alice Merger", Email: "alice@example.com"}
	req := func(src, dst string, s git.MergeStrategy) git.MergeRequest {
		return git.MergeRequest{Repo: "app", Source: src, Destination: dst, SourceCommit: heads[src], DestinationCommit: heads[dst], Strategy: s, Author: alice}
	}

	// Mergeable, on every server, moves nothing.
	for i := range 3 {
		m := module(t, c, i)
		for _, s := range []git.MergeStrategy{git.MergeSquash, git.MergeThreeWay} {
			if res, err := m.Mergeable(ctx, req("feature", "main", s)); err != nil || len(res.Conflicts) != 0 || res.Commit != "" {
				t.Fatalf("server %d: mergeable %s: %+v, %v", i, s, res, err)
			}
		}
		if _, err := m.Mergeable(ctx, req("feature", "main", git.MergeFastForward)); fault.CodeOf(err) != fault.Conflict || !strings.Contains(err.Error(), "fast-forward is not possible") {
			t.Fatalf("server %d: fast-forward onto a destination with its own commits: %v", i, err)
		}
		if res, err := m.Mergeable(ctx, req("feature", "ff", git.MergeFastForward)); err != nil || len(res.Conflicts) != 0 {
			t.Fatalf("server %d: mergeable fast-forward: %+v, %v", i, res, err)
		}
		if res, err := m.Mergeable(ctx, git.MergeRequest{Repo: "app", Source: "clash", Destination: "feature", Strategy: git.MergeSquash}); err != nil || !slices.Equal(res.Conflicts, []string{"a.txt"}) {
			t.Fatalf("server %d: mergeable clash (heads now): %+v, %v", i, res, err)
		}
	}

	unknown := req("feature", "main", git.MergeSquash)
	unknown.SourceCommit = strings.Repeat("1", 40)
	if _, err := module(t, c, 0).Mergeable(ctx, unknown); fault.CodeOf(err) != fault.NotFound {
		t.Fatalf("mergeable of an unknown commit: %v, want not found", err)
	}

	m := module(t, c, 1)
	// Refusals first; each moves nothing.
	stale := req("feature", "main", git.MergeSquash)
	stale.DestinationCommit = base
	if _, err := m.Merge(ctx, stale); fault.CodeOf(err) != fault.Conflict || !strings.Contains(err.Error(), "it is at "+heads["main"]) {
		t.Fatalf("stale destination: %v, want a conflict naming %s", err, heads["main"])
	}
	moved := req("feature", "main", git.MergeThreeWay)
	moved.SourceCommit = w.git(nil, "rev-parse", "feature~1")
	if _, err := m.Merge(ctx, moved); fault.CodeOf(err) != fault.Conflict || !strings.Contains(err.Error(), `source branch "feature" moved: it is at `+heads["feature"]) {
		t.Fatalf("a source that moved: %v", err)
	}
	res, err := m.Merge(ctx, req("clash", "feature", git.MergeThreeWay))
	if fault.CodeOf(err) != fault.Conflict || !slices.Equal(res.Conflicts, []string{"a.txt"}) || !strings.Contains(err.Error(), "a.txt") || res.Commit != "" {
		t.Fatalf("a conflict: %+v, %v; want a.txt", res, err)
	}
	if _, err := m.Merge(ctx, req("feature", "main", git.MergeFastForward)); fault.CodeOf(err) != fault.Conflict {
		t.Fatalf("fast-forward not possible: %v", err)
	}
	if _, err := m.Merge(ctx, req("ff", "main", git.MergeThreeWay)); fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), "nothing to merge") {
		t.Fatalf("a source already merged: %v", err)
	}
	for _, tc := range []struct {
		edit func(*git.MergeRequest)
		code fault.Code
		has  string
	}{
		{func(r *git.MergeRequest) { r.Strategy = "rebase" }, fault.Invalid, "not one of fast-forward, squash, three-way"},
		{func(r *git.MergeRequest) { r.Source = "a..b" }, fault.Invalid, "source"},
		{func(r *git.MergeRequest) { r.Destination = "" }, fault.Invalid, "destination"},
		{func(r *git.MergeRequest) { r.Destination = "feature" }, fault.Invalid, `both "feature"`},
		{func(r *git.MergeRequest) { r.SourceCommit = "" }, fault.Invalid, "source commit is empty"},
		{func(r *git.MergeRequest) { r.DestinationCommit = "HEAD" }, fault.Invalid, "not a full commit ID"},
		{func(r *git.MergeRequest) { r.Message = strings.Repeat("m", 17<<10) }, fault.Invalid, "over the limit"},
		{func(r *git.MergeRequest) { r.Source = "nope" }, fault.NotFound, `source branch "nope"`},
		{func(r *git.MergeRequest) { r.Repo = "nope" }, fault.NotFound, "nope"},
	} {
		r := req("feature", "main", git.MergeSquash)
		tc.edit(&r)
		if _, err := m.Merge(ctx, r); fault.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.has) {
			t.Errorf("%+.120v: %v; want %s with %q", r, err, tc.code, tc.has)
		}
	}
	for _, b := range []string{"main", "feature", "clash", "ff", "tw", "race"} {
		if got := headOf(t, c, "app", b); got != heads[b] {
			t.Fatalf("branch %s moved to %s after refused merges", b, got)
		}
	}

	// Fast-forward: the destination is the source, no commit made.
	res, err = m.Merge(ctx, req("feature", "ff", git.MergeFastForward))
	if err != nil || res.Commit != heads["feature"] || headOf(t, c, "app", "ff") != heads["feature"] {
		t.Fatalf("fast-forward: %+v, %v", res, err)
	}
	// Squash: one new commit, one parent, the combined tree, the default message.
	res, err = module(t, c, 2).Merge(ctx, req("feature", "main", git.MergeSquash))
	if err != nil || len(res.Commit) != 40 || headOf(t, c, "app", "main") != res.Commit {
		t.Fatalf("squash: %+v, %v", res, err)
	}
	squash := res.Commit
	// Three-way: two parents, destination first, with the caller's message.
	three := req("feature", "tw", git.MergeThreeWay)
	three.Message = "Merge the feature\n\nreviewed"
	res, err = m.Merge(ctx, three)
	if err != nil || len(res.Commit) != 40 {
		t.Fatalf("three-way: %+v, %v", res, err)
	}
	tw := res.Commit

	// Two merges into one destination at once, through two servers: one wins, the other is a
	// conflict naming the winner's commit (the push's compare-and-swap, or the check before it).
	type outcome struct {
		res git.MergeResult
		err error
	}
	done := make(chan outcome, 2)
	for i, src := range []string{"feature", "clash"} {
		go func() {
			res, err := module(t, c, i).Merge(ctx, req(src, "race", git.MergeThreeWay))
			done <- outcome{res, err}
		}()
	}
	a, b := <-done, <-done
	if a.err != nil {
		a, b = b, a
	}
	if a.err != nil || fault.CodeOf(b.err) != fault.Conflict || !strings.Contains(b.err.Error(), "it is at "+a.res.Commit) || headOf(t, c, "app", "race") != a.res.Commit {
		t.Fatalf("racing merges: %+v and %+v; want one merged, the other a conflict naming it", a, b)
	}

	checkCopies(t, c, "app")
	onEveryCopy(t, c, "app", heads["main"], "rev-parse", squash+"^@")
	onEveryCopy(t, c, "app", "Squash branch 'feature' into main\n\n* a.txt\n* c.txt\n|Alice Merger|alice@example.com|Alice Merger|alice@example.com", "log", "-1", "--format=%B|%an|%ae|%cn|%ce", squash)
	onEveryCopy(t, c, "app", "a by feature\nb by main\nc", "show", squash+":a.txt", squash+":b.txt", squash+":c.txt")
	onEveryCopy(t, c, "app", heads["tw"]+"\n"+heads["feature"], "rev-parse", tw+"^@")
	onEveryCopy(t, c, "app", "Merge the feature\n\nreviewed\n|Alice Merger", "log", "-1", "--format=%B|%cn", tw)
	onEveryCopy(t, c, "app", "", "diff", "--stat", squash, tw) // the same tree either way
}

// TestMergeCrissCross merges branches whose history crosses (each merged the other's earlier
// commit, so they have two merge bases): git's ort merge of the bases gives a clean merge, and
// Mergeable agrees.
func TestMergeCrissCross(t *testing.T) {
	w := newWork(t)
	w.commit("a.txt", "1\n2\n3\n4\n5\n")
	w.git(nil, "branch", "x")
	w.git(nil, "checkout", "--quiet", "-b", "y")
	w.commit("y.txt", "y1\n")
	w.git(nil, "checkout", "--quiet", "x")
	w.commit("x.txt", "x1\n")
	x1 := w.git(nil, "rev-parse", "HEAD")
	w.git(nil, "merge", "--quiet", "--no-edit", "y") // x2: x1 + y1
	w.git(nil, "checkout", "--quiet", "y")           //
	w.git(nil, "merge", "--quiet", "--no-edit", x1)  // y2: y1 + x1, the other cross
	w.git(nil, "checkout", "--quiet", "x")           //
	w.commit("a.txt", "1 by x\n2\n3\n4\n5\n")        //
	w.git(nil, "checkout", "--quiet", "y")           //
	w.commit("a.txt", "1\n2\n3\n4\n5 by y\n")        //
	if bases := w.git(nil, "merge-base", "--all", "x", "y"); len(strings.Fields(bases)) != 2 {
		t.Fatalf("not a criss-cross: merge bases %q", bases)
	}
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	heads := mergeRepo(t, c, w, "cross", "x", "y")
	m := module(t, c, 0)
	req := git.MergeRequest{Repo: "cross", Source: "x", Destination: "y", SourceCommit: heads["x"], DestinationCommit: heads["y"], Strategy: git.MergeThreeWay, Author: git.Author{Name: "bob"}}
	if res, err := m.Mergeable(ctx, req); err != nil || len(res.Conflicts) != 0 {
		t.Fatalf("mergeable: %+v, %v", res, err)
	}
	res, err := m.Merge(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	checkCopies(t, c, "cross")
	onEveryCopy(t, c, "cross", heads["y"]+"\n"+heads["x"], "rev-parse", res.Commit+"^@")
	onEveryCopy(t, c, "cross", "1 by x\n2\n3\n4\n5 by y", "show", res.Commit+":a.txt")
	onEveryCopy(t, c, "cross", "Merge branch 'x' into y\n|bob", "log", "-1", "--format=%B|%cn", res.Commit)
}

// TestMergeHTTP merges through POST /v1/repos/{name}/merges/{strategy}: each strategy is its
// own CodeCommit action and the destination is decided as a push to it, so a user allowed
// squash merges into feature/* only is refused a three-way merge and a squash into main; the
// mergeability check lists a conflict; the merge's audit record names its action and the ref.
func TestMergeHTTP(t *testing.T) {
	w := newWork(t)
	w.commit("a.txt", "a\n")
	w.git(nil, "branch", "feature/x")
	w.git(nil, "checkout", "--quiet", "-b", "topic")
	w.commit("t.txt", "t\n")
	w.git(nil, "checkout", "--quiet", "-b", "clash", "main")
	w.commit("a.txt", "a by clash\n")
	w.git(nil, "checkout", "--quiet", "feature/x")
	w.commit("a.txt", "a by x\n")
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	heads := mergeRepo(t, c, w, "web", "main", "feature/x", "topic", "clash")
	cl := c.Client(0)

	got, err := cl.RepoMergeable(ctx, "web", pub.RepoMergeRequest{Source: "clash", Destination: "feature/x", Strategy: pub.MergeThreeWay})
	if err != nil || got.Mergeable || !slices.Equal(got.Conflicts, []string{"a.txt"}) {
		t.Fatalf("mergeability of a conflict: %+v, %v", got, err)
	}
	if got, err = cl.RepoMergeable(ctx, "web", pub.RepoMergeRequest{Source: "topic", Destination: "feature/x", Strategy: pub.MergeSquash}); err != nil || !got.Mergeable {
		t.Fatalf("mergeability: %+v, %v", got, err)
	}
	if _, err := cl.RepoMergeable(ctx, "web", pub.RepoMergeRequest{Source: "topic", Destination: "feature/x"}); pub.ErrorCode(err) != pub.CodeBadRequest || !strings.Contains(err.Error(), "strategy") {
		t.Fatalf("no strategy: %v", err)
	}
	res, err := cl.RepoMerge(ctx, "web", pub.RepoMergeRequest{Source: "clash", Destination: "feature/x", SourceCommit: heads["clash"], DestinationCommit: heads["feature/x"], Strategy: pub.MergeSquash})
	if !pub.IsConflict(err) || !strings.Contains(err.Error(), "a.txt") {
		t.Fatalf("a conflicting merge: %+v, %v", res, err)
	}

	pw := "correct horse battery staple"
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: "sam", DisplayName: "Sam Squash", Email: "sam@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":["codecommit:MergeBranchesBySquash","codecommit:GetMergeConflicts"],"Resource":"srn:slipway:codecommit:repo/web"},
	  {"Effect":"Allow","Action":"codecommit:GitPush","Resource":"srn:slipway:codecommit:repo/web",
	   "Condition":{"StringLike":{"slipway:ReferenceName":"refs/heads/feature/*"}}}]}`
	if _, err := cl.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "squash-features", Document: doc}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, "squash-features", pub.PolicyAttachRequest{User: "sam"}); err != nil {
		t.Fatal(err)
	}
	tk, err := cl.Login(ctx, pub.LoginRequest{User: "sam", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	sam := c.ClientWithToken(0, tk.SecretID)
	req := pub.RepoMergeRequest{Source: "topic", Destination: "feature/x", SourceCommit: heads["topic"], DestinationCommit: heads["feature/x"], Strategy: pub.MergeThreeWay}
	if _, err := sam.RepoMerge(ctx, "web", req); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "MergeBranchesByThreeWay") {
		t.Fatalf("sam three-way: %v, want forbidden naming the action", err)
	}
	toMain := pub.RepoMergeRequest{Source: "topic", Destination: "main", SourceCommit: heads["topic"], DestinationCommit: heads["main"], Strategy: pub.MergeSquash}
	if _, err := sam.RepoMerge(ctx, "web", toMain); pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "refs/heads/main") {
		t.Fatalf("sam squash into main: %v, want forbidden naming the ref", err)
	}
	req.Strategy = pub.MergeSquash
	res, err = sam.RepoMerge(ctx, "web", req)
	if err != nil || len(res.Commit) != 40 || !res.Mergeable {
		t.Fatalf("sam squash into feature/x: %+v, %v", res, err)
	}
	checkCopies(t, c, "web")
	onEveryCopy(t, c, "web", "Sam Squash|sam@example.com|"+heads["feature/x"], "log", "-1", "--format=%cn|%ce|%P", res.Commit)

	// CodeCommitReadOnlyAccess checks mergeability and may not merge.
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: "ro", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, "CodeCommitReadOnlyAccess", pub.PolicyAttachRequest{User: "ro"}); err != nil {
		t.Fatal(err)
	}
	if tk, err = cl.Login(ctx, pub.LoginRequest{User: "ro", Password: pw}); err != nil {
		t.Fatal(err)
	}
	ro := c.ClientWithToken(0, tk.SecretID)
	if got, err := ro.RepoMergeable(ctx, "web", toMain); err != nil || !got.Mergeable {
		t.Fatalf("read-only mergeability: %+v, %v", got, err)
	}
	if _, err := ro.RepoMerge(ctx, "web", toMain); pub.ErrorCode(err) != pub.CodeForbidden {
		t.Fatalf("read-only merge: %v, want forbidden", err)
	}

	audit, err := cl.AuditList(ctx, pub.AuditFilter{Action: "codecommit:MergeBranchesBySquash"}, &pub.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range audit.Records {
		if r.Outcome == "allowed" && strings.Contains(r.Detail, "refs/heads/feature/x "+heads["feature/x"]+".."+res.Commit) {
			found = true
		}
	}
	if !found {
		t.Errorf("no squash-merge audit record names refs/heads/feature/x moving to %s: %+v", res.Commit, audit.Records)
	}
}

// TestMergeRetried: a client's retry of a merge with the same Idempotency-Key (its answer lost)
// answers the commit the first attempt published, not a conflict and not a second merge.
func TestMergeRetried(t *testing.T) {
	w := newWork(t)
	w.commit("a.txt", "a\n")
	w.git(nil, "checkout", "--quiet", "-b", "topic")
	w.commit("t.txt", "t\n")
	w.git(nil, "checkout", "--quiet", "main")
	w.commit("m.txt", "m\n")
	c := testutil.NewCluster(t, 1)
	heads := mergeRepo(t, c, w, "web", "main", "topic")
	body, _ := json.Marshal(pub.RepoMergeRequest{Source: "topic", Destination: "main", SourceCommit: heads["topic"], DestinationCommit: heads["main"]})
	post := func() pub.RepoMergeResult {
		return postWithKey[pub.RepoMergeResult](t, c, "/v1/repos/web/merges/three-way", "merge-retry-1", body)
	}
	first := post()
	again := post()
	if again.Commit != first.Commit || headOf(t, c, "web", "main") != first.Commit {
		t.Fatalf("first %s, retry %s, main at %s: want all the first", first.Commit, again.Commit, headOf(t, c, "web", "main"))
	}
	onEveryCopy(t, c, "web", heads["main"]+"\n"+heads["topic"], "rev-parse", first.Commit+"^@")
}

// TestMergeIntoProtectedBranch: a merge is a ref move like a push, so branch protection applies:
// a three-way merge into a branch protected from force pushes is allowed (the merge commit,
// only in the merge's temporary object directory until it applies, descends from the branch),
// and a branch that takes changes only through pull requests refuses a direct merge, naming the
// rule.
func TestMergeIntoProtectedBranch(t *testing.T) {
	w := newWork(t)
	w.commit("a.txt", "a\n")
	w.git(nil, "checkout", "--quiet", "-b", "topic")
	w.commit("t.txt", "t\n")
	w.git(nil, "checkout", "--quiet", "main")
	w.commit("m.txt", "m\n")
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	heads := mergeRepo(t, c, w, "web", "main", "topic")
	cl := c.Client(0)
	if _, err := cl.RepoProtect(ctx, "web", pub.BranchProtection{Pattern: "main", NoForcePush: true, NoDelete: true}); err != nil {
		t.Fatal(err)
	}
	req := pub.RepoMergeRequest{Source: "topic", Destination: "main", SourceCommit: heads["topic"], DestinationCommit: heads["main"], Strategy: pub.MergeThreeWay}
	res, err := cl.RepoMerge(ctx, "web", req)
	if err != nil || len(res.Commit) != 40 {
		t.Fatalf("three-way merge into main protected from force pushes: %+v, %v", res, err)
	}
	checkCopies(t, c, "web")

	if _, err := cl.RepoProtect(ctx, "web", pub.BranchProtection{Pattern: "main", NoForcePush: true, RequirePR: true}); err != nil {
		t.Fatal(err)
	}
	w.git(nil, "checkout", "--quiet", "topic")
	w.commit("u.txt", "u\n")
	next := w.git(nil, "rev-parse", "topic")
	if r := push(t, c, 0, "web", w.pack("topic"), true, git.RefUpdate{Ref: "refs/heads/topic", Old: heads["topic"], New: next}); !r[0].OK {
		t.Fatalf("push topic: %+v", r)
	}
	req = pub.RepoMergeRequest{Source: "topic", Destination: "main", SourceCommit: next, DestinationCommit: res.Commit, Strategy: pub.MergeSquash}
	if _, err := cl.RepoMerge(ctx, "web", req); err == nil || !strings.Contains(err.Error(), "protected branch main") {
		t.Fatalf("a direct merge into a branch that takes pull requests only: %v; want refused naming the rule", err)
	}
	if got := headOf(t, c, "web", "main"); got != res.Commit {
		t.Fatalf("main moved to %s after a refused merge; want %s", got, res.Commit)
	}
}
