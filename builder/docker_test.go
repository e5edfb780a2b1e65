package builder

import (
	"testing"

	"github.com/slipwayhq/slipway/builder/executor"
	"github.com/slipwayhq/slipway/builder/executor/docker"
	"github.com/slipwayhq/slipway/internal/buildcorpus"
	"github.com/slipwayhq/slipway/internal/dockertest"
)

// TestCorpusDocker runs the corpus through the Docker executor, in a
// busybox image without bash (the default shell is then busybox's ash)
// and in the same image with bash, each file checked against its header
// as with the process executor. Files whose commands need bash say so
// (# needs: bash) and are skipped in the busybox image.
func TestCorpusDocker(t *testing.T) {
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
