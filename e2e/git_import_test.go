//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// refsOf lists a repository's branches and tags (with peeled tags) as git ls-remote prints
// them, for comparing two repositories.
func refsOf(t testing.TB, env []string, where string) string {
	t.Helper()
	out := mustGitWith(t, t.TempDir(), env, "-c", "credential.helper=!"+slipwayBin+" git-credential", "ls-remote", "--refs", where, "refs/heads/*", "refs/tags/*")
	return out
}

// TestRepoImport: `slipway repo import` mirrors a repository's branches and tags (the
// default branch from the source's HEAD) through the push path in batches; run again, it finds
// everything up to date; a branch that moved on in both places is reported and not imported
// (non-zero exit) while the others stay; a bundle downloaded with `slipway repo bundle`
// restores into a new repository with the same refs; a file that is not a bundle, a source
// with nothing to import and an option-like source are refused before any repository exists.
func TestRepoImport(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := startCluster(t, 1, clusterOptions{})
	c.WaitToken(60 * time.Second) // the server has applied the management token
	env := c.Env(0)
	work := t.TempDir()

	// The source: default branch "trunk", two more branches, a lightweight and an annotated tag.
	mustGitWith(t, work, env, "init", "-q", "-b", "trunk", "src")
	src := filepath.Join(work, "src")
	commit := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(src, name), []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mustGitWith(t, src, env, "add", name)
		mustGitWith(t, src, env, "commit", "-q", "-m", "add "+name)
	}
	commit("a.txt")
	mustGitWith(t, src, env, "tag", "v0.1")
	mustGitWith(t, src, env, "branch", "dev")
	commit("b.txt")
	mustGitWith(t, src, env, "tag", "-a", "v1", "-m", "release 1")
	mustGitWith(t, src, env, "checkout", "-q", "-b", "feature/x")
	commit("c.txt")
	mustGitWith(t, src, env, "checkout", "-q", "trunk")
	bare := filepath.Join(work, "src.git")
	mustGitWith(t, work, env, "clone", "-q", "--bare", src, bare)

	r := runCLI(t, work, env, "repo", "import", "web", "--from", bare, "--batch", "2", "--output", "json")
	if r.code != 0 {
		t.Fatalf("repo import: %s", r)
	}
	var res struct {
		Created  bool `json:"created"`
		Refs     int  `json:"refs"`
		Imported int  `json:"imported"`
		Pushes   int  `json:"pushes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("repo import --output json: %v\n%s", err, r.stdout)
	}
	if !res.Created || res.Refs != 5 || res.Imported != 5 || res.Pushes != 3 {
		t.Fatalf("import of 5 refs in batches of 2: %+v, want created, 5 imported in 3 pushes", res)
	}
	webURL := c.nodes[0].URL() + "/git/web.git"
	if got, want := refsOf(t, env, webURL), refsOf(t, env, bare); got != want {
		t.Fatalf("the imported refs:\n%s\nwant the source's:\n%s", got, want)
	}
	if r := runCLI(t, work, env, "repo", "get", "web", "--output", "json"); !strings.Contains(r.stdout, `"default_branch": "trunk"`) {
		t.Fatalf("the imported repository's default branch is not the source's HEAD: %s", r)
	}

	// Again: nothing to do.
	if r := runCLI(t, work, env, "repo", "import", "web", "--from", bare); r.code != 0 || !strings.Contains(r.stdout, "Imported 0 of 5 refs") || !strings.Contains(r.stdout, "5 already up to date") {
		t.Fatalf("repo import again: %s", r)
	}

	// trunk moves on in both: the source's trunk is not imported, a new source branch is.
	commit("d.txt")
	mustGitWith(t, src, env, "push", "-q", bare, "trunk")
	mustGitWith(t, bare, env, "branch", "hotfix", "trunk")
	other := filepath.Join(work, "other")
	helper := "credential.helper=!" + slipwayBin + " git-credential"
	mustGitWith(t, work, env, "-c", helper, "clone", "-q", webURL, other)
	mustGitWith(t, other, env, "commit", "-q", "--allow-empty", "-m", "moved on in slipway")
	mustGitWith(t, other, env, "-c", helper, "push", "-q", "origin", "trunk")
	r = runCLI(t, work, env, "repo", "import", "web", "--from", bare)
	if r.code == 0 || !strings.Contains(r.stderr, "refs/heads/trunk") || !strings.Contains(r.stdout, "Imported 1 of 6 refs") {
		t.Fatalf("import over a diverged branch: %s", r)
	}
	if got := refsOf(t, env, webURL); !strings.Contains(got, "refs/heads/hotfix") {
		t.Fatalf("the new branch was not imported beside the rejected one:\n%s", got)
	}

	// A bundle of web restores into a new repository.
	if r := runCLI(t, work, env, "repo", "bundle", "web", "-o", "web.bundle"); r.code != 0 {
		t.Fatalf("repo bundle: %s", r)
	}
	if r := runCLI(t, work, env, "repo", "import", "restored", "--from", "web.bundle"); r.code != 0 {
		t.Fatalf("restore the bundle: %s", r)
	}
	if got, want := refsOf(t, env, c.nodes[0].URL()+"/git/restored.git"), refsOf(t, env, webURL); got != want {
		t.Fatalf("the restored refs:\n%s\nwant web's:\n%s", got, want)
	}
	if r := runCLI(t, work, env, "repo", "get", "restored", "--output", "json"); !strings.Contains(r.stdout, `"default_branch": "trunk"`) {
		t.Fatalf("the restored repository's default branch is not the bundle's HEAD: %s", r)
	}

	// Refusals, each before a repository exists.
	if err := os.WriteFile(filepath.Join(work, "bad.bundle"), []byte("# v2 git bundle\nnot really\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGitWith(t, work, env, "init", "-q", "--bare", "empty.git")
	for _, c2 := range []struct {
		from, want string
		code       int
	}{
		{"bad.bundle", "is not a bundle git can use", 1},
		{"empty.git", "nothing to import", 1},
		{"--upload-pack=touch /tmp/x", "cannot start with '-'", 2},
		{"ext::sh -c touch% /tmp/x", "ext:: and fd::", 2},
		{"no-such-dir", "no such file or directory", 2},
	} {
		r := runCLI(t, work, env, "repo", "import", "ghost", "--from", c2.from)
		if r.code != c2.code || !strings.Contains(r.stderr, c2.want) {
			t.Errorf("import --from %q: want exit %d and %q: %s", c2.from, c2.code, c2.want, r)
		}
	}
	if r := runCLI(t, work, env, "repo", "get", "ghost"); r.code == 0 {
		t.Fatalf("a refused import created the repository: %s", r)
	}
}
