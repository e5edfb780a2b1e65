// Package bench is `slipway bench`: commands that measure Slipway on this machine by starting
// real clusters in-process (loopback, random ports, a temporary data folder) and driving them
// with simulated agents (internal/simagent) through the public API (pkg/api). It links the
// server, so the CLI adds its commands only from the one file that may (cli/server_cmds.go).
//
// Nothing here asserts timings: the commands print figures, in the format --output chose
// (docs/BENCHMARKS.md quotes the table; scripts read the json).
package bench

import "github.com/spf13/cobra"

// CLI is what the bench commands borrow from the slipway command line they are added to, so that
// they parse, print and fail as its other commands do. Progress lines go to the command's stderr
// (cobra's ErrOrStderr).
type CLI struct {
	// Printer returns the printer of the --output format in force; an invalid format is a usage
	// error.
	Printer func() (Printer, error)
	// Usagef returns an error that the CLI reports as a wrong command line (exit code 2).
	Usagef func(format string, a ...any) error
	// Noun returns a command that only groups verbs: run alone it shows its help, and an unknown
	// verb under it is a usage error.
	Noun func(use, short, example string) *cobra.Command
	// NoArgs rejects any positional argument as a usage error.
	NoArgs cobra.PositionalArgs
}

// Printer prints a command's result in the --output format in force.
type Printer interface {
	// JSONFormat reports whether the format is json (else it is table).
	JSONFormat() bool
	// JSON prints v as indented JSON.
	JSON(v any) error
	// Table prints rows under headers, aligned.
	Table(headers []string, rows [][]string) error
	// Linef prints a line of text in table format, and nothing in json format.
	Linef(format string, a ...any) error
}

// NewCommand returns `slipway bench` and its verbs, wired to cli.
func NewCommand(cli CLI) *cobra.Command {
	cmd := cli.Noun("bench", "Measure Slipway on this machine (in-process clusters and simulated agents)",
		"  slipway bench rollout --hosts 100,1000")
	cmd.AddCommand(newRolloutCommand(cli), newWorkerCommand())
	return cmd
}

// newWorkerCommand is the hidden `slipway bench agent-worker`: a process of simulated agents
// that `slipway bench rollout --agent-procs` starts and drives over its stdin and stdout.
func newWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:     workerCommand,
		Short:   "Run simulated agents for slipway bench rollout (started by it)",
		Example: `  slipway bench rollout --hosts 10000 --agent-procs 4   # starts four of these, driven over their stdin and stdout`,
		Hidden:  true,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
}
