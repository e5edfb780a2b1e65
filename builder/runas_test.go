package builder

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/builder/executor"
)

// needRoot skips a test that switches users: the process executor does so
// only as root on Linux (CI runs as root).
func needRoot(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("run-as with the process executor needs root on Linux")
	}
}

// testUser creates a user without a home directory for the test, and
// removes it at the end.
func testUser(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("slipway-ra%d", os.Getpid()%100000)
	if out, err := osexec.Command("useradd", "-M", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Skipf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := osexec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	return name
}

// reachableTempDir is a temporary directory other users can search (a
// test's own are 0700), for workspaces of run-as users.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunAsProcess runs a build as a user the test created (top-level
// run-as) with phases as root (per-phase run-as): each phase's commands run
// as its user, with that user's HOME, USER, LOGNAME and groups; exported
// variables and the directory carry across the switches; the source and
// the files every phase wrote belong to the run-as user when its phase runs
// (root's files of INSTALL are writable by it in PRE_BUILD).
func TestRunAsProcess(t *testing.T) {
	needRoot(t)
	name := testUser(t)
	groups, err := osexec.Command("id", "-G", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	spec := load(t, `version: 0.2
run-as: `+name+`
env:
  exported-variables: [CARRIED]
phases:
  install:
    run-as: root
    commands:
      - echo "install-as=$(id -un)"
      - mkdir -p sub && echo root-wrote > sub/root.txt && chmod 644 sub/root.txt
      - export CARRIED=from-install
      - cd sub
  pre_build:
    commands:
      - echo "pre-build-as=$(id -un) home=$HOME user=$USER logname=$LOGNAME carried=$CARRIED dir=$(basename "$PWD")"
      - echo "groups=$(id -G)"
      - echo user-appended >> root.txt
      - echo user-wrote > mine.txt
      - echo user-changed >> ../src.txt
  post_build:
    run-as: root
    commands:
      - echo "post-build-as=$(id -un) home=$HOME"
      - echo owners=$(stat -c %U root.txt mine.txt ../src.txt ..)
      - cat root.txt
artifacts:
  files: ['**/*']
`)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "src.txt"), []byte("source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	out := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), spec, Options{
		Executor: &executor.Process{Root: reachableTempDir(t)}, SourceDir: src, BuildID: "local:runas",
		BaseEnv: HostBaseEnv(), Log: log, ArtifactsDir: out, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s; log:\n%s", res.Status, log)
	}
	output := commandOutput(log.String())
	for _, want := range []string{
		"install-as=root\n",
		fmt.Sprintf("pre-build-as=%s home=/home/%s user=%s logname=%s carried=from-install dir=sub\n", name, name, name, name),
		"groups=" + strings.TrimSpace(string(groups)) + "\n",
		"post-build-as=root home=" + os.Getenv("HOME") + "\n",
		fmt.Sprintf("owners=%s %s %s %s\n", name, name, name, name),
		"root-wrote\nuser-appended\n",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if res.ExportedVariables["CARRIED"] != "from-install" {
		t.Errorf("exported %v", res.ExportedVariables)
	}
	if data, err := os.ReadFile(filepath.Join(out, "src.txt")); err != nil || string(data) != "source\nuser-changed\n" {
		t.Errorf("artifact src.txt: %q %v", data, err)
	}
	if data, err := os.ReadFile(filepath.Join(src, "src.txt")); err != nil || string(data) != "source\n" {
		t.Errorf("the caller's source changed: %q %v", data, err)
	}
	if t.Failed() {
		t.Logf("log:\n%s", log)
	}
}

// TestRunAsUnreachableWorkspace: a run-as user that cannot reach the
// workspace root is refused before any command, saying which directory.
func TestRunAsUnreachableWorkspace(t *testing.T) {
	needRoot(t)
	root := t.TempDir() // 0700, root's
	if err := os.Chmod(root, 0o700); err != nil {
		t.Fatal(err)
	}
	spec := load(t, "version: 0.2\nrun-as: nobody\nphases:\n  build:\n    commands: [touch ran]\n")
	_, err := Run(context.Background(), spec, Options{Executor: &executor.Process{Root: root}, BuildID: "local:runas", BaseEnv: HostBaseEnv(), Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "not searchable by nobody") {
		t.Fatalf("err = %v", err)
	}
}
