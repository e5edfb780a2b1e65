package git_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/testutil"
	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/git"
)

// benchGit runs git in dir for a benchmark and returns its trimmed output.
func benchGit(b *testing.B, dir string, stdin []byte, args ...string) string {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}

// BenchmarkMerge measures the merge engine on a pull request of 100 commits over a tree of
// 1,000 files (each commit edits 10 of them) into a destination that moved too (one commit
// editing 10 others), on three servers: Mergeable (one merge-base check and one merge-tree) and
// Merge with each strategy (made, packed, stored as a quorum blob, one repo.push applied), next
// to the same `git merge-tree --write-tree` run by hand on a bare clone of the same history.
func BenchmarkMerge(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is not installed")
	}
	dir := b.TempDir()
	benchGit(b, dir, nil, "init", "--quiet", "--initial-branch=main")
	for i := range 1000 {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i/100), fmt.Sprintf("f%03d.txt", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat(fmt.Sprintf("line of file %d\n", i), 20)), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	benchGit(b, dir, nil, "add", ".")
	benchGit(b, dir, nil, "commit", "--quiet", "-m", "1,000 files")
	edit := func(files []int, msg string) {
		for _, i := range files {
			p := filepath.Join(dir, fmt.Sprintf("d%02d", i/100), fmt.Sprintf("f%03d.txt", i))
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = fmt.Fprintf(f, "%s\n", msg)
			_ = f.Close()
		}
		benchGit(b, dir, nil, "commit", "--quiet", "-a", "-m", msg)
	}
	benchGit(b, dir, nil, "checkout", "--quiet", "-b", "pr")
	for c := range 100 {
		var files []int
		for k := range 10 {
			files = append(files, (c*10+k)%900)
		}
		edit(files, fmt.Sprintf("pr commit %d", c))
	}
	benchGit(b, dir, nil, "checkout", "--quiet", "main")
	edit([]int{900, 910, 920, 930, 940, 950, 960, 970, 980, 990}, "main moved")
	heads := map[string]string{"main": benchGit(b, dir, nil, "rev-parse", "main"), "pr": benchGit(b, dir, nil, "rev-parse", "pr")}
	pack, err := exec.Command("sh", "-c", "cd "+dir+" && printf 'main\\npr\\n' | git pack-objects --revs --stdout -q").Output()
	if err != nil {
		b.Fatal(err)
	}
	packPath := filepath.Join(b.TempDir(), "all.pack")
	if err := os.WriteFile(packPath, pack, 0o600); err != nil {
		b.Fatal(err)
	}
	bare := filepath.Join(b.TempDir(), "bare.git")
	benchGit(b, dir, nil, "clone", "--quiet", "--bare", dir, bare)

	c := testutil.NewCluster(b, 3)
	ctx := context.Background()
	if _, err := c.Client(0).RepoCreate(ctx, pub.RepositoryCreateRequest{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	m, ok := c.Server(0).Service("git").(*git.Module)
	if !ok {
		b.Fatal("no git service")
	}
	repo, err := m.Backend().Repo(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	sha, err := m.Backend().StorePack(ctx, repo, packPath)
	if err != nil {
		b.Fatal(err)
	}
	// pushRef points branch at commit, from old (zero: a new branch).
	pushRef := func(branch, old, commit, pack string) {
		res, err := m.Backend().Push(ctx, git.Push{Repo: repo, Pack: pack, Updates: []git.RefUpdate{{Ref: "refs/heads/" + branch, Old: old, New: commit}}})
		if err != nil || len(res) != 1 || !res[0].OK {
			b.Fatalf("push %s: %+v, %v", branch, res, err)
		}
	}
	pushRef("main", zero, heads["main"], sha)
	pushRef("pr", zero, heads["pr"], "")
	req := git.MergeRequest{Repo: "bench", Source: "pr", Destination: "main", SourceCommit: heads["pr"], DestinationCommit: heads["main"], Author: git.Author{Name: "bench"}}

	b.Run("git-merge-tree-by-hand", func(b *testing.B) {
		for range b.N {
			benchGit(b, bare, nil, "merge-tree", "--write-tree", "main", "pr")
		}
	})
	b.Run("git-merge-base-and-merge-tree-by-hand", func(b *testing.B) {
		for range b.N { // the same two git runs as Mergeable's
			_ = exec.Command("git", "--git-dir="+bare, "merge-base", "--is-ancestor", "pr", "main").Run() // exit 1: not an ancestor
			benchGit(b, bare, nil, "merge-tree", "--write-tree", "main", "pr")
		}
	})
	for _, s := range []git.MergeStrategy{git.MergeSquash, git.MergeThreeWay} {
		b.Run("mergeable-"+string(s), func(b *testing.B) {
			req := req
			req.Strategy = s
			for range b.N {
				if res, err := m.Mergeable(ctx, req); err != nil || len(res.Conflicts) > 0 {
					b.Fatalf("%+v, %v", res, err)
				}
			}
		})
	}
	n := 0
	for _, s := range []git.MergeStrategy{git.MergeSquash, git.MergeThreeWay, git.MergeFastForward} {
		b.Run("merge-"+string(s), func(b *testing.B) {
			for range b.N {
				// Each merge goes into a new destination branch at main's head (not measured).
				b.StopTimer()
				n++
				dst := fmt.Sprintf("dst-%d", n)
				at := heads["main"]
				if s == git.MergeFastForward {
					at = heads["pr"] + "~10"
					at = benchGit(b, bare, nil, "rev-parse", at)
				}
				pushRef(dst, zero, at, "")
				req := req
				req.Strategy, req.Destination, req.DestinationCommit = s, dst, at
				b.StartTimer()
				if _, err := m.Merge(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
