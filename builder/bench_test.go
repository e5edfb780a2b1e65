package builder

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/builder/executor"
)

// BenchmarkBuild measures a whole local build with the process executor:
// workspace, session, the commands and the end. "one" is a build of one
// command (close to start-to-first-command); "hundred" shows the cost of
// each command of a 0.2 session. The reference, "bash-c-true", is one bash
// started and ended by exec: what any build pays for its shell at least.
func BenchmarkBuild(b *testing.B) {
	b.Run("bash-c-true", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := exec.Command("bash", "-c", "true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bc := range []struct {
		name     string
		commands int
	}{{"one", 1}, {"hundred", 100}} {
		b.Run(bc.name, func(b *testing.B) {
			src := "version: 0.2\nphases:\n  build:\n    commands:\n" + strings.Repeat("      - \"true\"\n", bc.commands)
			spec := load(&testing.T{}, src)
			for i := 0; i < b.N; i++ {
				opts := Options{Executor: &executor.Process{Root: b.TempDir()}, BuildID: "local:bench", BaseEnv: HostBaseEnv()}
				res, err := Run(context.Background(), spec, opts)
				if err != nil || res.Status != StatusSucceeded {
					b.Fatal(res, err)
				}
			}
		})
	}
}
