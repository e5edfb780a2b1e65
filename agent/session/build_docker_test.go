package session

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/dockertest"
	"github.com/slipwayhq/slipway/internal/testutil"
)

// TestBuildInDocker: a build with an image runs in a container of it (the Docker executor) on an
// agent whose engine answered, and its artifact is collected from the container's workspace;
// on an agent without Docker the same build fails CLIENT_ERROR before any command.
func TestBuildInDocker(t *testing.T) {
	dockertest.Require(t)
	image := dockertest.Image(t)
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"image=$CODEBUILD_BUILD_IMAGE src=$CODEBUILD_SRC_DIR\"\n      - cat in.txt > out.txt\nartifacts:\n  files: [out.txt]\n"
	srv := newBuildServer(t, gitTar(t, map[string]string{"buildspec.yml": spec, "in.txt": "from the source\n"}), nil)

	b, out := newTestBuilds(t, t.TempDir(), srv)
	b.cfg.Docker = true
	id := "web:66666666-2222-4333-8444-555555555555"
	run := testRun(id, srv)
	run.Image = image
	startRun(t, b, run)
	waitEnded(t, b, id)
	r := readBox(t, out, id)
	if end := r.end(t); end.Result != "SUCCEEDED" {
		t.Fatalf("end %+v\n%s", end, r.text())
	}
	if !strings.Contains(r.text(), "BUILD| image="+image+" src=/codebuild/output/src1/src") {
		t.Fatalf("log:\n%s", r.text())
	}
	srv.mu.Lock()
	got := zipFiles(t, srv.artifacts["primary"])
	srv.mu.Unlock()
	if got["out.txt"] != "from the source\n" {
		t.Fatalf("artifact %v", got)
	}

	b2, out2 := newTestBuilds(t, t.TempDir(), srv)
	id2 := "web:77777777-2222-4333-8444-555555555555"
	run2 := testRun(id2, srv)
	run2.Image = image
	startRun(t, b2, run2)
	waitEnded(t, b2, id2)
	r2 := readBox(t, out2, id2)
	if ph := r2.phases(); !slices.Equal(ph, []string{"DOWNLOAD_SOURCE started", "DOWNLOAD_SOURCE failed CLIENT_ERROR", "BuildEnd failed FAILED"}) ||
		!strings.Contains(r2.events[1].Message, "no Docker engine") {
		t.Fatalf("events %v %+v", ph, r2.events)
	}
}

// TestRecoverRemovesABuildsContainer: a Docker build left running by a killed agent has its
// container removed by the next start's Recover.
func TestRecoverRemovesABuildsContainer(t *testing.T) {
	dockertest.Require(t)
	image := dockertest.Image(t)
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n"
	srv := newBuildServer(t, gitTar(t, map[string]string{"buildspec.yml": spec}), nil)
	first := t.TempDir()
	b, out := newTestBuilds(t, first, srv)
	b.cfg.Docker = true
	id := "web:cdcdcdcd-2222-4333-8444-555555555555"
	run := testRun(id, srv)
	run.Image = image
	startRun(t, b, run)
	defer b.Stop("test over")
	containers := func() string {
		got, err := exec.Command("docker", "ps", "-aq", "--filter", "label=slipway.build="+id).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(got))
	}
	testutil.Eventually(t, 60*time.Second, func() error {
		if !strings.Contains(readBox(t, out, id).text(), "Running command sleep 300") || containers() == "" {
			return fmt.Errorf("the build's container is not running its command yet")
		}
		return nil
	})
	second := t.TempDir()
	if err := exec.Command("cp", "-a", first+"/.", second).Run(); err != nil {
		t.Fatal(err)
	}
	b2, _ := newTestBuilds(t, second, srv)
	b2.cfg.Docker = true
	if got := b2.Recover(); !slices.Equal(got, []string{id}) {
		t.Fatalf("recovered %v", got)
	}
	if c := containers(); c != "" {
		t.Fatalf("the build's container %s is still there", c)
	}
}

// TestBuildContainersFollowTheAgentsConfiguration: an agent configured with build_network none
// and build_memory 64MiB runs its builds' containers with no network but loopback and that
// memory limit (read from inside the container: the interfaces in /proc/net/dev and the cgroup's
// limit, v2 or v1).
func TestBuildContainersFollowTheAgentsConfiguration(t *testing.T) {
	dockertest.Require(t)
	image := dockertest.Image(t)
	spec := "version: 0.2\nphases:\n  build:\n    commands:\n" +
		"      - echo \"ifaces=$(tail -n +3 /proc/net/dev | cut -d ':' -f1 | tr -d ' ' | tr '\\n' ,)\"\n" +
		"      - echo \"memory=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)\"\n"
	srv := newBuildServer(t, gitTar(t, map[string]string{"buildspec.yml": spec}), nil)
	b, out := newTestBuilds(t, t.TempDir(), srv)
	b.cfg.Docker = true
	b.cfg.Containers = Containers{Network: "none", Memory: 64 << 20}
	b.cfg.Executor = b.cfg.Containers.Executor
	id := "web:88888888-2222-4333-8444-555555555555"
	run := testRun(id, srv)
	run.Image = image
	startRun(t, b, run)
	waitEnded(t, b, id)
	r := readBox(t, out, id)
	if end := r.end(t); end.Result != "SUCCEEDED" {
		t.Fatalf("end %+v\n%s", end, r.text())
	}
	for _, want := range []string{"ifaces=lo,", fmt.Sprintf("memory=%d", 64<<20)} {
		if !strings.Contains(r.text(), want) {
			t.Errorf("the container's log lacks %q:\n%s", want, r.text())
		}
	}
}
