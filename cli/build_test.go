package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/testutil"
)

func buildDir(t *testing.T, spec string) string {
	t.Helper()
	dir := t.TempDir()
	writeBuildFile(t, dir, "buildspec.yml", spec)
	return dir
}

func TestBuildLocal(t *testing.T) {
	ctx := context.Background()
	dir := buildDir(t, `version: 0.2
env:
  variables: {STAGE: spec}
  parameter-store: {TOKEN: /ci/token}
  exported-variables: [STAGE, VERSION]
phases:
  build:
    commands:
      - mkdir -p dist/js && echo app > dist/js/app.js && echo "$TOKEN" > dist/token.txt
      - export VERSION=1.2.3
      - echo "stage=$STAGE token=$TOKEN"
artifacts:
  base-directory: dist
  files: ["**/*"]
  exclude-paths: [token.txt]
`)
	out := filepath.Join(t.TempDir(), "out")
	r := runWith(t, ctx, nil, "build", "local", dir, "--artifacts", out, "--env", "STAGE=cli", "--env", "TOKEN=tok-secret-1", "--output", "json")
	var rep buildLocalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("json %q: %v (stderr %s)", r.stdout, err, r.stderr)
	}
	if r.code != ExitOK || rep.Status != "SUCCEEDED" || len(rep.Phases) != 5 || rep.Phases[2].Name != "BUILD" || rep.Phases[2].Status != "SUCCEEDED" {
		t.Fatalf("code %d report %+v stderr %s", r.code, rep, r.stderr)
	}
	if strings.Join(rep.Artifacts, " ") != "js/app.js" || rep.ExportedVariables["STAGE"] != "cli" || rep.ExportedVariables["VERSION"] != "1.2.3" {
		t.Fatalf("report %+v", rep)
	}
	if b, err := os.ReadFile(filepath.Join(out, "js", "app.js")); err != nil || string(b) != "app\n" {
		t.Fatalf("artifact file: %q %v", b, err)
	}
	if !strings.Contains(r.stderr, "stage=cli token=***") || strings.Contains(r.stderr+r.stdout, "tok-secret-1") {
		t.Fatalf("log (stderr with --output json):\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist")); !os.IsNotExist(err) {
		t.Fatal("the build wrote into DIR instead of its workspace")
	}

	// The same again into a non-empty directory is refused before it runs.
	if r = runWith(t, ctx, nil, "build", "local", dir, "--artifacts", out, "--env", "TOKEN=x"); r.code != ExitUsage || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("non-empty --artifacts: %+v", r)
	}
}

func TestBuildLocalFailsAndRefuses(t *testing.T) {
	ctx := context.Background()
	failing := buildDir(t, "version: 0.2\nphases:\n  build:\n    commands: [\"false\"]\n  post_build:\n    commands: [echo post=$CODEBUILD_BUILD_SUCCEEDING]\n")
	r := runWith(t, ctx, nil, "build", "local", failing)
	if r.code != ExitFailure || !strings.Contains(r.stdout, "post=0") || !strings.Contains(r.stdout, "Build FAILED") || !strings.Contains(r.stderr, "the build ended FAILED") {
		t.Fatalf("failing build: %+v", r)
	}

	marker := filepath.Join(t.TempDir(), "ran")
	invalid := buildDir(t, "version: 0.2\nphases:\n  biuld:\n    commands: [touch "+marker+"]\n")
	r = runWith(t, ctx, nil, "build", "local", invalid, "--output", "json")
	var rep buildLocalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("json %q: %v", r.stdout, err)
	}
	if r.code != ExitFailure || rep.Status != "FAILED" || len(rep.Diagnostics) != 1 || !strings.Contains(r.stderr, `buildspec.yml:3:3: unknown phase "biuld"`) {
		t.Fatalf("invalid: %+v", r)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("a command of an invalid buildspec ran")
	}

	other := filepath.Join(t.TempDir(), "ci.yml")
	writeBuildFile(t, filepath.Dir(other), "ci.yml", "version: 0.2\nphases:\n  build:\n    commands: [echo from-ci-yml]\n")
	if r = runWith(t, ctx, nil, "build", "local", failing, "--buildspec", other); r.code != ExitOK || !strings.Contains(r.stdout, "from-ci-yml") {
		t.Fatalf("--buildspec: %+v", r)
	}

	usage := [][]string{
		{"build", "local", filepath.Join(failing, "buildspec.yml")},
		{"build", "local", failing, "--env", "NO_EQUALS"},
		{"build", "local", failing, "--env", "BAD-NAME=1"},
		{"build", "local", "a", "b"},
	}
	for _, args := range usage {
		if r = runWith(t, ctx, nil, args...); r.code != ExitUsage {
			t.Errorf("%v: %+v", args, r)
		}
	}
	slow := buildDir(t, "version: 0.2\nphases:\n  build:\n    commands: [sleep 300]\n")
	r = runWith(t, ctx, nil, "build", "local", slow, "--timeout", "300ms", "--output", "json")
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != ExitFailure || rep.Status != "TIMED_OUT" {
		t.Fatalf("--timeout: %+v (%v)", r, err)
	}
	if r = runWith(t, ctx, nil, "build", "local", slow, "--timeout", "-1s"); r.code != ExitUsage {
		t.Fatalf("negative --timeout: %+v", r)
	}
	if r = runWith(t, ctx, nil, "build", "local", failing, "--memory", "1g"); r.code != ExitUsage || !strings.Contains(r.stderr, "--image") {
		t.Fatalf("--memory without --image: %+v", r)
	}
	if r = runWith(t, ctx, nil, "build", "local", failing, "--image", "alpine", "--memory", "lots"); r.code != ExitUsage || !strings.Contains(r.stderr, "--memory") {
		t.Fatalf("--memory lots: %+v", r)
	}
	if r = runWith(t, ctx, nil, "build", "local", t.TempDir()); r.code != ExitFailure || !strings.Contains(r.stderr, "buildspec.yml") {
		t.Fatalf("no buildspec: %+v", r)
	}
}

// TestBuildLocalInterrupted is Ctrl-C: the command's context ends while a
// command waits for a child that would outlive it; the command exits 130
// and the child is gone.
func TestBuildLocalInterrupted(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	dir := buildDir(t, "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300 & echo $! > "+pidFile+"; wait\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() { done <- runWith(t, ctx, nil, "build", "local", dir) }()
	var pid int
	testutil.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("build local did not end after Ctrl-C")
	}
	if r.code != ExitInterrupted || !strings.Contains(r.stdout, "Build stopped") {
		t.Fatalf("interrupted: %+v", r)
	}
	testutil.Eventually(t, 10*time.Second, func() error {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if errors.Is(err, os.ErrNotExist) {
			return nil // reaped
		}
		if err != nil {
			return err
		}
		if s := string(stat); strings.Contains(s[strings.LastIndexByte(s, ')'):], ") Z") {
			return nil
		}
		return fmt.Errorf("the build's child %d still runs", pid)
	})
}

// TestBuildLocalReportSummary checks the summary `build local` prints per
// report group: its status and counts, and its failed cases with the first
// line of their message.
func TestBuildLocalReportSummary(t *testing.T) {
	dir := buildDir(t, `version: 0.2
phases:
  build:
    commands:
      - mkdir -p r && printf '%s' '<testsuite><testcase classname="app.Cart" name="adds"/><testcase classname="app.Cart" name="removes"><failure message="want 0 items">trace</failure></testcase></testsuite>' > r/unit.xml
reports:
  unit:
    files: [r/*.xml]
  later:
    files: [r/*.xml]
    file-format: TESTNGXML
`)
	r := runWith(t, context.Background(), nil, "build", "local", dir)
	for _, want := range []string{
		"Report unit: FAILED 2 test cases (1 SUCCEEDED, 1 FAILED), 0s\n  FAILED app.Cart removes: want 0 items\n",
		"Report later: INCOMPLETE 0 test cases, 0s: TESTNGXML test reports are not supported yet",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != ExitOK {
		t.Errorf("exit %d: a failed report does not fail the build\n%s", r.code, r.stderr)
	}
}

// TestBuildLocalCache checks that a second `build local` of a directory
// finds what the first cached, in --cache-dir, and that --no-cache uses
// none.
func TestBuildLocalCache(t *testing.T) {
	dir := buildDir(t, `version: 0.2
phases:
  install:
    commands:
      - cat .deps/v.txt 2>/dev/null || echo cold
  build:
    commands:
      - mkdir -p .deps && echo warm-from-first > .deps/v.txt
cache:
  paths: [.deps/**/*]
`)
	cache := filepath.Join(t.TempDir(), "cache")
	ctx := context.Background()
	first := runWith(t, ctx, nil, "build", "local", dir, "--cache-dir", cache)
	second := runWith(t, ctx, nil, "build", "local", dir, "--cache-dir", cache)
	none := runWith(t, ctx, nil, "build", "local", dir, "--no-cache")
	if first.code != ExitOK || !strings.Contains(first.stdout, "cold") || !strings.Contains(first.stdout, "Cache saved") {
		t.Fatalf("first: exit %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	if second.code != ExitOK || !strings.Contains(second.stdout, "warm-from-first") {
		t.Fatalf("second: exit %d\n%s%s", second.code, second.stdout, second.stderr)
	}
	if none.code != ExitOK || !strings.Contains(none.stdout, "cold") || !strings.Contains(none.stdout, "no cache directory") {
		t.Fatalf("--no-cache: exit %d\n%s%s", none.code, none.stdout, none.stderr)
	}
	if r := runWith(t, ctx, nil, "build", "local", dir, "--no-cache", "--cache-dir", cache); r.code != ExitUsage {
		t.Fatalf("--no-cache with --cache-dir: exit %d", r.code)
	}
}
