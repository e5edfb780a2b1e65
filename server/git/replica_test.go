package git_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"github.com/slipwayhq/slipway/server/core/state"
	"github.com/slipwayhq/slipway/server/git"
)

const zero = "0000000000000000000000000000000000000000"

// work is a non-bare repository of the test's own, where commits and packs are made with the
// real git.
type work struct {
	t   *testing.T
	dir string
}

func newWork(t *testing.T) *work {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	w := &work{t: t, dir: t.TempDir()}
	w.git(nil, "init", "--quiet", "--initial-branch=main")
	return w
}

func (w *work) git(stdin []byte, args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = w.dir
	cmd.Env = []string{"HOME=" + w.dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}

// commit commits a file and returns the commit's ID.
func (w *work) commit(name, content string) string {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
	w.git(nil, "add", name)
	w.git(nil, "commit", "--quiet", "-m", name)
	return w.git(nil, "rev-parse", "HEAD")
}

// pack writes a pack of the objects reachable from tip and not from the excluded commits.
func (w *work) pack(tip string, exclude ...string) string {
	w.t.Helper()
	in := tip + "\n"
	for _, e := range exclude {
		in += "^" + e + "\n"
	}
	cmd := exec.Command("git", "pack-objects", "--revs", "--stdout")
	cmd.Dir = w.dir
	cmd.Stdin = strings.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		w.t.Fatalf("pack-objects: %v", err)
	}
	path := filepath.Join(w.t.TempDir(), "push.pack")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

func module(t *testing.T, c *testutil.Cluster, i int) *git.Module {
	t.Helper()
	m, ok := c.Server(i).Service("git").(*git.Module)
	if !ok {
		t.Fatalf("server %d has no git service", i)
	}
	return m
}

// push stores the pack and pushes the updates through server i's Backend, as the transport does.
func push(t *testing.T, c *testutil.Cluster, i int, name, packPath string, atomic bool, updates ...git.RefUpdate) []git.RefResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := module(t, c, i).Backend()
	repo, err := b.Repo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	sha := ""
	if packPath != "" {
		if sha, err = b.StorePack(ctx, repo, packPath); err != nil {
			t.Fatal(err)
		}
	}
	pusher := &auth.Identity{Token: state.Token{AccessorID: "accessor-of-pusher", Name: "pusher"}}
	res, err := b.Push(ctx, git.Push{Repo: repo, Pack: sha, Updates: updates, Atomic: atomic, Caller: pusher})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func bareGit(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = []string{"GIT_DIR=" + dir, "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", errors.New(err.Error() + ": " + stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// checkCopies waits until every running server's copy has synced, then checks it with git: fsck
// clean, its refs exactly the state's.
func checkCopies(t *testing.T, c *testutil.Cluster, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, i := range c.Running() {
		m := module(t, c, i)
		repo, err := m.Backend().Repo(ctx, name)
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		want, err := m.Repos().Refs(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for ref, sha := range want {
			lines = append(lines, sha+" "+ref)
		}
		sort.Strings(lines)
		sort.Slice(lines, func(a, b int) bool { return lines[a][41:] < lines[b][41:] })
		got, err := bareGit(t, repo.Dir, "for-each-ref", "--format=%(objectname) %(refname)")
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		if got != strings.Join(lines, "\n") {
			t.Fatalf("server %d: refs\n%s\nwant\n%s", i, got, strings.Join(lines, "\n"))
		}
		if out, err := bareGit(t, repo.Dir, "fsck", "--strict", "--no-dangling"); err != nil {
			t.Fatalf("server %d: fsck: %v %s", i, err, out)
		}
	}
}

// TestReplicaConverges pushes real packs through two servers of three and checks that every
// server's bare copy gets the objects and exactly the replicated refs; then a server whose copy
// was deleted while it was down gets it back, and a deleted repository's copies are removed.
func TestReplicaConverges(t *testing.T) {
	w := newWork(t)
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	repo, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}

	first := w.commit("a.txt", "one\n")
	res := push(t, c, 0, "app", w.pack(first), false, git.RefUpdate{Ref: "refs/heads/main", Old: zero, New: first})
	if len(res) != 1 || !res[0].OK {
		t.Fatalf("first push: %+v", res)
	}
	checkCopies(t, c, "app")

	// A pack over the module's limit is refused before anything is stored.
	m0 := module(t, c, 0)
	limit := m0.MaxPackSize
	m0.MaxPackSize = 16
	if _, err := m0.Backend().StorePack(ctx, git.Repo{ID: repo.ID, Name: "app"}, w.pack(first)); fault.CodeOf(err) != fault.TooLarge {
		t.Fatalf("a pack over the limit: %v, want too large", err)
	}
	m0.MaxPackSize = limit

	second := w.commit("b.txt", "two\n")
	res = push(t, c, 1, "app", w.pack(second, first), true,
		git.RefUpdate{Ref: "refs/heads/main", Old: first, New: second},
		git.RefUpdate{Ref: "refs/tags/v1", Old: zero, New: first})
	if len(res) != 2 || !res[0].OK || !res[1].OK {
		t.Fatalf("second push: %+v", res)
	}
	stale := push(t, c, 2, "app", "", false, git.RefUpdate{Ref: "refs/heads/main", Old: first, New: first})
	if stale[0].OK || stale[0].Reason != "fetch first" {
		t.Fatalf("a stale push: %+v", stale)
	}
	checkCopies(t, c, "app")

	// GET /v1/repos/{name}/refs answers the replicated refs through any server, to any token
	// allowed codecommit:GetRepository; a user with no policy is refused.
	refs, err := c.Client(2).RepoRefs(ctx, "app", &pub.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"refs/heads/main": second, "refs/tags/v1": first}; !maps.Equal(refs.Refs, want) {
		t.Fatalf("refs %v, want %v", refs.Refs, want)
	}
	if _, err := c.Client(1).RepoRefs(ctx, "nope", nil); !isStatus(err, 404) {
		t.Fatalf("refs of an unknown repository: %v, want 404", err)
	}
	// Both through the leader: a follower may not have applied the user yet when the token is asked.
	leader := c.WaitLeader()
	if _, err := c.Client(leader).UserCreate(ctx, pub.UserCreateRequest{Name: "nobody"}); err != nil {
		t.Fatal(err)
	}
	tk, err := c.Client(leader).UserTokenCreate(ctx, "nobody", pub.UserTokenCreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientWithToken(1, tk.SecretID).RepoRefs(ctx, "app", &pub.QueryOptions{Consistent: true}); !isStatus(err, 403) {
		t.Fatalf("refs read by a user without policies: %v, want 403", err)
	}

	// Every push is in the audit trail under the pusher's name, refused ones included.
	audit, err := c.Client(0).AuditList(ctx, pub.AuditFilter{Action: "codecommit:GitPush"}, &pub.QueryOptions{Consistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit.Records) != 3 {
		t.Fatalf("%d audit records of pushes, want 3: %+v", len(audit.Records), audit.Records)
	}
	for _, r := range audit.Records {
		if r.Principal.Name != "pusher" || !strings.HasSuffix(r.Resource, "repo/app") {
			t.Fatalf("audit record %+v", r)
		}
	}
	// Newest first: each names its refs, from what to what, and their outcomes.
	for i, want := range []string{
		"1 refs (0 applied, 1 rejected): refs/heads/main " + first + ".." + first + " rejected (fetch first)",
		"refs/heads/main " + first + ".." + second + " ok; refs/tags/v1 " + zero + ".." + first + " ok",
		"1 refs (1 applied, 0 rejected), pack ",
	} {
		if !strings.Contains(audit.Records[i].Detail, want) {
			t.Errorf("audit record %d's detail %q does not say %q", i, audit.Records[i].Detail, want)
		}
	}

	// A copy deleted while its server was down comes back when it restarts.
	dir := module(t, c, 2).Replica().Dir(repo.ID)
	c.Stop(2)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	c.Start(2)
	c.WaitLeader()
	c.WaitApplied(c.Server(0).Node().AppliedIndex())
	checkCopies(t, c, "app")

	// A rename keeps the copy; a delete removes every copy.
	newName := "renamed"
	if _, err := c.Client(0).RepoUpdate(ctx, "app", pub.RepositoryUpdateRequest{Name: &newName}); err != nil {
		t.Fatal(err)
	}
	checkCopies(t, c, "renamed")
	if err := c.Client(1).RepoDelete(ctx, "renamed", "renamed"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m := module(t, c, i)
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.Server(i).Node().ConsistentRead(wctx) // the delete, proposed through server 1, is applied here
		if err == nil {
			err = m.Replica().WaitSynced(wctx, repo.ID)
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(m.Replica().Dir(repo.ID)); !os.IsNotExist(err) {
			t.Fatalf("server %d kept the copy of a deleted repository: %v", i, err)
		}
	}
}

// packFiles lists a copy's pack directory (names only), sorted.
func packFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "objects", "pack"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestMaintenanceKeepsReplica: 30 pushes through one server of three, every copy maintained
// (its packs merged); a later push through another server applies on every copy, fsck clean
// with the state's refs; and a server restarted after its copy was repacked re-indexes and
// re-fetches nothing (its pack directory and slipway-packs count stay as they were).
func TestMaintenanceKeepsReplica(t *testing.T) {
	w := newWork(t)
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	repo, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	tip := zero
	for i := range 30 {
		next := w.commit(fmt.Sprintf("f%d.txt", i%5), fmt.Sprintf("content %d\n", i))
		var exclude []string
		if tip != zero {
			exclude = append(exclude, tip)
		}
		res := push(t, c, 0, "app", w.pack(next, exclude...), false, git.RefUpdate{Ref: "refs/heads/main", Old: tip, New: next})
		if len(res) != 1 || !res[0].OK {
			t.Fatalf("push %d: %+v", i, res)
		}
		tip = next
	}
	checkCopies(t, c, "app")
	for _, i := range []int{0, 2} {
		res, err := module(t, c, i).Replica().Maintain(ctx, repo.ID)
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		if res.PacksBefore < 30 || res.PacksAfter > 2 {
			t.Fatalf("server %d: maintenance %+v; want 30 packs merged", i, res)
		}
	}
	// Server 1's through the API (slipway repo maintenance), recorded in the audit trail.
	res, err := c.Client(1).RepoMaintain(ctx, "app")
	if err != nil || res.PacksBefore < 30 || res.PacksAfter > 2 || !res.Full {
		t.Fatalf("POST /v1/repos/app/maintenance: %+v, %v; want 30 packs merged by a full repack", res, err)
	}
	if _, err := c.Client(1).RepoMaintain(ctx, "nope"); fault.CodeOf(err) != fault.NotFound && !pub.IsNotFound(err) {
		t.Fatalf("maintenance of an unknown repository: %v, want not found", err)
	}
	checkCopies(t, c, "app")
	testutil.Eventually(t, 10*time.Second, func() error { // the edge's audit writer is asynchronous
		recs, err := c.Client(0).AuditList(ctx, pub.AuditFilter{Action: "codecommit:MaintainRepository"}, &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(recs.Records, func(r pub.AuditRecord) bool {
			return r.Outcome == "allowed" && strings.HasSuffix(r.Resource, "repo/app") && strings.Contains(r.Detail, "packs ")
		}) {
			return fmt.Errorf("no audit record of the maintenance with its detail: %+v", recs.Records)
		}
		return nil
	})

	next := w.commit("later.txt", "later\n")
	if res := push(t, c, 1, "app", w.pack(next, tip), false, git.RefUpdate{Ref: "refs/heads/main", Old: tip, New: next}); !res[0].OK {
		t.Fatalf("a push after maintenance: %+v", res)
	}
	checkCopies(t, c, "app")

	dir := module(t, c, 2).Replica().Dir(repo.ID)
	before, count := packFiles(t, dir), readFile(t, filepath.Join(dir, "slipway-packs"))
	if count != "31\n" {
		t.Fatalf("slipway-packs = %q; want 31", count)
	}
	c.Stop(2)
	c.Start(2)
	c.WaitLeader()
	c.WaitApplied(c.Server(0).Node().AppliedIndex())
	checkCopies(t, c, "app") // the restarted server's first pass is full
	if after := packFiles(t, dir); !slices.Equal(after, before) {
		t.Fatalf("the restart changed the repacked copy's packs:\n%v\nwas\n%v", after, before)
	}
	if got := readFile(t, filepath.Join(dir, "slipway-packs")); got != count {
		t.Fatalf("slipway-packs after the restart: %q, was %q", got, count)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
