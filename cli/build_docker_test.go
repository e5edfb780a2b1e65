package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/dockertest"
)

// TestBuildLocalDocker runs `build local --image` with a busybox image
// built on this host: the commands run in the container (its /etc/passwd,
// its sh, CODEBUILD_SRC_DIR at the mount, CODEBUILD_BUILD_IMAGE the
// image), the artifact comes out to --artifacts, and an image that is not
// here fails before any phase with how to make one.
func TestBuildLocalDocker(t *testing.T) {
	image := dockertest.Image(t)
	ctx := context.Background()
	dir := buildDir(t, `version: 0.2
env:
  exported-variables: [WHERE, IMAGE, USERS]
phases:
  build:
    commands:
      - export WHERE="$CODEBUILD_SRC_DIR" IMAGE="$CODEBUILD_BUILD_IMAGE"
      - export USERS="$(cut -d':' -f1 /etc/passwd | tr '\n' ' ')"
      - mkdir -p dist && echo built > dist/app.txt
artifacts:
  files: ['dist/**/*']
`)
	out := filepath.Join(t.TempDir(), "out")
	r := runWith(t, ctx, nil, "build", "local", dir, "--image", image, "--memory", "256m", "--pids-limit", "100", "--network", "none", "--artifacts", out, "--output", "json")
	var rep buildLocalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != ExitOK || rep.Status != "SUCCEEDED" {
		t.Fatalf("build local --image: %+v (%v)", r, err)
	}
	want := map[string]string{"WHERE": "/codebuild/output/src1/src", "IMAGE": image, "USERS": "root builder nobody "}
	if !reflect.DeepEqual(rep.ExportedVariables, want) {
		t.Errorf("exported = %v, want %v", rep.ExportedVariables, want)
	}
	if data, err := os.ReadFile(filepath.Join(out, "dist", "app.txt")); err != nil || string(data) != "built\n" {
		t.Errorf("artifact: %q, %v", data, err)
	}

	r = runWith(t, ctx, nil, "build", "local", dir, "--image", "slipway-test-build:not-there")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "docker import") || strings.Contains(r.stdout+r.stderr, "Entering phase") {
		t.Fatalf("missing image: %+v", r)
	}
}
