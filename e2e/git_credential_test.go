//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitWith runs the real git client in dir with a clean git configuration, no prompts, and the
// SLIPWAY_* variables of env (which a credential helper git runs inherits).
func gitWith(t testing.TB, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = childEnv(append([]string{"HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=t@example.com"}, env...))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGitWith(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := gitWith(t, dir, env, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestGitCredentialAndBundle: git clones and pushes with no token in the URL through the
// slipway binary as its credential helper; the repository downloads as a bundle that git
// verifies, and pushing a mirror clone of the bundle into a new repository restores every
// branch and tag.
func TestGitCredentialAndBundle(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := startCluster(t, 1, clusterOptions{})
	c.WaitToken(60 * time.Second) // the server has applied the management token
	env := c.Env(0)
	for _, name := range []string{"shop", "restored"} {
		if r := runCLI(t, "", env, "repo", "create", name); r.code != 0 {
			t.Fatalf("repo create: %s", r)
		}
	}
	helper := "credential.helper=!" + slipwayBin + " git-credential"
	url := c.nodes[0].URL() + "/git/shop.git"
	work := t.TempDir()

	// Without the helper git has no password, and no prompt to ask for one.
	if out, err := gitWith(t, work, env, "clone", "-q", url, "nohelper"); err == nil || !strings.Contains(out, "could not read Username") {
		t.Fatalf("clone without a credential helper: %v\n%s", err, out)
	}
	// With it, but for a server that is not the configured one: no answer, so no password.
	other := []string{"SLIPWAY_ADDR=http://127.0.0.1:1", env[1]}
	if out, err := gitWith(t, work, other, "-c", helper, "clone", "-q", url, "otherhost"); err == nil {
		t.Fatalf("clone through a helper configured for another server succeeded:\n%s", out)
	}

	mustGitWith(t, work, env, "-c", helper, "clone", "-q", url, "src")
	src := filepath.Join(work, "src")
	for i, name := range []string{"a.txt", "b.txt"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mustGitWith(t, src, env, "add", name)
		mustGitWith(t, src, env, "commit", "-q", "-m", name)
		if i == 0 {
			mustGitWith(t, src, env, "tag", "-a", "v1", "-m", "release 1")
			mustGitWith(t, src, env, "branch", "old")
		}
	}
	mustGitWith(t, src, env, "-c", helper, "push", "-q", "origin", "main", "old", "v1")
	pushed := mustGitWith(t, src, env, "-c", helper, "ls-remote", "origin")

	// A bundle of it, verified by git, refused over an existing file without --force.
	if r := runCLI(t, work, env, "repo", "bundle", "shop"); r.code != 0 || !strings.Contains(r.stdout, "shop.bundle") {
		t.Fatalf("repo bundle: %s", r)
	}
	if r := runCLI(t, work, env, "repo", "bundle", "shop"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("repo bundle over an existing file: %s", r)
	}
	bundle := filepath.Join(work, "shop.bundle")
	mustGitWith(t, src, env, "bundle", "verify", bundle)

	// Restored as docs/GIT.md says: a mirror clone of the bundle pushed into a repository.
	mustGitWith(t, work, env, "clone", "-q", "--mirror", bundle, "restore.git")
	restoredURL := c.nodes[0].URL() + "/git/restored.git"
	mustGitWith(t, filepath.Join(work, "restore.git"), env, "-c", helper, "push", "-q", "--mirror", restoredURL)
	restored := mustGitWith(t, work, env, "-c", helper, "ls-remote", restoredURL)
	if restored != pushed || !strings.Contains(pushed, "refs/tags/v1^{}") {
		t.Fatalf("the restored repository's refs:\n%s\nwant the original's:\n%s", restored, pushed)
	}
}
