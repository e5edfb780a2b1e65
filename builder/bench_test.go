package builder

import (
	"context"
	"io"
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

// BenchmarkBuildOutput measures the builder's own cost per line of output: a build printing
// 100,000 lines of about 75 bytes, its log discarded. The reference runs the same command with
// its output written to /dev/null by the shell.
func BenchmarkBuildOutput(b *testing.B) {
	const cmd = `seq 1 100000 | sed 's/^/a log line of a build printing as fast as it can, number /'`
	b.Run("shell-reference", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := exec.Command("sh", "-c", cmd+" > /dev/null").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("builder", func(b *testing.B) {
		spec := load(&testing.T{}, "version: 0.2\nphases:\n  build:\n    commands:\n      - "+cmd+"\n")
		for i := 0; i < b.N; i++ {
			opts := Options{Executor: &executor.Process{Root: b.TempDir()}, BuildID: "local:bench", BaseEnv: HostBaseEnv(), Log: io.Discard}
			res, err := Run(context.Background(), spec, opts)
			if err != nil || res.Status != StatusSucceeded {
				b.Fatal(res, err)
			}
		}
	})
}
