//go:build e2e

package e2e

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/pkg/api"
)

// TestDevBuildsTheExample is the builds issue's end to end: `slipway dev --agents 1`, the
// example buildspec (examples/build) pushed with the real git into a Slipway repository, a
// project over it, and:
//
//   - a build started and its log followed while it runs (`build logs --follow`): every phase's
//     output arrives, and the follow ends with the build, exit 0;
//   - `build start --watch` of a second build succeeds (exit 0) and shows its output;
//   - the artifact downloaded is a zip of the two built files;
//   - the exported variable VERSION is on the build record (`build get --output json`);
//   - the report group's two test cases are listed (`build reports`);
//   - a build whose buildspec fails makes `build start --watch` exit 1.
func TestDevBuildsTheExample(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the build scenario needs git: %v", err)
	}
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "examples", "build")
	ports := freePorts(t, 2)
	dataDir := t.TempDir()
	dev := startProc(t, "dev", nil, "dev", "--agents", "1", "--data-dir", filepath.Join(dataDir, "dev"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--ssh-addr", "off")
	addr, token := waitDevExports(t, dev)
	env := []string{"SLIPWAY_ADDR=" + addr, "SLIPWAY_TOKEN=" + token}

	// The embedded agent takes builds, and says so.
	eventually(t, 30*time.Second, "dev-1 advertises builds", func() error {
		r := runCLI(t, "", env, "host", "get", "dev-1", "--output", "json")
		var h api.Host
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &h) != nil {
			return fmt.Errorf("%s", r)
		}
		if !slices.Contains(h.Capabilities, "build") || !slices.Contains(h.Capabilities, "deploy") {
			return fmt.Errorf("capabilities %v", h.Capabilities)
		}
		return nil
	})

	// The example, pushed as a repository's main branch.
	if r := runCLI(t, "", env, "repo", "create", "greeter"); r.code != 0 {
		t.Fatalf("repo create: %s", r)
	}
	work := filepath.Join(t.TempDir(), "greeter")
	if err := os.CopyFS(work, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	helper := "credential.helper=!" + slipwayBin + " git-credential"
	gitEnv := append(slices.Clone(env), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	mustGitWith(t, work, gitEnv, "init", "-q", "-b", "main")
	mustGitWith(t, work, gitEnv, "add", ".")
	mustGitWith(t, work, gitEnv, "commit", "-q", "-m", "the example")
	mustGitWith(t, work, gitEnv, "-c", helper, "push", "-q", addr+"/git/greeter.git", "main")
	commit := strings.TrimSpace(mustGitWith(t, work, gitEnv, "rev-parse", "HEAD"))

	if r := runCLI(t, "", env, "project", "create", "greeter", "--repo", "greeter", "--branch", "main", "--artifacts", "BLOB"); r.code != 0 {
		t.Fatalf("project create: %s", r)
	}

	// A build, its log followed while it runs.
	r := runCLI(t, "", env, "build", "start", "greeter", "--output", "json")
	var b api.Build
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &b) != nil || b.ID == "" {
		t.Fatalf("build start: %s", r)
	}
	if b.ResolvedSourceVersion != commit {
		t.Errorf("the build resolved %q, want the pushed commit %s", b.ResolvedSourceVersion, commit)
	}
	r = runCLI(t, "", env, "build", "logs", b.ID, "--follow")
	if r.code != 0 {
		t.Fatalf("build logs --follow: %s\ndev:\n%s", r, dev.Stdout())
	}
	for _, want := range []string{"build phase done (succeeding=1)", "tests: 2, failed: 0", "built 1.0.1 from"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the followed log lacks %q:\n%s", want, r.stdout)
		}
	}

	// The record: status, phases, the exported variable, the artifact and the report.
	r = runCLI(t, "", env, "build", "get", b.ID, "--output", "json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &b) != nil {
		t.Fatalf("build get: %s", r)
	}
	if b.Status != api.BuildSucceeded {
		t.Fatalf("build %s is %s, want SUCCEEDED: %s", b.ID, b.Status, r.stdout)
	}
	if b.ExportedVariables["VERSION"] != "1.0.1" {
		t.Errorf("exported_variables = %v, want VERSION=1.0.1", b.ExportedVariables)
	}
	var phases []string
	for _, p := range b.Phases {
		phases = append(phases, p.Name)
		if p.Name != "COMPLETED" && p.Status != "SUCCEEDED" {
			t.Errorf("phase %s is %q (%s), want SUCCEEDED", p.Name, p.Status, p.Message)
		}
	}
	for _, want := range []string{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
		"POST_BUILD", "UPLOAD_ARTIFACTS", "COMPLETED"} {
		if !slices.Contains(phases, want) {
			t.Errorf("phases %v lack %s", phases, want)
		}
	}
	if len(b.Artifacts) != 1 {
		t.Fatalf("artifacts = %+v, want the primary one", b.Artifacts)
	}

	out := t.TempDir()
	if r := runCLI(t, "", env, "build", "artifacts", b.ID, "--download", out); r.code != 0 {
		t.Fatalf("build artifacts --download: %s", r)
	}
	zips, _ := filepath.Glob(filepath.Join(out, "*.zip"))
	if len(zips) != 1 {
		t.Fatalf("downloaded %v, want one zip", zips)
	}
	zr, err := zip.OpenReader(zips[0])
	if err != nil {
		t.Fatalf("the artifact is not a zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	_ = zr.Close()
	slices.Sort(names)
	if !slices.Equal(names, []string{"VERSION", "greeting.txt"}) {
		t.Errorf("the artifact holds %v, want [VERSION greeting.txt]", names)
	}

	r = runCLI(t, "", env, "build", "reports", b.ID)
	if r.code != 0 {
		t.Fatalf("build reports: %s", r)
	}
	for _, want := range []string{"greeting-tests", "greets the world", "names the version"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("build reports lacks %q:\n%s", want, r.stdout)
		}
	}

	// --watch: exit 0 for a build that succeeds, 1 for one that fails.
	r = runCLI(t, "", env, "build", "start", "greeter", "--watch")
	if r.code != 0 || !strings.Contains(r.stdout, "tests: 2, failed: 0") {
		t.Fatalf("build start --watch: %s", r)
	}
	// A project that keeps no artifacts (the default, NO_ARTIFACTS, as CodeBuild's) runs the same
	// buildspec, keeps none and says why in the log.
	if r := runCLI(t, "", env, "project", "create", "greeter-noart", "--repo", "greeter"); r.code != 0 {
		t.Fatalf("project create greeter-noart: %s", r)
	}
	r = runCLI(t, "", env, "build", "start", "greeter-noart", "--watch")
	if r.code != 0 || !strings.Contains(r.stdout, "Artifacts not kept") {
		t.Fatalf("build start --watch of a NO_ARTIFACTS project: %s", r)
	}
	r = runCLI(t, "", env, "build", "list", "--output", "json")
	var listed []api.Build
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed) == 0 || listed[0].Project != "greeter-noart" {
		t.Fatalf("build list: %s", r)
	}
	if len(listed[0].Artifacts) != 0 {
		t.Errorf("a NO_ARTIFACTS build kept artifacts: %+v", listed[0].Artifacts)
	}

	failing := "version: 0.2\nphases:\n  build:\n    commands:\n      - echo about to fail\n      - exit 3\n"
	spec := filepath.Join(t.TempDir(), "failing.yml")
	if err := os.WriteFile(spec, []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "", env, "project", "create", "failing", "--no-source", "--buildspec-file", spec); r.code != 0 {
		t.Fatalf("project create failing: %s", r)
	}
	start := time.Now()
	r = runCLI(t, "", env, "build", "start", "failing", "--watch")
	if r.code != 1 || !strings.Contains(r.stdout, "about to fail") {
		t.Fatalf("build start --watch of a failing build: want exit 1 and its output: %s", r)
	}
	t.Logf("a failing build watched to its end in %s", time.Since(start).Round(time.Millisecond))
}
