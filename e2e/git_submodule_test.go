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

// TestGitSubmodule: a repository whose submodule is another Slipway repository clones with
// --recurse-submodules through a second server, both fetched with the credential helper; a
// new commit of the submodule reaches the superproject's clone with `submodule update --remote`.
func TestGitSubmodule(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	c := startCluster(t, 3, clusterOptions{})
	c.WaitToken(60 * time.Second) // every server has applied the management token
	env := c.Env(0)
	for _, name := range []string{"lib", "app"} {
		if r := runCLI(t, "", env, "repo", "create", name); r.code != 0 {
			t.Fatalf("repo create: %s", r)
		}
	}
	// The helper answers for every server of the cluster.
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.URL())
	}
	env = append(env, "SLIPWAY_ADDR="+strings.Join(addrs, ","))
	helper := "credential.helper=!" + slipwayBin + " git-credential"
	work := t.TempDir()
	write := func(dir, name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	libURL := c.nodes[0].URL() + "/git/lib.git"
	mustGitWith(t, work, env, "init", "-q", "-b", "main", "lib")
	lib := filepath.Join(work, "lib")
	write(lib, "lib.go", "package lib\n")
	mustGitWith(t, lib, env, "add", ".")
	mustGitWith(t, lib, env, "commit", "-q", "-m", "lib")
	mustGitWith(t, lib, env, "-c", helper, "push", "-q", libURL, "main")

	mustGitWith(t, work, env, "init", "-q", "-b", "main", "app")
	app := filepath.Join(work, "app")
	write(app, "main.go", "package main\n")
	mustGitWith(t, app, env, "-c", helper, "submodule", "add", "-q", "-b", "main", libURL, "vendor/lib")
	mustGitWith(t, app, env, "add", ".")
	mustGitWith(t, app, env, "commit", "-q", "-m", "app with lib")
	mustGitWith(t, app, env, "-c", helper, "push", "-q", c.nodes[0].URL()+"/git/app.git", "main")

	// Through another server, submodule and all (the submodule's URL is server 0's).
	mustGitWith(t, work, env, "-c", helper, "clone", "-q", "--recurse-submodules", c.nodes[1].URL()+"/git/app.git", "clone")
	clone := filepath.Join(work, "clone")
	if b, err := os.ReadFile(filepath.Join(clone, "vendor", "lib", "lib.go")); err != nil || string(b) != "package lib\n" {
		t.Fatalf("the submodule's file in the recursive clone: %q, %v", b, err)
	}

	// lib moves on through server 2; the superproject's clone follows it.
	write(lib, "more.go", "package lib\n\nconst More = 1\n")
	mustGitWith(t, lib, env, "add", ".")
	mustGitWith(t, lib, env, "commit", "-q", "-m", "more")
	mustGitWith(t, lib, env, "-c", helper, "push", "-q", c.nodes[2].URL()+"/git/lib.git", "main")
	mustGitWith(t, clone, env, "-c", helper, "submodule", "update", "-q", "--remote")
	if _, err := os.Stat(filepath.Join(clone, "vendor", "lib", "more.go")); err != nil {
		t.Fatalf("submodule update --remote did not bring lib's new commit: %v", err)
	}
	out := mustGitWith(t, clone, env, "-C", "vendor/lib", "rev-parse", "HEAD")
	if want := mustGitWith(t, lib, env, "rev-parse", "HEAD"); out != want {
		t.Fatalf("the submodule is at %s, lib's head is %s", out, want)
	}
}
