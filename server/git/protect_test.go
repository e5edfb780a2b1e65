package git_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/git"
)

// gitOut runs the real git in dir with a clean environment and returns its combined output
// and error (a refused push is an error whose output the test reads).
func gitOut(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func mustGitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitOut(t, dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// remote is the repository's URL on server i with token as the password.
func remote(c *testutil.Cluster, i int, token, repo string) string {
	u, _ := url.Parse(c.URL(i) + "/git/" + repo + ".git")
	u.User = url.UserPassword("x", token)
	return u.String()
}

// userToken creates a user allowed codecommit:* on every repository, in the given groups, and
// returns a session token of theirs.
func userToken(t *testing.T, c *testutil.Cluster, name string, groups ...string) string {
	t.Helper()
	ctx := context.Background()
	cl := c.Client(0)
	pw := "correct horse battery staple " + name
	if _, err := cl.UserCreate(ctx, pub.UserCreateRequest{Name: name, Password: pw}); err != nil {
		t.Fatal(err)
	}
	if err := cl.PolicyAttach(ctx, "coders", pub.PolicyAttachRequest{User: name}); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if err := cl.IAMGroupAddUser(ctx, g, name); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := cl.Login(ctx, pub.LoginRequest{User: name, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return tk.SecretID
}

// TestBranchProtection pushes with the real git over HTTP to a real three-server cluster whose
// main is protected (no force push, no deletion, pushes by the group maintainers only): alice's
// push is refused at git push with the reason, bob's (a maintainer) applies, bob's force push
// and deletion are refused, a non-atomic push of main and a feature branch applies the feature
// branch, PutFile on main is 403 with the reason, a release/* rule requiring ci/build holds a
// push until a success status is set on the commit, a require-pr rule refuses a push and lets
// a pull-request merge's move (ViaPullRequest) through, and a removed rule no longer refuses.
func TestBranchProtection(t *testing.T) {
	newWork(t) // skips without git
	c := testutil.NewCluster(t, 3)
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:*","Resource":"*"}]}`
	if _, err := cl.PolicyCreate(ctx, pub.PolicyPutRequest{Name: "coders", Document: doc}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.IAMGroupCreate(ctx, pub.IAMGroupCreateRequest{Name: "maintainers"}); err != nil {
		t.Fatal(err)
	}
	alice, bob := userToken(t, c, "alice"), userToken(t, c, "bob", "maintainers")

	dir := t.TempDir()
	mustGitIn(t, dir, "init", "--quiet", "--initial-branch=main")
	commit := func(name string) string {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		mustGitIn(t, dir, "add", name)
		mustGitIn(t, dir, "commit", "--quiet", "-m", name)
		return mustGitIn(t, dir, "rev-parse", "HEAD")
	}
	first := commit("a.txt")
	mustGitIn(t, dir, "push", "--quiet", remote(c, 0, testutil.ManagementToken, "app"), "main")

	// Bad rules are refused before anything is proposed.
	for _, bad := range []pub.BranchProtection{
		{Pattern: "main"},
		{Pattern: "refs/heads/main", NoDelete: true},
		{Pattern: "ma[in", NoDelete: true},
		{Pattern: "main", PushPrincipals: []string{"a b"}},
		{Pattern: "main", RequiredStatuses: []string{""}},
	} {
		if _, err := cl.RepoProtect(ctx, "app", bad); pub.ErrorCode(err) != pub.CodeBadRequest {
			t.Errorf("rule %+v: %v, want bad request", bad, err)
		}
	}
	rule, err := cl.RepoProtect(ctx, "app", pub.BranchProtection{Pattern: "main", NoForcePush: true, NoDelete: true, PushPrincipals: []string{"maintainers"}})
	if err != nil || rule.Pattern != "main" || !rule.NoForcePush || rule.ModifyIndex == 0 {
		t.Fatalf("protect main: %+v, %v", rule, err)
	}

	// alice is not a maintainer: refused in git's own words, through another server.
	second := commit("b.txt")
	out, err := gitOut(t, dir, "push", remote(c, 1, alice, "app"), "main")
	if err == nil || !strings.Contains(out, "! [remote rejected] main -> main (protected branch main: only maintainers may push to it, not user alice)") {
		t.Fatalf("alice's push to protected main: %v\n%s", err, out)
	}
	// The same over SSH.
	if out, ok := sshPush(t, c, dir, "alice", "main"); ok && !strings.Contains(out, "! [remote rejected] main -> main (protected branch main: only maintainers may push to it, not user alice)") {
		t.Fatalf("alice's push over SSH to protected main:\n%s", out)
	}
	// A non-atomic push of main and a new branch: the branch applies, main does not.
	mustGitIn(t, dir, "branch", "feature/x")
	out, err = gitOut(t, dir, "push", remote(c, 2, alice, "app"), "main", "feature/x")
	if err == nil || !strings.Contains(out, "[remote rejected] main -> main (protected branch main:") || !strings.Contains(out, "* [new branch]      feature/x -> feature/x") {
		t.Fatalf("alice's push of main and feature/x: %v\n%s", err, out)
	}
	refs, err := c.Client(1).RepoRefs(ctx, "app", nil)
	if err != nil || refs.Refs["refs/heads/main"] != first || refs.Refs["refs/heads/feature/x"] != second {
		t.Fatalf("refs after alice's pushes: %+v, %v; want main at %s, feature/x at %s", refs, err, first, second)
	}
	// PutFile is refused with the same reason.
	_, err = c.ClientWithToken(0, alice).RepoPutFile(ctx, "app", pub.FilePutRequest{Branch: "main", Path: "c.txt", Content: "c\n", Parent: first, Message: "c"})
	if pub.ErrorCode(err) != pub.CodeForbidden || !strings.Contains(err.Error(), "protected branch main: only maintainers may push to it") {
		t.Fatalf("alice's PutFile on main: %v, want forbidden with the reason", err)
	}

	// bob is a maintainer (through his group): his fast-forward applies.
	mustGitIn(t, dir, "push", "--quiet", remote(c, 1, bob, "app"), "main")
	// A force push and a deletion are refused even for him.
	mustGitIn(t, dir, "reset", "--quiet", "--hard", first)
	rewritten := commit("c.txt")
	out, err = gitOut(t, dir, "push", "--force", remote(c, 2, bob, "app"), "main")
	if err == nil || !strings.Contains(out, "! [remote rejected] main -> main (protected branch main: force pushes are not allowed)") {
		t.Fatalf("bob's force push: %v\n%s", err, out)
	}
	out, err = gitOut(t, dir, "push", remote(c, 0, bob, "app"), ":main")
	if err == nil || !strings.Contains(out, "! [remote rejected] main (protected branch main: deleting it is not allowed)") {
		t.Fatalf("bob's deletion of main: %v\n%s", err, out)
	}
	// The management token is not among the principals either.
	out, err = gitOut(t, dir, "push", "--force", remote(c, 0, testutil.ManagementToken, "app"), "main")
	if err == nil || !strings.Contains(out, "(protected branch main: only maintainers may push to it") {
		t.Fatalf("the management token's push: %v\n%s", err, out)
	}
	if refs, err := cl.RepoRefs(ctx, "app", nil); err != nil || refs.Refs["refs/heads/main"] != second {
		t.Fatalf("main after the refused pushes: %+v, %v; want %s", refs, err, second)
	}

	// Required statuses: release/* needs ci/build to be success on the new head.
	if _, err := cl.RepoProtect(ctx, "app", pub.BranchProtection{Pattern: "release/*", RequiredStatuses: []string{"ci/build"}}); err != nil {
		t.Fatal(err)
	}
	out, err = gitOut(t, dir, "push", remote(c, 1, alice, "app"), "HEAD:refs/heads/release/1")
	if err == nil || !strings.Contains(out, "(protected branch release/1: required status ci/build is not set on "+rewritten) {
		t.Fatalf("release/1 without a status: %v\n%s", err, out)
	}
	set := func(state string) {
		t.Helper()
		if _, err := c.ClientWithToken(2, bob).RepoSetStatus(ctx, "app", rewritten, pub.CommitStatusRequest{State: state, Context: "ci/build", TargetURL: "https://ci.example.com/1"}); err != nil {
			t.Fatal(err)
		}
	}
	set("pending")
	out, err = gitOut(t, dir, "push", remote(c, 1, alice, "app"), "HEAD:refs/heads/release/1")
	if err == nil || !strings.Contains(out, "required status ci/build is pending on "+rewritten+": it must be success") {
		t.Fatalf("release/1 with ci/build pending: %v\n%s", err, out)
	}
	set("success")
	mustGitIn(t, dir, "push", "--quiet", remote(c, 1, alice, "app"), "HEAD:refs/heads/release/1")
	st, err := c.Client(0).RepoStatuses(ctx, "app", rewritten)
	if err != nil || st.State != "success" || len(st.Statuses) != 2 || len(st.Latest) != 1 || st.Latest[0].Creator != "bob" {
		t.Fatalf("statuses: %+v, %v", st, err)
	}

	// require-pr: a push is refused; a pull-request merge's move goes through Backend.Push.
	if _, err := cl.RepoProtect(ctx, "app", pub.BranchProtection{Pattern: "feature/*", RequirePR: true}); err != nil {
		t.Fatal(err)
	}
	out, err = gitOut(t, dir, "push", "--force", remote(c, 0, alice, "app"), "HEAD:feature/x")
	if err == nil || !strings.Contains(out, "(protected branch feature/x: changes must go through a pull request") {
		t.Fatalf("a push to a require-pr branch: %v\n%s", err, out)
	}
	b := module(t, c, 0).Backend()
	repo, err := b.Repo(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Push(ctx, git.Push{Repo: repo, Updates: []git.RefUpdate{{Ref: "refs/heads/feature/x", Old: second, New: first}}})
	if err != nil || len(res) != 1 || res[0].OK || !strings.Contains(res[0].Reason, "pull request") {
		t.Fatalf("a move not through a pull request: %+v, %v", res, err)
	}
	res, err = b.Push(ctx, git.Push{Repo: repo, ViaPullRequest: true, Updates: []git.RefUpdate{{Ref: "refs/heads/feature/x", Old: second, New: first}}})
	if err != nil || len(res) != 1 || !res[0].OK {
		t.Fatalf("a pull-request merge's move: %+v, %v", res, err)
	}

	// Listing, removing, and a removed rule refuses no more.
	list, err := c.Client(1).RepoProtections(ctx, "app")
	if err != nil || len(list.Protections) != 3 || list.Protections[0].Pattern != "feature/*" || list.Protections[2].Pattern != "release/*" {
		t.Fatalf("protections: %+v, %v", list, err)
	}
	if err := cl.RepoUnprotect(ctx, "app", "main"); err != nil {
		t.Fatal(err)
	}
	if err := cl.RepoUnprotect(ctx, "app", "main"); !pub.IsNotFound(err) {
		t.Fatalf("removing a removed rule: %v, want not found", err)
	}
	mustGitIn(t, dir, "push", "--quiet", "--force", remote(c, 1, alice, "app"), "main")
	checkCopies(t, c, "app")

	// The push's audit record names the refused ref and why.
	testutil.Eventually(t, 10*time.Second, func() error {
		l, err := cl.AuditList(ctx, pub.AuditFilter{Action: "codecommit:GitPush"}, &pub.QueryOptions{Consistent: true})
		if err != nil {
			return err
		}
		for _, rec := range l.Records {
			if rec.Principal.Name == "bob" && strings.Contains(rec.Detail, "refs/heads/main "+second+".."+zero+" rejected (protected branch main: deleting it is not allowed)") {
				return nil
			}
		}
		return fmt.Errorf("no audit record of bob's refused deletion among %d", len(l.Records))
	})
}

// TestCommitStatuses sets statuses through the API: the latest per context wins, the combined
// state follows GitHub's rules, bad input is refused naming the field, and a reader's policy
// (ReadOnly) cannot set one.
func TestCommitStatuses(t *testing.T) {
	c := testutil.NewCluster(t, 1)
	ctx := context.Background()
	cl := c.Client(0)
	if _, err := cl.RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "svc"}); err != nil {
		t.Fatal(err)
	}
	commit := strings.Repeat("ab", 20)
	st, err := cl.RepoStatuses(ctx, "svc", commit)
	if err != nil || st.State != "pending" || len(st.Statuses) != 0 {
		t.Fatalf("no statuses: %+v, %v", st, err)
	}
	for _, s := range []pub.CommitStatusRequest{
		{State: "pending", Context: "ci/build"},
		{State: "success", Context: "ci/lint"},
		{State: "success", Context: "ci/build", Description: "green"},
	} {
		if _, err := cl.RepoSetStatus(ctx, "svc", commit, s); err != nil {
			t.Fatal(err)
		}
	}
	st, err = cl.RepoStatuses(ctx, "svc", commit)
	if err != nil || st.State != "success" || len(st.Statuses) != 3 || len(st.Latest) != 2 || st.Latest[0].Description != "green" {
		t.Fatalf("statuses: %+v, %v", st, err)
	}
	if _, err := cl.RepoSetStatus(ctx, "svc", commit, pub.CommitStatusRequest{State: "error", Context: "ci/lint"}); err != nil {
		t.Fatal(err)
	}
	if st, err = cl.RepoStatuses(ctx, "svc", commit); err != nil || st.State != "failure" {
		t.Fatalf("after an error: %+v, %v", st, err)
	}
	for _, tc := range []struct {
		commit string
		req    pub.CommitStatusRequest
		has    string
	}{
		{commit, pub.CommitStatusRequest{State: "done", Context: "ci"}, "not one of pending"},
		{commit, pub.CommitStatusRequest{State: "success"}, "status context"},
		{commit, pub.CommitStatusRequest{State: "success", Context: strings.Repeat("c", 300)}, "status context"},
		{commit, pub.CommitStatusRequest{State: "success", Context: "ci", TargetURL: "javascript:alert(1)"}, "http or https"},
		{commit, pub.CommitStatusRequest{State: "success", Context: "ci", Description: strings.Repeat("d", 2000)}, "description"},
		{"abc", pub.CommitStatusRequest{State: "success", Context: "ci"}, "full commit ID"},
	} {
		if _, err := cl.RepoSetStatus(ctx, "svc", tc.commit, tc.req); pub.ErrorCode(err) != pub.CodeBadRequest || !strings.Contains(err.Error(), tc.has) {
			t.Errorf("%+.60v: %v, want bad request with %q", tc.req, err, tc.has)
		}
	}
	if _, err := cl.RepoSetStatus(ctx, "nope", commit, pub.CommitStatusRequest{State: "success", Context: "ci"}); !pub.IsNotFound(err) {
		t.Errorf("a status on an unknown repository: %v, want not found", err)
	}
	// The contexts of one commit are bounded.
	other := strings.Repeat("cd", 20)
	for i := range git.MaxContextsPerCommit {
		if _, err := cl.RepoSetStatus(ctx, "svc", other, pub.CommitStatusRequest{State: "success", Context: "ctx/" + string(rune('a'+i/26)) + string(rune('a'+i%26))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.RepoSetStatus(ctx, "svc", other, pub.CommitStatusRequest{State: "success", Context: "one/more"}); !pub.IsConflict(err) || !strings.Contains(err.Error(), "maximum") {
		t.Fatalf("a context over the bound: %v, want a conflict naming the maximum", err)
	}
	if _, err := cl.RepoSetStatus(ctx, "svc", other, pub.CommitStatusRequest{State: "failure", Context: "ctx/aa"}); err != nil {
		t.Fatalf("a known context at the bound: %v", err)
	}
}

// sshPush pushes refs from dir over SSH to server 1 with a new key of user's (added first),
// pinning the cluster's host key, and returns git's output; ok is false (and the test logs why)
// when ssh or ssh-keygen is not installed.
func sshPush(t *testing.T, c *testutil.Cluster, dir, user string, refs ...string) (string, bool) {
	t.Helper()
	for _, bin := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Logf("%s is not installed: the SSH push is not tested", bin)
			return "", false
		}
	}
	ctx := context.Background()
	keys := t.TempDir()
	key := filepath.Join(keys, user)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pubKey, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client(0).SSHKeyAdd(ctx, user, strings.TrimSpace(string(pubKey))); err != nil {
		t.Fatal(err)
	}
	hk, err := c.Client(1).GitSSHHostKey(ctx)
	if err != nil || hk.Port == 0 {
		t.Fatalf("host key: %+v, %v", hk, err)
	}
	known := filepath.Join(keys, "known_hosts")
	if err := os.WriteFile(known, []byte(hk.KnownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ssh := "ssh -F /dev/null -i " + key + " -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=" + known + " -o StrictHostKeyChecking=yes -o LogLevel=ERROR"
	args := append([]string{"-c", "core.sshCommand=" + ssh, "push", fmt.Sprintf("ssh://git@127.0.0.1:%d/app.git", hk.Port)}, refs...)
	out, err := gitOut(t, dir, args...)
	if err == nil {
		t.Logf("the SSH push succeeded:\n%s", out)
	}
	return out, true
}
