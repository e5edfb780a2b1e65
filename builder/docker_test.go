package builder

import (
	"context"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/builder/executor/docker"
	"github.com/slipwayhq/slipway/buildspec"
	"github.com/slipwayhq/slipway/internal/buildcorpus"
	"github.com/slipwayhq/slipway/internal/dockertest"
)

// TestCorpusDocker runs the corpus through the Docker executor, in a
// busybox image without bash (the default shell is then busybox's ash)
// and in the same image with bash, each file checked against its header
// as with the process executor. Files whose commands need bash say so
// (# needs: bash) and are skipped in the busybox image.
func TestCorpusDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("the corpus in two images takes a minute or more")
	}
	for _, img := range []struct {
		name  string
		image func(testing.TB) string
		bash  bool
	}{{"busybox", dockertest.Image, false}, {"bash", dockertest.BashImage, true}} {
		t.Run(img.name, func(t *testing.T) {
			ref := img.image(t)
			d, err := docker.New(docker.Config{Image: ref, Root: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			runCorpus(t, func(t *testing.T) (executor.Executor, []string) { return d, nil },
				func(name string, want buildcorpus.Expectation) string {
					if want.NeedsBash() && !img.bash {
						return "its commands need bash"
					}
					return ""
				})
		})
	}
}

// TestDockerDefaultShell checks the default shell is chosen in the image:
// bash in the image that has it, busybox's sh in the one that does not.
func TestDockerDefaultShell(t *testing.T) {
	spec := load(t, "version: 0.2\nenv:\n  exported-variables: [SHELL_NAME]\nphases:\n  build:\n    commands:\n      - export SHELL_NAME=\"${BASH_VERSION:+bash}$(readlink /proc/$$/exe)\"\n")
	for _, c := range []struct {
		image func(testing.TB) string
		want  string
	}{{dockertest.Image, "/bin/busybox"}, {dockertest.BashImage, "bash/bin/bash"}} {
		d, err := docker.New(docker.Config{Image: c.image(t), Root: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		log := &syncBuffer{}
		res, err := Run(context.Background(), spec, Options{Executor: d, BuildID: "test:docker-shell", Log: log, Timeout: time.Minute})
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("%v %v; log:\n%s", res, err, log)
		}
		if got := res.ExportedVariables["SHELL_NAME"]; got != c.want {
			t.Errorf("%s: the shell is %q, want %q", d.Name(), got, c.want)
		}
	}
}

// dockerContainers lists the containers, running or not, of buildID.
func dockerContainers(t *testing.T, buildID string) string {
	t.Helper()
	out, err := osexec.Command("docker", "ps", "-aq", "--filter", "label="+docker.LabelBuild+"="+buildID).CombinedOutput()
	if err != nil {
		t.Fatalf("docker ps: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestDockerStoppedBuild stops a build (its context cancelled) while a
// command and a background child of it run: the build is STOPPED and its
// container is gone. A build that runs to its end (run-as a user of the
// image, the artifact collected from the bind mount) leaves none either.
func TestDockerStoppedBuild(t *testing.T) {
	d, err := docker.New(docker.Config{Image: dockertest.Image(t), Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })

	spec := load(t, "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300 &\n      - echo running; sleep 300\n")
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for !strings.Contains(log.String(), "\nrunning\n") {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	res, err := Run(ctx, spec, Options{Executor: d, BuildID: "test:docker-stopped", Log: log, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusStopped {
		t.Fatalf("status %s, want STOPPED; log:\n%s", res.Status, log)
	}
	if ids := dockerContainers(t, "test:docker-stopped"); ids != "" {
		t.Fatalf("containers left after a stopped build: %s", ids)
	}

	spec = load(t, `version: 0.2
run-as: builder
phases:
  build:
    commands:
      - id -un > who.txt
      - mkdir dist && cp who.txt dist/
artifacts:
  files:
    - dist/*
`)
	out := filepath.Join(t.TempDir(), "out")
	res, err = Run(context.Background(), spec, Options{Executor: d, BuildID: "test:docker-done", ArtifactsDir: out, Log: log, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s; log:\n%s", res.Status, log)
	}
	if data, err := os.ReadFile(filepath.Join(out, "dist", "who.txt")); err != nil || string(data) != "builder\n" {
		t.Fatalf("artifact dist/who.txt: %q, %v", data, err)
	}
	if ids := dockerContainers(t, "test:docker-done"); ids != "" {
		t.Fatalf("containers left after a build: %s", ids)
	}
}

// firstLine records when a line first reaches the log.
type firstLine struct {
	want string
	mu   sync.Mutex
	buf  []byte
	at   time.Time
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at.IsZero() {
		f.buf = append(f.buf, p...)
		if strings.Contains(string(f.buf), "\n"+f.want+"\n") {
			f.at = time.Now()
		}
	}
	return len(p), nil
}

// BenchmarkDockerFirstCommand measures, with the Docker executor and a
// local image, the time from Run to the first command's output ("first-ms",
// the start-to-first-command), and the whole build of that one
// command with the container removed (ns/op); next to it, `docker run --rm
// IMAGE true` of the same image through the docker CLI, the reference.
func BenchmarkDockerFirstCommand(b *testing.B) {
	image := dockertest.Image(b)
	spec := load(&testing.T{}, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo first-command\n")
	for _, network := range []string{"", "none"} {
		name := "build"
		if network != "" {
			name += "-network-" + network
		}
		b.Run(name, func(b *testing.B) {
			benchmarkDockerBuild(b, spec, docker.Config{Image: image, Root: b.TempDir(), Network: network})
		})
	}
	b.Run("docker-run-true", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if out, err := osexec.Command("docker", "run", "--rm", image, "true").CombinedOutput(); err != nil {
				b.Fatalf("docker run: %v: %s", err, out)
			}
		}
	})
}

func benchmarkDockerBuild(b *testing.B, spec *buildspec.Spec, cfg docker.Config) {
	d, err := docker.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	{
		var first time.Duration
		for i := 0; i < b.N; i++ {
			log := &firstLine{want: "first-command"}
			start := time.Now()
			res, err := Run(context.Background(), spec, Options{Executor: d, BuildID: "bench:docker", Log: log})
			if err != nil || res.Status != StatusSucceeded || log.at.IsZero() {
				b.Fatal(res, err)
			}
			first += log.at.Sub(start)
		}
		b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "first-ms")
	}
}
