//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// gitRun runs the real git client in dir with a clean configuration (no user or system config,
// no credential helper, no prompts) and returns its combined output.
func gitRun(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitRun(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// remoteURL is the repository's clone URL on a server with a token as the basic password.
func remoteURL(base, token, repo string) string {
	u, _ := url.Parse(base + "/git/" + repo + ".git")
	u.User = url.UserPassword("x", token)
	return u.String()
}

// TestGitAcrossThreeServers: a repository created through one server of three real processes
// is cloned and pushed to through another, and a clone through the third right after the push
// was acknowledged has it; of two clients pushing to main at once exactly one wins; after the
// leader is killed, a push through a survivor is acknowledged and fetched through the other
// survivor; once the killed server is back, every server's copy has it and passes git fsck.
func TestGitAcrossThreeServers(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := startCluster(t, 3, clusterOptions{})
	c.WaitToken(60 * time.Second) // every server has applied the management token
	if r := runCLI(t, "", c.Env(0), "repo", "create", "shop", "--description", "the shop"); r.code != 0 {
		t.Fatalf("repo create: %s", r)
	}
	r := runCLI(t, "", c.Env(1), "repo", "get", "shop", "--output", "json")
	var repo api.Repository
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &repo) != nil {
		t.Fatalf("repo get: %s", r)
	}
	if want := c.nodes[1].URL() + "/git/shop.git"; repo.CloneURLHTTP != want {
		t.Errorf("clone_url_http %q through server1; want %q", repo.CloneURLHTTP, want)
	}
	work := t.TempDir()
	mustGit(t, work, "init", "-q", "-b", "main", "src")
	src := filepath.Join(work, "src")
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		mustGit(t, src, "add", ".")
		mustGit(t, src, "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
	}
	// A wrong token is refused in git's own words, and nothing is pushed.
	if out, err := gitRun(t, src, "push", "-q", remoteURL(c.nodes[1].URL(), "slw_wrong", "shop"), "main"); err == nil || !strings.Contains(out, "Authentication failed") {
		t.Fatalf("push with a wrong token: %v\n%s", err, out)
	}
	mustGit(t, src, "push", "-q", remoteURL(c.nodes[1].URL(), c.token, "shop"), "main")
	head := strings.TrimSpace(mustGit(t, src, "rev-parse", "HEAD"))

	// Right after the acknowledgement, through another server.
	mustGit(t, work, "clone", "-q", remoteURL(c.nodes[2].URL(), c.token, "shop"), "copy")
	if got := strings.TrimSpace(mustGit(t, filepath.Join(work, "copy"), "rev-parse", "HEAD")); got != head {
		t.Fatalf("clone through server2 is at %s; want the push's %s", got, head)
	}

	// Two clients push to main at once through two servers: exactly one wins, the other is told
	// to fetch first.
	racers := make([]string, 2)
	for i := range racers {
		racers[i] = filepath.Join(work, fmt.Sprintf("racer%d", i))
		mustGit(t, work, "clone", "-q", remoteURL(c.nodes[i].URL(), c.token, "shop"), racers[i])
		if err := os.WriteFile(filepath.Join(racers[i], "race.txt"), []byte(fmt.Sprintf("racer %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		mustGit(t, racers[i], "add", ".")
		mustGit(t, racers[i], "commit", "-q", "-m", fmt.Sprintf("racer %d", i))
	}
	type outcome struct {
		out string
		err error
	}
	results := make(chan outcome, 2)
	for i := range racers {
		go func() {
			out, err := gitRun(t, racers[i], "push", remoteURL(c.nodes[i].URL(), c.token, "shop"), "main")
			results <- outcome{out, err}
		}()
	}
	won, lost := 0, 0
	for range racers {
		o := <-results
		switch {
		case o.err == nil:
			won++
		case strings.Contains(o.out, "fetch first"):
			lost++
		default:
			t.Fatalf("a racing push failed otherwise: %v\n%s", o.err, o.out)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("%d racing pushes won and %d were told to fetch first; want one each", won, lost)
	}
	mustGit(t, src, "pull", "-q", "--no-rebase", remoteURL(c.nodes[0].URL(), c.token, "shop"), "main")

	// Kill the leader; push through a survivor, fetch through the other.
	leader := -1
	eventually(t, 30*time.Second, "one leader all servers agree on", func() (err error) {
		leader, err = c.leaderAmong([]int{0, 1, 2})
		return err
	})
	c.nodes[leader].proc.Kill()
	alive := c.Running()
	if err := os.WriteFile(filepath.Join(src, "after.txt"), []byte("after the leader died\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, src, "add", ".")
	mustGit(t, src, "commit", "-q", "-m", "after")
	eventually(t, 60*time.Second, "a push through a survivor to be acknowledged", func() error {
		if out, err := gitRun(t, src, "push", "-q", remoteURL(c.nodes[alive[0]].URL(), c.token, "shop"), "main"); err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
	head = strings.TrimSpace(mustGit(t, src, "rev-parse", "HEAD"))
	copyDir := filepath.Join(work, "copy")
	mustGit(t, copyDir, "fetch", "-q", remoteURL(c.nodes[alive[1]].URL(), c.token, "shop"), "main")
	if got := strings.TrimSpace(mustGit(t, copyDir, "rev-parse", "FETCH_HEAD")); got != head {
		t.Fatalf("fetch through server%d got %s; want %s", alive[1], got, head)
	}

	// The killed server comes back and catches up: every server's copy has the acknowledged
	// push, and git fsck finds nothing wrong in any of them.
	c.Restart(leader)
	for i := range c.nodes {
		dir := filepath.Join(c.nodes[i].dataDir, "git", "repos", repo.ID)
		eventually(t, 60*time.Second, fmt.Sprintf("server%d's copy to have main at %s", i, head[:12]), func() error {
			out, err := gitRun(t, "", "--git-dir", dir, "rev-parse", "refs/heads/main")
			if err != nil {
				return fmt.Errorf("rev-parse: %w: %s", err, out)
			}
			if got := strings.TrimSpace(out); got != head {
				return fmt.Errorf("main is at %s", got)
			}
			return nil
		})
		mustGit(t, "", "--git-dir", dir, "fsck", "--strict", "--no-dangling")
	}
}
