package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// testPrinter prints like the slipway CLI's printer: indented JSON, or aligned table columns.
type testPrinter struct {
	w    io.Writer
	json bool
}

func (p *testPrinter) JSONFormat() bool { return p.json }

func (p *testPrinter) JSON(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (p *testPrinter) Table(headers []string, rows [][]string) error {
	tw := tabwriter.NewWriter(p.w, 0, 0, 3, ' ', 0)
	for _, r := range append([][]string{headers}, rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func (p *testPrinter) Linef(format string, a ...any) error {
	if p.json {
		return nil
	}
	_, err := fmt.Fprintf(p.w, format+"\n", a...)
	return err
}

// usageError marks a wrong command line, as the CLI's usage errors do.
type usageError struct{ error }

// testCLI is a CLI whose printer writes to out in json or table format.
func testCLI(out io.Writer, json bool) CLI {
	return CLI{
		Printer: func() (Printer, error) { return &testPrinter{w: out, json: json}, nil },
		Usagef:  func(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} },
		Noun: func(use, short, example string) *cobra.Command {
			return &cobra.Command{Use: use, Short: short, Example: example}
		},
		NoArgs: cobra.NoArgs,
	}
}

type result struct {
	stdout, stderr string
	err            error
}

// execute runs `bench ARGS...` built by NewCommand, printing json or a table.
func execute(ctx context.Context, json bool, args ...string) result {
	var out, errb bytes.Buffer
	cmd := NewCommand(testCLI(&out, json))
	cmd.SetArgs(args[1:]) // args[0] names the bench command itself
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(ctx)
	return result{stdout: out.String(), stderr: errb.String(), err: err}
}

// TestRolloutFlagErrorsAreUsageErrors: every refused flag value goes through CLI.Usagef, so the
// CLI reports it as a wrong command line, before anything starts.
func TestRolloutFlagErrorsAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"bench", "rollout", "--hosts", "0"},
		{"bench", "rollout", "--hosts", "100001"},
		{"bench", "rollout", "--configs", ""},
		{"bench", "rollout", "--servers", "0"},
		{"bench", "rollout", "--servers", "10"},
		{"bench", "rollout", "--log-level", "loud"},
		{"bench", "rollout", "--transport", "quic"},
	} {
		res := execute(context.Background(), false, args...)
		var ue usageError
		if !errors.As(res.err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, res.err)
		}
		if res.stdout != "" || strings.Contains(res.stderr, "bench:") {
			t.Errorf("%v: something ran: stdout %q, stderr %q", args, res.stdout, res.stderr)
		}
	}
}
